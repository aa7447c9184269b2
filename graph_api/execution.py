"""A graphql-core execution context that completes plain leaf fields without the per-field machinery.

An impact report of 237 CIs is ~3,000 field values; graphql-core spends ~15 µs on
each (a Path, a GraphQLResolveInfo, the resolver call through strawberry, the
completion chain) where reading an attribute and coercing it costs ~1 µs. Most of
those values are *plain* fields: no resolver, no arguments, no permission or field
extension (strawberry's "basic" fields, which ignore the info object), of a scalar
or enum type. For those this context reads the value with strawberry's own basic
resolver and coerces it with the type's own ``coerce_output_value``, exactly what
graphql-core would do, and keeps the field order of the selection.

Whole *plain subtrees* go the same way: a plain field (no resolver, no arguments)
of an object or list type whose selection holds only plain fields, recursively
(no fragments, no directives, ``__typename`` allowed; object types without
``is_type_of``), e.g. ``impacted { uid grade depth }``, is compiled once per field
node of the (cached) document into nested functions that build the answer's dicts
and lists directly.

Anything else, and any plain field or subtree whose value is not clean (None for a
non-null type anywhere inside, an exception, an awaitable, a value a type refuses,
an iterable that is not a list or tuple), goes through graphql-core's own
``execute_field`` for that whole field, so errors, nulls and their paths are
exactly graphql-core's. Field middleware (an extension with a ``resolve`` hook)
turns the shortcut off for the whole request.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from enum import Enum
from functools import partial
from inspect import isawaitable
from operator import attrgetter
from types import GeneratorType
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLString,
    SelectionSetNode,
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
    # Its members, and their values where those coerce to the same name, coerced once
    # (strawberry's enum coercion scans every member; resolvers may hand back the value,
    # e.g. a CI class string or a domain enum of the same values).
    names: dict[Any, str]
    # The same for enum members by identity, filled as they are met (a member lives as long
    # as its class, so its id stays its own): hashing a member calls Enum.__hash__ in Python.
    members: dict[int, tuple[Any, str]]


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
    if _plain(field_def):
        of_type: Any = field_def.type
        non_null = isinstance(of_type, GraphQLNonNull)
        if non_null:
            of_type = of_type.of_type
        if isinstance(of_type, GraphQLScalarType | GraphQLEnumType):
            read = _reader(field_def)
            enum_cls = getattr(of_type, "wrapped_cls", None)
            names: dict[Any, str] = {}
            if isinstance(of_type, GraphQLEnumType) and isinstance(enum_cls, type) and issubclass(enum_cls, Enum):
                for member in enum_cls:
                    try:
                        names[member] = of_type.coerce_output_value(member)
                        if of_type.coerce_output_value(member.value) == names[member]:
                            names[member.value] = names[member]
                    except Exception:  # left to graphql-core at run time
                        continue
            leaf = _Leaf(read, of_type.coerce_output_value, non_null, enum_cls if names else None, names, {})
    _leaves[id(field_def)] = (field_def, leaf)
    return leaf


def _call_resolver(resolve: Any, source: Any) -> Any:
    return resolve(source, None)


def _reader(field_def: GraphQLField) -> Callable[[Any], Any]:
    """What strawberry's basic resolver of ``field_def`` returns for a source."""
    field = field_def.extensions.get(DEFINITION_BACKREF)
    if isinstance(field, StrawberryField) and field.default_resolver is getattr and field.python_name:
        return attrgetter(field.python_name)
    return partial(_call_resolver, field_def.resolve)


def _plain(field_def: GraphQLField | None) -> bool:
    if field_def is None or field_def.resolve is None:
        return False
    return bool(getattr(field_def.resolve, "_is_default", False)) and not field_def.args


# -- plain subtrees --------------------------------------------------------------------
class _Irregular(Exception):
    """A value the compiled subtree does not complete: graphql-core completes the whole field."""


_Complete = Callable[[Any], Any]
_Subtree = tuple[Callable[[Any], Any], _Complete]  # (read the field, complete its value)
# Per field node of a cached document and parent type: its compiled subtree, or None.
# The node and type are kept in the value so their ids stay their own; bounded by clearing.
_subtrees: dict[tuple[int, int], tuple[FieldNode, GraphQLObjectType, _Subtree | None]] = {}
_SUBTREES_MAX = 4096


