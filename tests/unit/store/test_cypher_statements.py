"""Statements and DDL derived from the schema; FalkorDB parameter serialisation."""

from __future__ import annotations

import pytest

from cmdb.store.cypher.codec import search_text
from cmdb.store.cypher.ddl import index_specs, neo4j_ddl
from cmdb.store.cypher.falkordb_transport import compose, params_header
from cmdb.store.cypher.statements import SearchShape, Statements, attribute_list_as_map, class_label, quote
from cmdb.store.cypher.transport import Unit
from schema import load_schema


def test_every_class_gets_its_own_and_its_ancestors_labels() -> None:
    st = Statements(load_schema())
    assert st.class_labels["cloud_instance"] == ("CloudInstance", "Host", "Device")
    assert st.class_labels["business_service"] == ("BusinessService",)
    assert "MERGE (n:CI:Switch:NetworkDevice:Device {uid: row[0]})" in st.upsert_cis("switch")
    assert "CREATE (n:CI:Switch:NetworkDevice:Device {uid: row[0], " in st.create_cis("switch")
    assert class_label("ip_address") == "IpAddress"


def test_ddl_comes_from_the_schema_and_is_idempotent_on_neo4j() -> None:
    schema = load_schema()
    specs = index_specs(schema)
    indexed = {a.name for c in schema.classes.values() for a in c.attributes.values() if a.indexed}
    assert {s.prop for s in specs if s.label == "CI"} >= indexed | {"uid", "ci_class"}
    assert not [s for s in specs if s.relationship]  # relationship uids are found through the CI uid index
    ddl = neo4j_ddl(schema)
    assert all(" IF NOT EXISTS " in d for d in ddl)
    assert "CREATE CONSTRAINT cmdb_node_ci_uid_uniq IF NOT EXISTS FOR (n:CI) REQUIRE n.`uid` IS UNIQUE" in ddl


def test_search_filters_take_only_plain_attribute_names() -> None:
    st = Statements(load_schema())
    assert "n.`cpu_count` >= $f0" in st.search(SearchShape(filters=(("cpu_count", "ge"),)))
    with pytest.raises(ValueError):
        quote("x`) DETACH DELETE n //")
    with pytest.raises(ValueError):
        st.search(SearchShape(filters=(("name", "regex"),)))


def test_falkordb_composes_units_into_one_atomic_query() -> None:
    text, params = compose([Unit("UNWIND $rows AS row CREATE (:A {x: row})", {"rows": [1]}),
                            Unit("UNWIND $rows AS row MATCH (a:A {x: row}) RETURN count(a)", {"rows": [2]})])
    assert text == ("UNWIND $u0_rows AS row CREATE (:A {x: row}) WITH count(*) AS _w0 "
                    "UNWIND $u1_rows AS row MATCH (a:A {x: row}) RETURN count(a)")
    assert params == {"u0_rows": [1], "u1_rows": [2]}


def test_parameters_are_cypher_literals() -> None:
    header = params_header({"rows": [{"k": 'say "hi":', "n": None, "l": [True, 1.5]}], "limit": 3})
    assert header == 'CYPHER rows=[{`k`:"say \\"hi\\":",`n`:null,`l`:[true,1.5]}] limit=3 '
    with pytest.raises(ValueError):
        params_header({"rows": [{"bad key": 1}]})
    with pytest.raises(ValueError):
        params_header({"rows": [["uid", {"bad key": 1}]]})
    with pytest.raises(ValueError):
        params_header({"s": "nul\x00"})


def test_text_search_matches_values_not_names() -> None:
    assert search_text({"Name": "Web-1", "tags": {"Env": "Prod"}, "up": True, "n": None}) == "web-1\x1fprod\x1f1"


def test_write_rows_are_positional_and_only_map_keys_are_unquoted() -> None:
    # Rows are lists; the attribute map inside is the only map. A quote-colon inside a
    # string (escaped in JSON) is not a key; the search separator travels as a raw byte.
    header = params_header({"rows": [["u1", {"env": 'a":b', "n": 1}, "x\x1fy"], ["u2", {"size": 2}, "z"]]})
    assert header == 'CYPHER rows=[["u1",{`env`:"a\\":b",`n`:1},"x\x1fy"],["u2",{`size`:2},"z"]] '
    # An escaped backslash before "u001f" is text, not the separator.
    assert params_header({"s": "\\u001f"}) == 'CYPHER s="\\\\u001f" '
    # Escapes FalkorDB would read literally travel as raw bytes.
    assert params_header({"s": "a\rb\x01c"}) == 'CYPHER s="a\rb\x01c" '


def test_ci_statements_naming_attributes_map_back_to_the_linted_form() -> None:
    st = Statements(load_schema())
    listed = st.create_cis("switch", ("sys_name", "chassis_id"))
    assert "{`sys_name`: row[12][0], `chassis_id`: row[12][1], uid: row[0], " in listed
    assert attribute_list_as_map(listed) == st.create_cis("switch")
    assert attribute_list_as_map(st.upsert_cis("switch", ("mac",))) == st.upsert_cis("switch")
    with pytest.raises(ValueError):
        st.upsert_cis("switch", ("x` = 1 DETACH DELETE n //",))
