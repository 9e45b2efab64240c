"""A quick check that loads the common, valid event exactly as its marshmallow schema would.

marshmallow's `Schema.load` costs about a tenth of an ingest request's CPU, most of it the
generic machinery around a handful of `isinstance` checks. For a schema made only of plain
fields (String, Integer, Boolean) and no hooks, `FastLoader` does those checks itself and
returns the same dict, in the same order; on anything it is not sure of (a value of another
type, a validator that refuses, a missing required field, an unknown key) it returns None
and the caller asks marshmallow, so every error still comes from the schema, word for word.
tests/test_schema_fastpath.py holds the two to the same answers.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.utils import missing

# The JSON types a plain field takes as is (marshmallow returns them unchanged). Exact types:
# a bool is an int to Python but "Not a valid integer." to marshmallow.
_TAKES: dict[type[fields.Field], tuple[type, ...]] = {
    fields.String: (str,),
    fields.Integer: (int,),
    fields.Boolean: (bool,),
}


class _Plain:
    """One field: the types it takes as is, its validators, what it gives when left out."""

    __slots__ = ("name", "takes", "validators", "allow_none", "required", "default")

    def __init__(self, name: str, field: fields.Field) -> None:
        self.name = name
        self.takes = _TAKES[type(field)]
        self.validators: list[Callable[[Any], Any]] = list(field.validators)
        self.allow_none = field.allow_none
        self.required = field.required
        self.default = field.load_default


class FastLoader:
    """`load(raw)`: the schema's result for `raw`, or None to mean "ask the schema"."""

    def __init__(self, plain: list[_Plain]) -> None:
        self._fields = plain
        self._names = frozenset(field.name for field in plain)

    @classmethod
    def for_schema(cls, schema: Schema) -> FastLoader | None:
        """A loader equivalent to `schema.load`, or None when the schema is not plain enough."""
        if schema.many or schema.partial or schema.unknown != RAISE or any(schema._hooks.values()):
            return None  # `_hooks`: marshmallow's registry of pre/post_load and validates_schema
        plain = []
        for name, field in schema.load_fields.items():
            if (type(field) not in _TAKES or field.data_key is not None or field.attribute is not None
                    or field.pre_load or field.post_load or callable(field.load_default)):
                return None
            if isinstance(field, fields.Boolean) and field.truthy and not (
                    True in field.truthy and False in field.falsy):
                return None  # custom truth values: JSON true/false may not be taken as is
            plain.append(_Plain(name, field))
        return cls(plain)

    def load(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        if not self._names.issuperset(raw):
            return None  # an unknown field: the schema names it
        data: dict[str, Any] = {}
        for field in self._fields:
            value = raw.get(field.name, missing)
            if value is missing:
                if field.required:
                    return None
                if field.default is not missing:
                    data[field.name] = field.default
                continue
            if value is None:
                if not field.allow_none:
                    return None
            elif type(value) not in field.takes:
                return None
            else:
                try:
                    for validator in field.validators:
                        if validator(value) is False:  # a plain function may refuse so
                            return None
                except ValidationError:
                    return None
            data[field.name] = value
        return data
