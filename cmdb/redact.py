"""Redaction: secrets never reach the store, its history, an export or a log.

Two rules, applied by the ingest pipeline to an item's validated attribute values
before anything is reconciled or stored (so history, exports and answers never hold
what was redacted):

- **Declared**: an attribute the catalog marks ``sensitive: true`` (a cloud instance's
  ``user_data``, a device's SNMP community) is dropped: never stored at all.
- **By pattern**: in every text value (free text, command lines, strings inside lists
  and JSON values) secret-looking values are replaced by ``[REDACTED]``, keeping what
  says what it was: ``password=``/``token=``/``secret=``/``api_key=`` assignments and
  their command-line flag forms (``--password x``), credentials in connection strings
  (``postgres://app:[REDACTED]@db``), PEM private keys, AWS secret access keys; and in
  JSON objects the value of any key whose name says it is a secret (``db_password``),
  AWS-style ``{"Key": ..., "Value": ...}`` tags included.

Identifiers are not redacted: they name the thing, and a secret is not an identifier.
The same text rule cleans error messages that quote a value (``cmdb.errors.InvalidItem``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schema import CIClass

REDACTED = "[REDACTED]"

# Words that say a value is a secret: db_password, client_secret, X-Auth-Token, aws_secret_access_key.
_SECRET_WORD = (r"(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
                r"credentials?|auth[_-]?key)")
_SECRET_KEY = re.compile(_SECRET_WORD, re.IGNORECASE)  # searched in JSON object keys
# Every repetition below is bounded: a pattern must stay linear on hostile text (a megabyte
# of "tokentoken...", of letters without a space), not backtrack quadratically.
_NAME_REST = r"[\w.-]{0,64}"
_VALUE = r"(\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^\s,;&\"']{1,4096})"
_TRIGGER = re.compile(rf"{_SECRET_WORD}|://|PRIVATE KEY|mysql", re.IGNORECASE)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys (RSA, EC, OPENSSH, ENCRYPTED ...), to their end or the end of the text
    (re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|\Z)",
                re.DOTALL), "[REDACTED PRIVATE KEY]"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,30}://[^\s:/@]{0,256}:)[^\s@/]{1,256}(@)"), rf"\1{REDACTED}\2"),
    # --password=x, --db-password x, -password x
    (re.compile(rf"(?<![\w-])(--?[\w.-]{{0,64}}?{_SECRET_WORD}{_NAME_REST})(=|\s+)(?!-){_VALUE}", re.IGNORECASE),
     rf"\1\2{REDACTED}"),
    # password=x, token: x, "secret": "x", SECRET_KEY='x'
    (re.compile(rf"({_SECRET_WORD}{_NAME_REST}[\"']?\s{{0,8}}[=:]\s{{0,8}}){_VALUE}", re.IGNORECASE),
     rf"\1{REDACTED}"),
    # mysql -pSECRET (the client's password flag, glued to its value)
    (re.compile(r"(\bmysql(?:dump|admin)?\b[^\n]{0,500}?\s-p)(?!\s)(\S{1,4096})"), rf"\1{REDACTED}"),
)
# An AWS secret access key: 40 base64 characters, mixed case and digits (a hex digest is not one).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
                         r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def redact_text(text: str) -> str:
    """``text`` with every secret-looking value replaced (see the module docstring)."""
    if len(text) < 8:
        return text  # nothing above fits in fewer characters
    if _TRIGGER.search(text):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    if len(text) >= 40:
        text = _AWS_SECRET.sub(REDACTED, text)
    return text


def redact_value(value: Any) -> Any:
    """A stored value with its text redacted; lists and JSON objects walked (without recursion limits)."""
    if type(value) is str:
        return redact_text(value)
    if not isinstance(value, list | tuple | Mapping):
        return value
    return _redact_nested(value)


def _redact_nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        secret_pair = _is_secret_pair(value)
        for key, item in value.items():
            if (isinstance(key, str) and _SECRET_KEY.search(key) and item is not None
                    and not isinstance(item, Mapping | list)) or (secret_pair and str(key).lower() == "value"):
                out[key] = REDACTED
            else:
                out[key] = redact_value(item)
        return out
    return [redact_value(item) for item in value]


def _is_secret_pair(value: Mapping[str, Any]) -> bool:
    """An AWS-style tag, ``{"Key": "db_password", "Value": "..."}``."""
    for key, item in value.items():
        if isinstance(key, str) and key.lower() == "key" and isinstance(item, str) and _SECRET_KEY.search(item):
            return True
    return False


def redact_attributes(cls: CIClass, values: dict[str, Any]) -> dict[str, Any]:
    """An item's validated attributes as they may be stored: declared-sensitive ones dropped,
    secret-looking text redacted. Returns ``values`` itself when nothing changes (the common case)."""
    out: dict[str, Any] | None = None
    definitions = cls.attributes
    for name, value in values.items():
        definition = definitions.get(name)
        if definition is not None and definition.sensitive:
            if out is None:
                out = dict(values)
            del out[name]
            continue
        clean = redact_value(value)
        if clean is not value and clean != value:
            if out is None:
                out = dict(values)
            out[name] = clean
    return values if out is None else out


def redact_relation_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """A relationship's attributes with secret-looking text redacted (relationship types declare no attributes)."""
    if not values:
        return values
    clean = {name: redact_value(value) for name, value in values.items()}
    return values if clean == values else clean