def _irregular(value: Any) -> bool:
    return isinstance(value, Exception) or isawaitable(value)


def _enum_name(leaf: _Leaf, value: Any) -> str | None:
    """An enum leaf's answer from the names coerced once, for a member or a (hashable) member value.

    The callers look ``leaf.members`` up first; a member found by hash is kept there.
    """
    if type(value) is leaf.enum_cls or type(value) is str or isinstance(value, Enum):
        name = leaf.names.get(value)
        if name is not None and isinstance(value, Enum):
            leaf.members[id(value)] = (value, name)
        return name
    return None


def _leaf_completer(leaf_type: GraphQLScalarType | GraphQLEnumType, non_null: bool, leaf: _Leaf | None) -> _Complete:
    coerce = leaf_type.coerce_output_value
    enum_leaf = leaf if leaf is not None and leaf.enum_cls is not None else None
    members = enum_leaf.members if enum_leaf is not None else {}
    plain = _PLAIN

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Irregular
            return None
        if enum_leaf is not None:
            member = members.get(id(value))
            if member is not None and member[0] is value:
                return member[1]
            name = _enum_name(enum_leaf, value)
            if name is not None:
                return name
        if type(value) not in plain and _irregular(value):
            raise _Irregular
        out = coerce(value)
        if out is None or out is Undefined:
            raise _Irregular
        return out

    if leaf_type is not GraphQLInt:
        return complete

    def complete_int(value: Any) -> Any:
        # Int answers a 32-bit int unchanged (what graphql-core's serialize_int checks, in a call)
        if type(value) is int and -2147483648 <= value <= 2147483647:
            return value
        return complete(value)

    return complete_int


def _list_completer(item: _Complete, non_null: bool) -> _Complete:
    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Irregular
            return None
        if type(value) is not list and type(value) is not tuple:
            raise _Irregular  # other iterables, async iterables, awaitables: graphql-core's path
        return [item(v) for v in value]

    return complete


class _None:
    """A type no value has: a field of a type other than String, ID or Boolean always calls ``done``."""


def _object_completer(object_type: GraphQLObjectType, fields: list[tuple[str, Any, _Complete, type]],
                      non_null: bool) -> _Complete:
    definition = object_type.extensions.get(DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    plan = tuple(fields)
    # Types whose instances are known not to be awaitables or exceptions: the type's own,
    # and those of the objects resolvers hand back in its place (e.g. the impact engine's
    # ImpactedCI): inspect.isawaitable costs ~1 µs a value, an ABC check.
    clean: set[type] = {origin} if isinstance(origin, type) else set()

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Irregular
            return None
        kind = type(value)
        if kind not in clean:
            if _irregular(value):
                raise _Irregular
            if len(clean) < 16 and not issubclass(kind, GeneratorType):  # decided by the type alone
                clean.add(kind)
        out = {}
        for name, read, done, own in plan:
            v = read(value)
            # graphql-core's String, ID and Boolean serialise a str (a bool) as itself.
            out[name] = v if type(v) is own else done(v)
        return out

    return complete


def _own_type(of_type: Any) -> type:
    """The Python type a leaf type answers unchanged (``_None`` when there is none to rely on)."""
    if isinstance(of_type, GraphQLNonNull):
        of_type = of_type.of_type
    if of_type is GraphQLString or of_type is GraphQLID:
        return str
    if of_type is GraphQLBoolean:
        return bool
    return _None


def _typename(name: str) -> Callable[[Any], str]:
    return lambda _source: name


def _same(value: Any) -> Any:
    return value


def _compile_type(of_type: GraphQLOutputType, selection_set: SelectionSetNode | None) -> _Complete | None:
    non_null = isinstance(of_type, GraphQLNonNull)
    inner: Any = of_type.of_type if isinstance(of_type, GraphQLNonNull) else of_type
    if isinstance(inner, GraphQLList):
        item = _compile_type(inner.of_type, selection_set)
        return None if item is None else _list_completer(item, non_null)
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return None if selection_set is not None else _leaf_completer(inner, non_null, None)
    if not isinstance(inner, GraphQLObjectType) or inner.is_type_of is not None or selection_set is None:
        return None  # interfaces and unions need a runtime type; is_type_of needs an info object
    fields: list[tuple[str, Any, _Complete, type]] = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None
        compiled = _compile_field(inner, selection)
        if compiled is None or any(name == compiled[0] for name, *_ in fields):
            return None  # merged duplicates are graphql-core's business
        field_def = inner.fields.get(selection.name.value)
        fields.append((*compiled, _None if field_def is None else _own_type(field_def.type)))
    return _object_completer(inner, fields, non_null)


def _compile_field(parent_type: GraphQLObjectType, node: FieldNode) -> tuple[str, Any, _Complete] | None:
    if node.directives or node.arguments:
        return None
    name = node.alias.value if node.alias else node.name.value
    if node.name.value == "__typename":
        return name, _typename(parent_type.name), _same
    field_def = parent_type.fields.get(node.name.value)
    if field_def is None or not _plain(field_def):
        return None
    of_type: Any = field_def.type
    leaf_type = of_type.of_type if isinstance(of_type, GraphQLNonNull) else of_type
    if isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType):
        if node.selection_set is not None:
            return None
        complete: _Complete | None = _leaf_completer(leaf_type, isinstance(of_type, GraphQLNonNull), _leaf(field_def))
    else:
        complete = _compile_type(of_type, node.selection_set)
    return None if complete is None else (name, _reader(field_def), complete)


