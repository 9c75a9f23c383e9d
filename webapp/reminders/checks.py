"""JSON Schema checks that refuse data with a sentence for a person: the
schemas are the ones the OpenAPI document shows (pure: no Flask).

A schema node may say how its faults read with ``errorMessage`` (the
ajv-errors convention): a sentence for any fault of that node, or one per
keyword ({"maximum": "..."}); "{field}" in it stands for the field's
dotted path. Without one, a missing or unknown field, and a value of the
wrong JSON type, get the general sentences below.
"""
from __future__ import annotations

import jsonschema_rs

HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "errorMessage": "Times are written as HH:MM, from 00:00 to 23:59."}


class Invalid(ValueError):
    """Data was refused; ``field`` is the dotted path of the culprit (the
    document's own name for the whole of it), ``message`` a sentence for a person."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Checker:
    """A schema compiled once; ``check`` raises Invalid for the first fault:
    the shallowest one (a missing section before a wrong value inside it),
    an unknown field first among equals (a typo explains a missing field)."""

    def __init__(self, schema: dict, name: str):
        self.schema = schema
        self.name = name  # "plan": how a sentence names the whole document
        self._validator = jsonschema_rs.Draft202012Validator(schema)
        # JSON Schema counts 120.0 as an integer; a person meant a whole number.
        self._integers = list(_integer_paths(schema, ()))

    def check(self, data) -> None:
        if not self._validator.is_valid(data):
            errors = list(self._validator.iter_errors(data))
            first = min(errors, key=lambda e: (len(e.instance_path), e.kind.name != "additionalProperties"))
            raise self._explain(first.kind, list(first.instance_path), list(first.schema_path)[:-1])
        for path, node in self._integers:
            value = _at(data, path)
            if isinstance(value, float):
                raise self._invalid("type", "integer", list(path), node)

    def _explain(self, kind, instance_path, schema_path) -> Invalid:
        node = self.schema
        for step in schema_path:
            node = node[step]
        if kind.name == "required":
            instance_path.append(kind.property)
        elif kind.name == "additionalProperties":
            instance_path.append(sorted(kind.unexpected)[0])
        expected = kind.types[0] if kind.name == "type" else None
        return self._invalid(kind.name, expected, instance_path, node)

    def _invalid(self, keyword, expected, instance_path, node) -> Invalid:
        field = ".".join(p for p in instance_path if isinstance(p, str)) or self.name
        custom = node.get("errorMessage")
        if isinstance(custom, dict):
            custom = custom.get(keyword)
        if custom:
            return Invalid(field, custom.replace("{field}", field))
        return Invalid(field, self._general(keyword, expected, field))

    def _general(self, keyword, expected, field) -> str:
        what = f"The {self.name}" if field == self.name else f"The setting “{field}”"
        if keyword == "required":
            return f"{what} is missing."
        if keyword == "additionalProperties":
            return f"Unknown setting “{field}”."
        return {"object": f"{what} must be a JSON object.",
                "boolean": f"{what} must be true or false.",
                "integer": f"{what} must be a whole number."}.get(expected, f"{what} is not valid.")


def _integer_paths(node, path):
    """(path, node) of every integer reached through "properties"."""
    if node.get("type") == "integer":
        yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _integer_paths(child, (*path, name))


def _at(data, path):
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data
