"""A graphql-core execution context that completes plain leaf fields without the per-field machinery.

An impact report of 237 CIs is ~3,000 field values; graphql-core spends ~15 µs on
each (a Path, a GraphQLResolveInfo, the resolver call through strawberry, the
completion chain) where reading an attribute and coercing it costs ~1 µs. Most of
those values are *plain* fields: no resolver, no arguments, no permission or field
extension (strawberry's "basic" fields, which ignore the info object), of a scalar
or enum type. For those this context reads the value with strawberry's own basic
resolver and coerces it with the type's own ``coerce_output_value``, exactly what
graphql-core would do, and keeps the field order of the selection.

Anything else, and any plain field whose value is not a clean non-null leaf (None
for a non-null type, an exception, an awaitable, a value the type refuses), goes
through graphql-core's own ``execute_field``, so errors, nulls and their paths are
exactly graphql-core's. Field middleware (an extension with a ``resolve`` hook)
turns the shortcut off for the whole request.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

DEFINITION_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class _Leaf(NamedTuple):
    read: Any  # (source) -> attribute value: what strawberry's basic resolver returns
    coerce: Any  # the leaf type's coerce_output_value
    non_null: bool
    enum_cls: Any  # a strawberry enum's Python class, or None
    names: dict[Any, str]  # its members, coerced once (strawberry's enum coercion scans every member)


# Per field definition of a schema: its _Leaf, or None when the field must take the
# ordinary path. Keyed by id(); the GraphQLField is kept in the value so the id stays its own.
_leaves: dict[int, tuple[GraphQLField, _Leaf | None]] = {}
_PLAIN = frozenset({str, int, float, bool})  # never awaitable, never an exception


def _leaf(field_def: GraphQLField | None) -> _Leaf | None:
    if field_def is None:
        return None
    entry = _leaves.get(id(field_def))
    if entry is not None and entry[0] is field_def:
        return entry[1]
    leaf: _Leaf | None = None
    resolve = field_def.resolve
    if resolve is not None and getattr(resolve, "_is_default", False) and not field_def.args:
        of_type: Any = field_def.type
        non_null = isinstance(of_type, GraphQLNonNull)
        if non_null:
            of_type = of_type.of_type
        if isinstance(of_type, GraphQLScalarType | GraphQLEnumType):
            field = field_def.extensions.get(DEFINITION_BACKREF)
            read: Callable[[Any], Any]
            if isinstance(field, StrawberryField) and field.default_resolver is getattr and field.python_name:
                read = attrgetter(field.python_name)
            else:
                read = partial(_call_resolver, resolve)
            enum_cls = getattr(of_type, "wrapped_cls", None)
            names: dict[Any, str] = {}
            if isinstance(of_type, GraphQLEnumType) and isinstance(enum_cls, type) and issubclass(enum_cls, Enum):
                for member in enum_cls:
                    try:
                        names[member] = of_type.coerce_output_value(member)
                    except Exception:  # left to graphql-core at run time
                        continue
            leaf = _Leaf(read, of_type.coerce_output_value, non_null, enum_cls if names else None, names)
    _leaves[id(field_def)] = (field_def, leaf)
    return leaf


def _call_resolver(resolve: Any, source: Any) -> Any:
    return resolve(source, None)


# One selection compiled for a parent type: (response name, field details, plain leaf or None).
_Plan = list[tuple[str, Any, "_Leaf | None"]]


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the plain-leaf shortcut in ``execute_fields``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core caches the grouped field set of a sub-selection per field and type,
        # so every item of a list brings the same object: compile it once per request.
        self._compiled: dict[int, tuple[Any, _Plan]] = {}

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan:
        key = id(grouped_field_set)
        entry = self._compiled.get(key)
        if entry is not None and entry[0] is grouped_field_set:
            return entry[1]
        fields = parent_type.fields
        plan: _Plan = [(name, details, _leaf(fields.get(details[0].node.name.value)))
                       for name, details in grouped_field_set.items()]
        self._compiled[key] = (grouped_field_set, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        pending: list[str] = []  # response names whose value is awaitable
        is_awaitable = self.is_awaitable
        try:
            for response_name, field_details_list, leaf in self._compile(parent_type, grouped_field_set):
                if leaf is not None:
                    value = leaf.read(source_value)
                    if leaf.enum_cls is not None and type(value) is leaf.enum_cls:
                        name = leaf.names.get(value)
                        if name is not None:
                            results[response_name] = name
                            continue
                    if value is None:
                        if not leaf.non_null:
                            results[response_name] = None
                            continue
                    elif type(value) in _PLAIN or not (isinstance(value, Exception) or is_awaitable(value)):
                        try:
                            coerced = leaf.coerce(value)
                        except Exception:
                            coerced = None  # let graphql-core raise and locate the error
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                result = self.execute_field(parent_type, source_value, field_details_list,
                                            Path(path, response_name, parent_type.name), position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending.append(response_name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results
        return self._gather(results, pending)

    @staticmethod
    async def _gather(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        # As graphql-core does: sibling fields run concurrently (their DataLoader loads batch together).
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
        else:
            awaited = await gather_with_cancel(*(results[name] for name in pending))
            results.update(zip(pending, awaited, strict=True))
        return results
