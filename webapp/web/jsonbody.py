"""JSON request bodies with a nesting limit.

Python's parser recurses once per level, so ``[`` a thousand times deep ends
in a RecursionError (a 500 and a traceback). No body of this API nests more
than a few levels: deeper ones are refused before parsing, as invalid JSON.
"""
import json

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


def nesting(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (strings skipped)."""
    level = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            level += 1
            deepest = max(deepest, level)
        elif c in "]}":
            level -= 1
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but ``loads`` raises ValueError past MAX_DEPTH levels,
    so ``request.get_json`` treats a too-deep body like any other bad JSON."""

    def loads(self, s, **kwargs):
        text = s.decode(json.detect_encoding(s)) if isinstance(s, (bytes, bytearray)) else s
        if nesting(text) > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        return super().loads(text, **kwargs)