def _subtree(parent_type: GraphQLObjectType, field_details_list: Any) -> _Subtree | None:
    """The compiled completion of a plain non-leaf field, or None when graphql-core must do it."""
    if len(field_details_list) != 1:
        return None
    details = field_details_list[0]
    if details.defer_usage is not None or getattr(details, "fragment_variable_values", None) is not None:
        return None
    node = details.node
    key = (id(node), id(parent_type))
    entry = _subtrees.get(key)
    if entry is not None and entry[0] is node and entry[1] is parent_type:
        return entry[2]
    compiled = _compile_field(parent_type, node)
    subtree = None if compiled is None else (compiled[1], compiled[2])
    if len(_subtrees) >= _SUBTREES_MAX:
        _subtrees.clear()
    _subtrees[key] = (node, parent_type, subtree)
    return subtree


# One selection compiled for a parent type: (response name, field details, plain leaf or None,
# compiled plain subtree or None).
_Plan = list[tuple[str, Any, "_Leaf | None", "_Subtree | None"]]


def _gather_async_work(values: Any) -> Any:
    return gather_with_cancel(*values)  # what graphql-core's Executor.gather_async_work does


def _track_async_work(executor: weakref.ref[LeafFastExecutionContext], values: Any) -> None:
    alive = executor()
    if alive is None:
        raise RuntimeError("info.async_helpers.track: the execution this info belongs to has finished")
    alive.track_async_work(values)


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the plain-leaf shortcut in ``execute_fields``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core's helpers for resolvers (``info.async_helpers``) are bound methods of
        # the executor, which holds them: a reference cycle that left each request's whole
        # execution state (~115 objects for an impact query, ~570 for a CI lookup) to the
        # cyclic collector, whose pauses then held up every request queued behind them.
        # Bound through a weak reference instead, the state is freed when the request ends.
        self.async_helpers = GraphQLResolveInfoHelpers(gather=_gather_async_work,
                                                       track=partial(_track_async_work, weakref.ref(self)))
        # graphql-core caches the grouped field set of a sub-selection per field and type,
        # so every item of a list brings the same object: compile it once per request.
        self._compiled: dict[int, tuple[Any, _Plan]] = {}

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan:
        key = id(grouped_field_set)
        entry = self._compiled.get(key)
        if entry is not None and entry[0] is grouped_field_set:
            return entry[1]
        fields = parent_type.fields
        plan: _Plan = []
        for name, details in grouped_field_set.items():
            leaf = _leaf(fields.get(details[0].node.name.value))
            plan.append((name, details, leaf, None if leaf is not None else _subtree(parent_type, details)))
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
            for response_name, field_details_list, leaf, subtree in self._compile(parent_type, grouped_field_set):
                if subtree is not None:
                    try:
                        results[response_name] = subtree[1](subtree[0](source_value))
                        continue
                    except Exception:  # graphql-core completes the field again, with its errors
                        pass
                elif leaf is not None:
                    value = leaf.read(source_value)
                    if leaf.enum_cls is not None:
                        member = leaf.members.get(id(value))
                        name = member[1] if member is not None and member[0] is value else _enum_name(leaf, value)
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
