"""The request bodies of /api as JSON Schemas: the API checks each body with
its schema and the OpenAPI document shows the same one (the plan's schema
is webapp.reminders.plan's). Sentences: see webapp.reminders.checks."""
from __future__ import annotations

import functools

from webapp.reminders.checks import Checker
from webapp.reminders.kinds import Registry
from webapp.reminders.plan import ZONE_MESSAGE

SUBSCRIPTION_MESSAGE = "Send subscription as PushSubscription.toJSON()."
KEYS_MESSAGE = "subscription.keys must hold p256dh and auth strings."
TAP_MESSAGE = "at must be the time of the tap: ISO-8601 with a time zone, within the last 7 days."
LOG_MESSAGE = 'Send {"kind": "water"}, with "at" for a delayed tap.'
SNOOZE_MINUTES = (5, 240)

# A notification action sent late: when it was tapped (the same tap twice counts once).
TAP_AT = {"type": "string", "format": "date-time", "description": "time of the tap, for an action sent late",
          "errorMessage": TAP_MESSAGE}

PUSH_SUBSCRIPTION = {
    "type": "object", "required": ["endpoint", "keys"], "errorMessage": SUBSCRIPTION_MESSAGE,
    "properties": {
        # The same words as webapp.push.endpoints, which judges the rest of an endpoint.
        "endpoint": {"type": "string", "format": "uri", "maxLength": 2048,
                     "errorMessage": "The endpoint must be a URL of at most 2048 characters."},
        "expirationTime": {"type": ["number", "null"]},
        "keys": {
            "type": "object", "required": ["p256dh", "auth"], "errorMessage": KEYS_MESSAGE,
            "properties": {"p256dh": {"type": "string", "maxLength": 200, "errorMessage": KEYS_MESSAGE},
                           "auth": {"type": "string", "maxLength": 200, "errorMessage": KEYS_MESSAGE}},
        },
    },
}

SUBSCRIBE = {
    "type": "object", "required": ["subscription", "timezone"], "additionalProperties": False,
    "errorMessage": {"additionalProperties": "Unknown field “{field}”."},
    "properties": {"subscription": PUSH_SUBSCRIPTION,
                   "timezone": {"type": "string", "description": "IANA time zone", "errorMessage": ZONE_MESSAGE}},
}

LOG = {
    "type": "object", "required": ["kind"], "additionalProperties": False, "errorMessage": LOG_MESSAGE,
    "properties": {"kind": {"const": "water", "errorMessage": LOG_MESSAGE}, "at": TAP_AT},
}


def snooze_schema(kinds: Registry) -> dict:
    names = [k.name for k in kinds.scheduled]
    choice = " or ".join(f"'{n}'" for n in names)
    lo, hi = SNOOZE_MINUTES
    return {
        "type": "object", "required": ["kind", "minutes"], "additionalProperties": False,
        "errorMessage": {"required": "Send kind and minutes, and for a delayed tap, at.",
                         "additionalProperties": "Send only kind, minutes and, for a delayed tap, at."},
        "properties": {
            "kind": {"enum": names, "errorMessage": f"kind must be {choice}."},
            "minutes": {"type": "integer", "minimum": lo, "maximum": hi,
                        "errorMessage": f"minutes must be a whole number from {lo} to {hi}."},
            "at": TAP_AT,
        },
    }


@functools.lru_cache(maxsize=16)
def checkers(kinds: Registry) -> dict[str, Checker]:
    """A Checker for each request body, by operation: "subscribe", "snooze", "log"."""
    return {"subscribe": Checker(SUBSCRIBE, "body"),
            "snooze": Checker(snooze_schema(kinds), "body"),
            "log": Checker(LOG, "body")}
