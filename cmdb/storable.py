"""Whether a value can be stored by every store: checked at validation, so one bad item is rejected alone.

What the stores' encoders refuse, found before anything is written: a value that
passed the type checks but fails in the store fails the whole batch it is in (the
encoder runs when the batch is applied). So each item's values are checked here:

- integers within 64 bits signed (SQLite's INTEGER, Neo4j's and FalkorDB's integers,
  orjson's range);
- JSON nested at most ``MAX_DEPTH`` levels (orjson refuses past 255; the API's JSON
  encoder and the Cypher stores' JSON strings with it);
- text that is valid Unicode: a lone surrogate (``"\\ud800"``, which JSON allows as an
  escape) cannot be encoded as UTF-8 by any of them;
- mapping keys that are strings (what JSON objects have).

It runs on the values as given, before they are coerced to their declared types: the
coercion of a JSON attribute (``json.dumps``) would itself recurse past the
interpreter's limit on a value nested deep enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cmdb.errors import InvalidItem

MAX_DEPTH = 64  # nesting of lists and objects inside one attribute value
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what every store keeps in an integer


def check_storable(values: Mapping[str, Any], prefix: str) -> None:
    """Raise InvalidItem naming ``prefix.attribute`` for a value no store can encode."""
    for name, value in values.items():
        kind = type(value)
        if kind is str:
            if not value.isascii():
                _check_text(value, f"{prefix}.{name}")
        elif kind is bool or kind is float or value is None:
            continue
        elif kind is int:
            if not INT_MIN <= value <= INT_MAX:
                raise InvalidItem(f"{prefix}.{name}", "integer beyond 64 bits")
        else:
            _check_nested(value, f"{prefix}.{name}")


def _check_text(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidItem(field, f"text is not valid Unicode (a lone surrogate at character {exc.start})") from None


def _check_nested(value: Any, field: str) -> None:
    """Walk a list/object value without recursion (it may be deeper than the interpreter allows)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, str):
            if not current.isascii():
                _check_text(current, field)
        elif isinstance(current, bool) or current is None or isinstance(current, float):
            continue
        elif isinstance(current, int):
            if not INT_MIN <= current <= INT_MAX:
                raise InvalidItem(field, "integer beyond 64 bits")
        elif isinstance(current, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise InvalidItem(field, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(current, Mapping):
                for key, item in current.items():
                    if not isinstance(key, str):
                        raise InvalidItem(field, f"object key {key!r} is not a string")
                    if not key.isascii():
                        _check_text(key, field)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in current)
        # anything else (a datetime a scanner passed for a string attribute) is the type checks' to judge
