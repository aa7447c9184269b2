"""Attribute normalisation, as the catalog declares it per attribute.

Applied to an observation's values before identification, and what is stored:
``Web-1.Example.com.`` and ``web-1.example.com`` are one FQDN, ``00-1A-2B-3C-4D-5E``
and ``001a.2b3c.4d5e`` one MAC, ``sshd`` and ``openssh`` one product. The value as
observed is returned beside, for history, where it differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from schema import CIClass, Normaliser, Schema

_Step = Callable[[str], str | None]
_NON_HEX = re.compile(r"[^0-9a-f]")
# Serials firmware reports when nobody set one: they name no thing, so they identify nothing.
_PLACEHOLDER_SERIALS = frozenset({
    "NONE", "N/A", "NA", "UNKNOWN", "NOTAVAILABLE", "NOTSPECIFIED", "NOTAPPLICABLE", "TOBEFILLEDBYO.E.M.",
    "DEFAULTSTRING", "SYSTEMSERIALNUMBER", "CHASSISSERIALNUMBER", "0123456789", "123456789", "SERIAL",
    "INVALID", "EMPTY", "NULL",
})


def trim(value: str) -> str | None:
    """Surrounding whitespace dropped, inner runs of whitespace one space."""
    out = " ".join(value.split()) if "  " in value or "\t" in value or "\n" in value else value.strip()
    return out or None


def lower(value: str) -> str | None:
    return value.lower() or None


def upper(value: str) -> str | None:
    return value.upper() or None


def trailing_dot(value: str) -> str | None:
    return value.rstrip(".") or None


def mac(value: str) -> str | None:
    """Any common MAC form -> ``aa:bb:cc:dd:ee:ff``; anything else trimmed and lower case."""
    text = value.strip().lower()
    digits = _NON_HEX.sub("", text)
    if len(digits) == 12 and len(text) in (12, 14, 17):
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return text or None


def serial(value: str) -> str | None:
    """Upper case without whitespace; placeholders (``To Be Filled By O.E.M.``, all zeros) dropped."""
    text = "".join(value.split()).upper()
    if not text or text in _PLACEHOLDER_SERIALS or not text.strip("0-.:"):
        return None
    return text


_STEPS: dict[Normaliser, _Step] = {
    Normaliser.TRIM: trim, Normaliser.LOWER: lower, Normaliser.UPPER: upper,
    Normaliser.TRAILING_DOT: trailing_dot, Normaliser.MAC: mac, Normaliser.SERIAL: serial,
}


def _vocabulary_step(terms: Mapping[str, str]) -> _Step:
    def canonical(value: str) -> str | None:
        return terms.get(value.strip().casefold(), value)
    return canonical


def _chain(steps: list[_Step]) -> _Step:
    if len(steps) == 1:
        return steps[0]

    def run(value: str) -> str | None:
        out: str | None = value
        for step in steps:
            if out is None:
                return None
            out = step(out)
        return out
    return run


# id(class) -> (schema, class, [(attribute, step)]): compiled once per class (the ingest's hot path).
_COMPILED: dict[int, tuple[Schema, CIClass, tuple[tuple[str, _Step], ...]]] = {}


def compiled(schema: Schema, cls: CIClass) -> tuple[tuple[str, _Step], ...]:
    """(attribute, normalising function) for each attribute of ``cls`` that declares steps."""
    entry = _COMPILED.get(id(cls))
    if entry is None or entry[1] is not cls or entry[0] is not schema:
        steps: list[tuple[str, _Step]] = []
        for name, definition in cls.attributes.items():
            if not definition.normalise:
                continue
            chain = [_vocabulary_step(schema.vocabularies.get(vocabulary or "", {}))
                     if normaliser is Normaliser.VOCABULARY else _STEPS[normaliser]
                     for normaliser, vocabulary in definition.normalise]
            steps.append((name, _chain(chain)))
        entry = _COMPILED[id(cls)] = (schema, cls, tuple(steps))
    return entry[2]


def normalise(schema: Schema, cls: CIClass, values: dict[str, Any]) -> dict[str, Any] | None:
    """Normalise ``values`` (validated attributes of ``cls``) in place.

    A value normalised to nothing (a placeholder serial) is removed. Returns the values
    as observed where they differ ({attribute: observed}), or None when none did.
    """
    observed: dict[str, Any] | None = None
    for name, step in compiled(schema, cls):
        value = values.get(name)
        if type(value) is not str:
            continue
        clean = step(value)
        if clean == value:
            continue
        if observed is None:
            observed = {}
        observed[name] = value
        if clean is None:
            del values[name]
        else:
            values[name] = clean
    return observed
