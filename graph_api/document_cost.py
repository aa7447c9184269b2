"""One validation rule judging a whole document in one pass, linear in its size.

It counts aliases, expanded field selections, nesting depth (ordinary and
introspection) and an estimated cost, walking every operation once with each
fragment's figures memoised: a fragment spread a thousand times, or a chain of
fragments each spreading the one below twice (``fragment F1 on Query { ...F0 ...F0 }``
up to F40: 2^40 fields once expanded), is walked once. The stock alias counter
(strawberry's ``MaxAliasesLimiter``) and a naive cost walk expand every spread, which
is exponential in such a chain.

Cost: a field costs 1 (the analyses more, ``EXPENSIVE_FIELDS``), plus its children's
cost times the number of items it may return: the value of its size argument
(``first``, ``last``, ``limit``, ``maxPaths``, ``maxNodes``), given literally, or the
schema's default when the argument is left out, or the most the resolver accepts
when it is a variable (its value is unknown at validation). Explanation paths
(``path``, ``shortest``, ``paths``) hold up to ``maxDepth`` + 1 steps of the analysis
they belong to, and ``Query.neighbours`` (no size argument) up to the page cap.

A document whose judging itself would be costly (too many selections visited,
fragments nested too deep) is refused: nothing is expensive before it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)

# Query fields running an analysis on the topology index: their own cost, besides what they return.
EXPENSIVE_FIELDS = {"impact": 200, "dependencies": 200, "paths": 200, "singlePointsOfFailure": 500, "topology": 100}
# Explanation paths: up to maxDepth + 1 steps each.
_PATH_LISTS = frozenset({("ImpactedCI", "path"), ("DependencyCI", "path"), ("SpofCI", "path"),
                         ("PlannedImpact", "path"), ("PathReport", "shortest"), ("PathReport", "paths")})
_DEPTH_CEILING = 10  # graph_api.analysis.schema.MAX_DEPTH: the most a variable maxDepth may be
_DEFAULT_DEPTH = 10
_MAX_FRAGMENT_NESTING = 100
_MAX_VISITS = 20_000  # selections visited per document (each fragment once): beyond, judging is not cheap


def _size_ceilings(page_cap: int) -> dict[str, int]:
    """The most each size argument may ask for (what a variable is costed at)."""
    return {"first": page_cap, "last": 1000, "limit": page_cap, "maxPaths": 100, "maxNodes": 50_000}


@dataclass(frozen=True, slots=True)
class _Figures:
    depth: int = 0  # nesting of ordinary fields
    intro_depth: int = 0  # nesting inside introspection
    cost: int = 0
    aliases: int = 0
    fields: int = 0  # field selections, fragments expanded
    schema_roots: int = 0  # __schema selections
    analyses: int = 0  # EXPENSIVE_FIELDS selections, fragments expanded


class _Refused(Exception):
    pass


def create_limits_rule(max_depth: int, max_introspection_depth: int, max_cost: int, page_cap: int,
                       max_fields: int, max_aliases: int, max_analyses: int) -> type[ValidationRule]:
    """The document limits as one graphql-core validation rule (see the module docstring)."""
    ceilings = _size_ceilings(page_cap)
    guard = max(max_depth, max_introspection_depth) + 5

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.schema: GraphQLSchema = context.schema
            doc = context.document
            self.fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
            self.memo: dict[tuple[str, bool, int], _Figures] = {}
            self.open: list[str] = []  # fragments being walked (a cycle is the spec rule's to report)
            self.visits = 0
            written = sum(_count_fields(d.selection_set) for d in doc.definitions
                          if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode))
            if written > max_fields:
                self.report_error(GraphQLError(
                    f"Document has {written} field selections; the limit is {max_fields}."))
                return
            operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
            judged: list[tuple[OperationDefinitionNode, _Figures]] = []
            for op in operations:
                try:
                    judged.append((op, self.walk(op.selection_set, self.root(op), 0, False, _DEFAULT_DEPTH)))
                except _Refused as refused:
                    self.report_error(GraphQLError(f"'{_name(op)}' {refused}", [op]))
                    return
            aliases = sum(f.aliases for _, f in judged)
            if aliases > max_aliases:
                self.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))
                return
            for op, figures in judged:
                self.check(op, figures)

        def root(self, op: OperationDefinitionNode) -> GraphQLObjectType | None:
            if op.operation is OperationType.MUTATION:
                return self.schema.mutation_type
            if op.operation is OperationType.SUBSCRIPTION:
                return self.schema.subscription_type
            return self.schema.query_type

        def check(self, op: OperationDefinitionNode, figures: _Figures) -> None:
            name = _name(op)
            if figures.fields > max_fields:
                self.report_error(GraphQLError(
                    f"'{name}' has {figures.fields} field selections once fragments are expanded; "
                    f"the limit is {max_fields}.", [op]))
            elif figures.analyses > max_analyses:
                self.report_error(GraphQLError(
                    f"'{name}' asks for {figures.analyses} analyses (impact, dependencies, paths, topology, "
                    f"single points of failure); the limit is {max_analyses} per request", [op]))
            elif figures.schema_roots > 1:
                self.report_error(GraphQLError(f"'{name}' one __schema selection per operation", [op]))
            elif figures.depth > max_depth:
                self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", [op]))
            elif figures.intro_depth > max_introspection_depth:
                self.report_error(GraphQLError(
                    f"'{name}' exceeds maximum introspection depth of {max_introspection_depth}", [op]))
            elif figures.cost > max_cost:
                self.report_error(GraphQLError(
                    f"'{name}' is too expensive: estimated cost {figures.cost} exceeds {max_cost}; "
                    "ask for smaller pages, fewer nodes or fewer nested lists", [op]))

        def walk(self, sel: SelectionSetNode | None, parent: object, level: int, intro: bool,
                 depth_bound: int) -> _Figures:
            """The figures of a selection set whose fields belong to ``parent`` (a schema type, or None)."""
            if sel is None:
                return _Figures()
            if level > guard:
                raise _Refused(f"exceeds maximum introspection depth of {max_introspection_depth}" if intro
                               else f"exceeds maximum operation depth of {max_depth}")
            depth = intro_depth = cost = aliases = fields = roots = analyses = 0
            for node in sel.selections:
                self.visits += 1
                if self.visits > _MAX_VISITS:
                    raise _Refused("cannot be judged cheaply: too many selections; simplify the document")
                if isinstance(node, FieldNode):
                    fname = node.name.value
                    is_intro = intro or fname.startswith("__")
                    field_def = _field(parent, fname)
                    multiplier, bound = self.size(node, field_def, parent, depth_bound)
                    child_type = get_named_type(field_def.type) if field_def is not None else None
                    sub = self.walk(node.selection_set, child_type, level + 1, is_intro, bound)
                    analysis = parent is self.schema.query_type and fname in EXPENSIVE_FIELDS
                    cost += (EXPENSIVE_FIELDS[fname] if analysis else 1) + multiplier * sub.cost
                    aliases += sub.aliases + (1 if node.alias is not None else 0)
                    fields += 1 + sub.fields
                    roots += sub.schema_roots + (1 if fname == "__schema" else 0)
                    analyses += sub.analyses + (1 if analysis else 0)
                    if node.selection_set is not None:
                        if is_intro:
                            intro_depth = max(intro_depth, 1 + max(sub.intro_depth, sub.depth))
                        else:
                            depth = max(depth, 1 + sub.depth)
                            intro_depth = max(intro_depth, sub.intro_depth)
                    continue
                if isinstance(node, InlineFragmentNode):
                    condition = (self.schema.get_type(node.type_condition.name.value)
                                 if node.type_condition is not None else parent)
                    sub = self.walk(node.selection_set, condition, level, intro, depth_bound)
                elif isinstance(node, FragmentSpreadNode):
                    found = self.spread(node.name.value, level, intro, depth_bound)
                    if found is None:
                        continue
                    sub = found
                else:  # pragma: no cover - graphql-core has no other selection kinds
                    continue
                depth, intro_depth = max(depth, sub.depth), max(intro_depth, sub.intro_depth)
                cost, aliases = cost + sub.cost, aliases + sub.aliases
                fields, roots = fields + sub.fields, roots + sub.schema_roots
                analyses += sub.analyses
                if cost > max_cost * 10:
                    # a bound, not the figure: stop walking what is refused anyway
                    raise _Refused(f"is too expensive: estimated cost exceeds {max_cost}; "
                                   "ask for smaller pages, fewer nodes or fewer nested lists")
            if cost > max_cost * 10:
                raise _Refused(f"is too expensive: estimated cost exceeds {max_cost}; "
                               "ask for smaller pages, fewer nodes or fewer nested lists")
            return _Figures(depth, intro_depth, cost, aliases, fields, roots, analyses)

        def spread(self, name: str, level: int, intro: bool, depth_bound: int) -> _Figures | None:
            """A fragment's figures, walked once per (fragment, introspection, depth bound)."""
            key = (name, intro, depth_bound)
            known = self.memo.get(key)
            if known is not None:
                return known
            frag = self.fragments.get(name)
            if frag is None or name in self.open:  # unknown or cyclic: the spec's rules report it
                return None
            if len(self.open) >= _MAX_FRAGMENT_NESTING:
                raise _Refused(f"nests fragments more than {_MAX_FRAGMENT_NESTING} deep")
            self.open.append(name)
            try:
                figures = self.walk(frag.selection_set, self.schema.get_type(frag.type_condition.name.value),
                                    level, intro, depth_bound)
            finally:
                self.open.pop()
            self.memo[key] = figures
            return figures

        @staticmethod
        def size(node: FieldNode, field_def: GraphQLField | None, parent: object, depth_bound: int) -> tuple[int, int]:
            """(items the field may return, the depth bound of explanation paths below it)."""
            given = {a.name.value: a.value for a in node.arguments or ()}
            declared = field_def.args if field_def is not None else {}
            multiplier = 1
            for arg, ceiling in ceilings.items():
                if arg in given or arg in declared:
                    multiplier = max(multiplier, _int_arg(given.get(arg), declared.get(arg), ceiling))
            bound = depth_bound
            if "maxDepth" in given or "maxDepth" in declared:
                bound = _int_arg(given.get("maxDepth"), declared.get("maxDepth"), _DEPTH_CEILING)
            type_name = getattr(parent, "name", None)
            if (type_name, node.name.value) in _PATH_LISTS:
                multiplier = max(multiplier, depth_bound + 1)
            elif (type_name, node.name.value) == ("Query", "neighbours"):
                multiplier = max(multiplier, page_cap)
            return multiplier, bound

    return DocumentLimits


def _name(op: OperationDefinitionNode) -> str:
    return op.name.value if op.name else "anonymous"


def _field(parent: object, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _int_arg(value: object, declared: GraphQLArgument | None, ceiling: int) -> int:
    """An integer argument as costed: the literal, else the declared default, else (a variable) the ceiling."""
    if isinstance(value, IntValueNode):
        return max(1, min(int(value.value), ceiling))
    if isinstance(value, VariableNode):
        return ceiling
    if value is None and declared is not None:
        default = declared.default_value
        if isinstance(default, int) and not isinstance(default, bool):  # (Undefined is not an int)
            return max(1, min(default, ceiling))
    return 1


def _count_fields(sel: SelectionSetNode | None) -> int:
    """Field selections as written (fragments not expanded)."""
    if sel is None:
        return 0
    total = 0
    stack = [sel]
    while stack:
        current = stack.pop()
        for node in current.selections:
            if isinstance(node, FieldNode):
                total += 1
            if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
                stack.append(node.selection_set)
    return total
