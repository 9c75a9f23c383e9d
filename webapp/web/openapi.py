"""The OpenAPI 3.1 document of /api for an app's reminder kinds: the request
bodies are the very schemas the API checks (webapp.web.schemas and the
plan's); the tests check that it names exactly the routes the app serves."""
import functools

from webapp.reminders.kinds import Registry
from webapp.reminders.plan import plan_schema
from webapp.web.schemas import LOG, PUSH_SUBSCRIPTION, SUBSCRIBE, snooze_schema

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _error(description):
    return {"description": description, "content": _json(ERROR)}


def _ok(description, schema):
    return {"description": description, "content": _json(schema)}


BEARER = [{"bearer": []}]
COMMON = {"400": _error("Invalid input"), "401": _error("Missing or wrong token"),
          "415": _error("Not JSON"), "413": _error("Body too large")}



def _schemas(kinds: Registry) -> dict:
    plan = plan_schema(kinds)
    return {
        "Error": {
            "type": "object", "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "PushSubscription": PUSH_SUBSCRIPTION,
        "Plan": plan,
        "Next": {
            "type": "object", "required": [k.name for k in kinds.scheduled],
            "properties": {k.name: {"type": ["string", "null"], "format": "date-time", "description": k.label}
                           for k in kinds.scheduled},
        },
        "PlanWithNext": {**plan, "required": [*plan["required"], "next"],
                         "properties": {**plan["properties"], "next": {"$ref": "#/components/schemas/Next"}}},
    }


PLAN_WITH_NEXT = {"$ref": "#/components/schemas/PlanWithNext"}


def _paths(kinds: Registry) -> dict:
    return {
        "/api/push/public-key": {"get": {
            "summary": "The VAPID public key to subscribe with",
            "responses": {"200": _ok("The key", {
                "type": "object", "required": ["publicKey"],
                "properties": {"publicKey": {"type": "string", "description": "base64url, 65-byte P-256 point"}}})},
        }},
        "/api/subscriptions": {"post": {
            "summary": "Store a push subscription; answers a bearer token",
            "requestBody": {"required": True, "content": _json(SUBSCRIBE)},
            "responses": {
                "201": _ok("New subscription", {"type": "object", "required": ["id", "token"],
                                                "properties": {"id": {"type": "string"}, "token": {"type": "string"}}}),
                "200": _ok("Known endpoint with the same keys: a new token (the old one stops working)",
                           {"type": "object", "required": ["id", "token"],
                            "properties": {"id": {"type": "string"}, "token": {"type": "string"}}}),
                "409": _error("subscription_exists: the endpoint is known with other keys (only the browser "
                              "that holds a subscription has its keys); nothing changed, no token"),
                **{k: v for k, v in COMMON.items() if k != "401"},
            },
        }},
        "/api/subscriptions/current": {"delete": {
            "summary": "Stop all reminders and forget this subscription", "security": BEARER,
            "responses": {"204": {"description": "Deleted"}, "401": COMMON["401"]},
        }},
        "/api/reminders": {
            "get": {"summary": "The plan and the next reminder times", "security": BEARER,
                    "responses": {"200": _ok("The plan", PLAN_WITH_NEXT), "401": COMMON["401"]}},
            "put": {"summary": "Replace the whole plan", "security": BEARER,
                    "requestBody": {"required": True, "content": _json({"$ref": "#/components/schemas/Plan"})},
                    "responses": {"200": _ok("The stored plan", PLAN_WITH_NEXT), **COMMON}},
        },
        "/api/reminders/test": {"post": {
            "summary": "Send a test push now", "security": BEARER,
            "responses": {"202": _ok("Queued", {"type": "object"}), "401": COMMON["401"]},
        }},
        "/api/reminders/snooze": {"post": {
            "summary": "Move the next reminder of a kind later", "security": BEARER,
            "requestBody": {"required": True, "content": _json(snooze_schema(kinds))},
            "responses": {"200": _ok("The plan", PLAN_WITH_NEXT), **COMMON},
        }},
        "/api/log": {"post": {
            "summary": "Log a glass of water", "security": BEARER,
            "requestBody": {"required": True, "content": _json(LOG)},
            "responses": {"201": _ok("Logged", {"type": "object", "required": ["logged", "today", "next"],
                                               "properties": {"logged": {"const": "water"},
                                                              "today": {"type": "integer"},
                                                              "next": {"$ref": "#/components/schemas/Next"}}}),
                          **COMMON},
        }},
        "/api/openapi.json": {"get": {
            "summary": "This document", "responses": {"200": _ok("OpenAPI 3.1", {"type": "object"})},
        }},
    }


@functools.lru_cache(maxsize=16)
def document(kinds: Registry) -> dict:
    """The document for an app's kinds (made once; callers must not change it)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Unknot API", "version": "1", "description": "Push reminders for leg-cramp prevention."},
        "paths": _paths(kinds),
        "components": {
            "schemas": _schemas(kinds),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
