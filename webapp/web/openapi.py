"""The OpenAPI 3.1 document of /api, kept beside nothing else: the tests
check that it names exactly the routes the app serves."""

ERROR = {"$ref": "#/components/schemas/Error"}
HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
# A notification action sent late: when it was tapped (the same tap twice counts once).
TAP_AT = {"type": "string", "format": "date-time", "description": "time of the tap, for an action sent late"}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _error(description):
    return {"description": description, "content": _json(ERROR)}


def _ok(description, schema):
    return {"description": description, "content": _json(schema)}


BEARER = [{"bearer": []}]
COMMON = {"400": _error("Invalid input"), "401": _error("Missing or wrong token"),
          "415": _error("Not JSON"), "413": _error("Body too large")}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
    "PushSubscription": {
        "type": "object", "required": ["endpoint", "keys"],
        "properties": {
            "endpoint": {"type": "string", "format": "uri", "maxLength": 2048},
            "expirationTime": {"type": ["number", "null"]},
            "keys": {
                "type": "object", "required": ["p256dh", "auth"],
                "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
            },
        },
    },
    "Plan": {
        "type": "object", "additionalProperties": False,
        "required": ["timezone", "hydration", "stretch", "quiet"],
        "properties": {
            "timezone": {"type": "string", "description": "IANA time zone"},
            "hydration": {
                "type": "object", "additionalProperties": False,
                "required": ["enabled", "every_minutes", "from", "until", "goal_glasses"],
                "properties": {
                    "enabled": {"type": "boolean"},
                    "every_minutes": {"type": "integer", "minimum": 15, "maximum": 720},
                    "from": HHMM, "until": HHMM,
                    "goal_glasses": {"type": "integer", "minimum": 0, "maximum": 30},
                    "fluid_limited": {"type": "boolean", "default": False,
                                      "description": "The person's doctor limits their fluids: "
                                                     "no water reminder is ever sent and there is no goal."},
                },
            },
            "stretch": {
                "type": "object", "additionalProperties": False, "required": ["enabled", "at"],
                "properties": {"enabled": {"type": "boolean"},
                               "at": {"type": "array", "items": HHMM, "maxItems": 8, "uniqueItems": True}},
            },
            "quiet": {
                "type": "object", "additionalProperties": False, "required": ["from", "until"],
                "properties": {"from": HHMM, "until": HHMM},
            },
        },
    },
    "Next": {
        "type": "object", "required": ["hydration", "stretch"],
        "properties": {k: {"type": ["string", "null"], "format": "date-time"} for k in ("hydration", "stretch")},
    },
}
SCHEMAS["PlanWithNext"] = {
    **SCHEMAS["Plan"],
    "required": [*SCHEMAS["Plan"]["required"], "next"],
    "properties": {**SCHEMAS["Plan"]["properties"], "next": {"$ref": "#/components/schemas/Next"}},
}

PLAN_WITH_NEXT = {"$ref": "#/components/schemas/PlanWithNext"}

PATHS = {
    "/api/push/public-key": {"get": {
        "summary": "The VAPID public key to subscribe with",
        "responses": {"200": _ok("The key", {
            "type": "object", "required": ["publicKey"],
            "properties": {"publicKey": {"type": "string", "description": "base64url, 65-byte P-256 point"}}})},
    }},
    "/api/subscriptions": {"post": {
        "summary": "Store a push subscription; answers a bearer token",
        "requestBody": {"required": True, "content": _json({
            "type": "object", "required": ["subscription", "timezone"], "additionalProperties": False,
            "properties": {"subscription": {"$ref": "#/components/schemas/PushSubscription"},
                           "timezone": {"type": "string"}}})},
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
        "requestBody": {"required": True, "content": _json({
            "type": "object", "required": ["kind", "minutes"], "additionalProperties": False,
            "properties": {"kind": {"enum": ["hydration", "stretch"]},
                           "minutes": {"type": "integer", "minimum": 5, "maximum": 240},
                           "at": TAP_AT}})},
        "responses": {"200": _ok("The plan", PLAN_WITH_NEXT), **COMMON},
    }},
    "/api/log": {"post": {
        "summary": "Log a glass of water", "security": BEARER,
        "requestBody": {"required": True, "content": _json({
            "type": "object", "required": ["kind"], "additionalProperties": False,
            "properties": {"kind": {"const": "water"}, "at": TAP_AT}})},
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


def document():
    return {
        "openapi": "3.1.0",
        "info": {"title": "Unknot API", "version": "1", "description": "Push reminders for leg-cramp prevention."},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
