"""The plain-leaf execution shortcut answers exactly what graphql-core's own execution answers."""

from __future__ import annotations

import asyncio
import enum
import gc
from operator import getitem
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from cmdb.impact import ImpactService
from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from cmdb.topology.index import TopologyIndex
from graph_api.auth import Principal
from graph_api.blocking import configure
from graph_api.context import ApiContext
from graph_api.execution import LeafFastExecutionContext
from graph_api.schema import build_schema
from graph_api.services import AppServices
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.estate import seed


def _both(schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None,
          context: Any = None) -> tuple[Any, Any]:
    """(data, errors as (message, path)) with graphql-core's context, then with the shortcut."""
    answers = []
    for cls in (StrawberryGraphQLCoreExecutionContext, LeafFastExecutionContext):
        schema.execution_context_class = cls
        result = asyncio.run(schema.execute(query, variable_values=variables, context_value=context))
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or ())
        answers.append((result.data, errors))
    return answers[0], answers[1]


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: strawberry.ID
    label: str | None
    count: int
    colour: Colour
    must: str

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2

    @strawberry.field
    async def later(self) -> str:
        return f"later-{self.id}"


def _items() -> list[Item]:
    return [
        Item(id=strawberry.ID("a"), label="first", count=1, colour=Colour.RED, must="x"),
        Item(id=strawberry.ID("b"), label=None, count=2, colour=Colour.BLUE, must=None),  # type: ignore[arg-type]
        Item(id=strawberry.ID("c"), label="third", count="not a number", colour=Colour.RED, must="z"),  # type: ignore[arg-type]
        Item(id=strawberry.ID("d"), label="fourth", count=4, colour="purple", must="w"),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return _items()  # type: ignore[return-value]

    @strawberry.field
    def strict(self) -> list[Item]:
        return _items()


SMALL = strawberry.Schema(query=Query)


@pytest.mark.parametrize("query", [
    "{ items { id label count colour doubled later __typename } }",
    "{ items { b: id, a: label, ...F, ... on Item { count } } } fragment F on Item { colour id }",
    "{ items { must } }",  # null in a non-null field: the item becomes null, with graphql-core's error
    "{ strict { id must } }",  # ... and propagates up through a non-null list
    "{ items { count } }",  # a value the Int type refuses
    "{ items { colour } }",  # a value the enum does not hold
    "{ items { id @skip(if: true) label @include(if: false) count } }",
])
def test_shortcut_matches_graphql_core_on_edge_cases(query: str) -> None:
    stock, fast = _both(SMALL, query)
    assert fast == stock


@strawberry.type
class DictQuery:
    @strawberry.field
    def items(self) -> list[Item]:
        return [{"id": "a", "label": None, "count": 1, "colour": Colour.BLUE, "must": "m"}]  # type: ignore[list-item]


def test_shortcut_uses_a_custom_default_resolver() -> None:
    schema = strawberry.Schema(query=DictQuery, config=StrawberryConfig(default_resolver=getitem))
    stock, fast = _both(schema, "{ items { id label count colour must } }")
    assert fast == stock == ({"items": [{"id": "a", "label": None, "count": 1, "colour": "BLUE", "must": "m"}]}, [])


# -- compiled plain subtrees -------------------------------------------------------------------
@strawberry.type
class Leafy:
    id: strawberry.ID
    label: str | None
    count: int
    colour: Colour
    must: str
    tags: list[str]
    child: Leafy | None
    kids: list[Leafy]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int


def _leafy(i: int, **changes: Any) -> Leafy:
    values: dict[str, Any] = {"id": strawberry.ID(f"l{i}"), "label": f"label {i}", "count": i, "colour": Colour.BLUE,
                              "must": "m", "tags": ["x", f"t{i}"], "child": None, "kids": []}
    values.update(changes)
    return Leafy(**values)


@strawberry.type
class Holder:
    plain: list[Leafy | None]
    strict: list[Leafy]
    one: Leafy | None
    pair: list[Leafy]
    lazy: list[Leafy]
    named: list[Named]
    people: list[Person]


def _holder(kind: str) -> Holder:
    nested = _leafy(1, child=_leafy(2, label=None), kids=[_leafy(3), _leafy(4, tags=())])
    plain: list[Any] = [nested, None, _leafy(5)]
    if kind == "null-must":
        plain[2] = _leafy(5, must=None)
    elif kind == "null-nested-must":
        plain[0] = _leafy(1, kids=[_leafy(3, must=None)])
    elif kind == "bad-count":
        plain[0] = _leafy(1, child=_leafy(2, count="many"))
    elif kind == "bad-colour":
        plain[2] = _leafy(5, colour="purple")
    elif kind == "null-tag":
        plain[2] = _leafy(5, tags=["a", None])
    elif kind == "error-value":
        plain[2] = ValueError("resolved to an error")
    return Holder(plain=plain, strict=[_leafy(6), None if kind == "null-strict" else _leafy(7)],  # type: ignore[list-item]
                  one=None if kind == "null-one" else _leafy(8), pair=(_leafy(9), _leafy(10)),  # type: ignore[arg-type]
                  lazy=(_leafy(i) for i in range(11, 13)),  # type: ignore[arg-type]
                  named=[Person(name="ann", age=3)], people=[Person(name="bob", age=4)])


@strawberry.type
class HolderQuery:
    @strawberry.field
    def holder(self, kind: str = "") -> Holder:
        return _holder(kind)

    @strawberry.field
    def holders(self) -> list[Holder]:
        return [_holder(""), _holder("null-one")]


TREES = strawberry.Schema(query=HolderQuery, types=[Person])
_TREE = "{ id label count colour must tags __typename child { id label } kids { id tags } }"


@pytest.mark.parametrize("query", [
    "{ holder { plain " + _TREE + " strict { id } one { id colour } pair { id } lazy { id } } }",
    "{ holders { one { id } plain { x: id, y: id, z: label, t: __typename, kids { k: count } } } }",
    *("{ holder(kind: \"" + kind + "\") { plain " + _TREE + " strict { id must } one { id } } }"
      for kind in ("null-must", "null-nested-must", "bad-count", "bad-colour", "null-tag", "error-value",
                   "null-strict", "null-one")),
    "{ holder { plain { id id label } } }",  # merged duplicate fields
    "{ holder { plain { ...F, ... on Leafy { count } } } } fragment F on Leafy { id colour }",
    "{ holder { plain { id @skip(if: true) label @include(if: true) kids { id @include(if: false) } } } }",
    "{ holder { named { name __typename ... on Person { age } } people { name age __typename } } }",
])
def test_compiled_subtrees_match_graphql_core(query: str) -> None:
    stock, fast = _both(TREES, query)
    assert fast == stock


class _Counting(LeafFastExecutionContext):
    executed: list[str] = []

    def execute_field(self, parent_type: Any, source: Any, details: Any, path: Any, position: Any) -> Any:
        self.executed.append(f"{parent_type.name}.{details[0].node.name.value}")
        return super().execute_field(parent_type, source, details, path, position)


def test_plain_subtrees_skip_graphql_core_and_irregular_ones_do_not() -> None:
    TREES.execution_context_class = _Counting
    _Counting.executed = []
    result = asyncio.run(TREES.execute("{ holder { plain " + _TREE + " one { id } pair { id } } }"))
    assert not result.errors
    assert _Counting.executed == ["HolderQuery.holder"]  # the rest was built by the compiled subtrees
    _Counting.executed = []
    result = asyncio.run(TREES.execute("{ holder(kind: \"null-must\") { plain { id must } one { id } lazy { id } "
                                       "named { name } people { name } } }"))
    assert _Counting.executed[:2] == ["HolderQuery.holder", "Holder.plain"]  # a null in a non-null field
    assert "Holder.lazy" in _Counting.executed  # a generator, not a list
    assert "Holder.named" in _Counting.executed  # an interface
    assert "Holder.people" in _Counting.executed  # a type with is_type_of (it implements an interface)
    assert "Holder.one" not in _Counting.executed


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("execution")
    catalog = load_schema()
    store = SQLiteStore(tmp / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    seed(ingestor)
    index = TopologyIndex.load(store, catalog)
    configure(0)
    services = AppServices.build(store=store, schema=catalog,
                                 tokens=TokenService(SQLiteTokenStore(tmp / "tokens.sqlite")),
                                 ingestor=ingestor, impact=ImpactService(index, catalog), trigger_discovery=None,
                                 page_cap=500)
    settings = ApiSettings(store_threads=0)
    schema = build_schema(settings, catalog)
    uids = {ci.attributes["name"]: ci.uid for batch in store.iter_cis() for ci in batch}
    yield schema, ApiContext(Principal("t", "test", Role.VIEWER), services, settings), uids
    store.close()


@pytest.mark.parametrize(("query", "names"), [
    ("""query($u: [ID!]!) { impact(uids: $u, maxDepth: 6) { truncated truncatedBy
        impacted { uid ciClass name grade depth explanation path { uid name ciClass relType relSource relTarget } }
        services { uid name ciClass grade owner } owners } }""", ["db-host"]),
    ("""query($u: [ID!]!) { impact(uids: $u) { impacted { g: grade, d: depth, __typename } } }""", ["web-1", "web-2"]),
    ("""query($u: ID!) { dependencies(uid: $u, maxDepth: 3) { uid truncated dependencies { uid name depth redundant
        path { uid relType } } } }""", ["checkout"]),
    ("""query($u: ID!) { ci(uid: $u) { __typename uid name ciClass lifecycle environment attributes
        ... on DeviceCI { fqdn cpuCount memoryMb } neighbours(first: 50) { direction relationship { type
        evidence { method confidence sources } } ci { uid name ciClass } } } }""", ["web-2"]),
    ("""{ cis(filter: {attributes: [{attribute: "environment", value: "bulk"}]}, first: 7) {
        edges { cursor node { uid name ciClass } } pageInfo { hasNextPage endCursor } } }""", []),
    ("""query($u: [ID!]!) { impact(uids: $u) { impacted { uid } } }""", ["no-such-ci"]),
])
def test_shortcut_matches_graphql_core_on_the_real_schema(real: Any, query: str, names: list[str]) -> None:
    schema, context, uids = real
    variables: dict[str, Any] = {}
    if "[ID!]!" in query:
        variables["u"] = [uids.get(n, n) for n in names]
    elif names:
        variables["u"] = uids[names[0]]
    stock, fast = _both(schema, query, variables, context)
    assert fast == stock
    if names != ["no-such-ci"]:
        assert stock[0] is not None and not stock[1]


def test_impact_explains_exactly_when_the_query_shows_explanations(real: Any) -> None:
    schema, context, uids = real
    schema.execution_context_class = LeafFastExecutionContext
    variables = {"u": [uids["db-host"]]}

    def impacted(selection: str, fragments: str = "") -> list[dict[str, Any]]:
        query = f"query($u: [ID!]!) {{ impact(uids: $u) {{ impacted {{ {selection} }} }} }} {fragments}"
        result = asyncio.run(schema.execute(query, variable_values=variables, context_value=context))
        assert not result.errors and result.data is not None, result.errors
        impacted: list[dict[str, Any]] = result.data["impact"]["impacted"]
        return impacted

    bare = impacted("uid grade depth")
    full = impacted("uid grade depth explanation path { uid }")
    assert bare == [{k: ci[k] for k in ("uid", "grade", "depth")} for ci in full]
    assert all(ci["explanation"] and ci["path"] for ci in full)
    via_fragment = impacted("uid ...E", "fragment E on ImpactedCI { explanation }")
    assert [ci["explanation"] for ci in via_fragment] == [ci["explanation"] for ci in full]
    inline = impacted("uid ... on ImpactedCI { path { uid } }")
    assert [ci["path"] for ci in inline] == [ci["path"] for ci in full]


@pytest.mark.parametrize(("query", "many"), [
    ("""query($u: [ID!]!) { impact(uids: $u, maxDepth: 6) { truncated
        impacted { uid grade depth } services { uid name grade owner } owners } }""", True),
    ("""query($u: ID!) { ci(uid: $u) { uid name neighbours(first: 50) { direction
        relationship { type evidence { method confidence } } ci { uid name ciClass } } } }""", False),
])
def test_an_answered_query_leaves_nothing_to_the_cyclic_collector(real: Any, query: str, many: bool) -> None:
    # Garbage in reference cycles waits for a collection, whose pause holds up every request
    # queued behind it (docs/benchmarks/api.md): an execution's state must go with refcounting.
    schema, context, uids = real
    schema.execution_context_class = LeafFastExecutionContext
    variables = {"u": [uids["db-host"]] if many else uids["db-host"]}

    async def answer() -> Any:  # a fresh context, as each request has (its own loaders)
        fresh = ApiContext(context.principal, context.services, context.settings)
        return await schema.execute(query, variable_values=variables, context_value=fresh)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(answer())  # warm: caches filled now are not per-request garbage
        gc.collect()
        gc.disable()
        try:
            result = loop.run_until_complete(answer())
            assert not result.errors and result.data, result.errors
            del result
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            left = [type(o) for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    finally:
        loop.close()
    assert left == []
