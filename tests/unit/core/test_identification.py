"""Identification: ordered rules, dependent classes, cross-source merges, duplicates, create rights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cmdb.ingest import ItemError
from cmdb.model import Action
from cmdb.observation import Item
from tests.builders import DAY, Harness, obs, ref, rel


def test_one_real_host_seen_by_three_sources_with_different_identifiers_is_one_ci(harness: Harness) -> None:
    _, report = harness.run([obs("cloud_instance", {"instance_id": "i-0abc"}, {"private_ip": "10.0.0.5", "name": "web-1"},
                                 scope="111/eu-west-1")], source="aws", scope="111/eu-west-1")
    assert report.created == 1 and report.rejected == []
    harness.run([obs("host", {"machine_id": "5f2c"}, {"instance_id": "i-0abc", "fqdn": "web-1.prod.example.com",
                                                        "kernel": "6.1.0"}, source="ssh", scope="lab")],
                source="ssh", scope="lab")
    # SNMP knows only the name, in another case: identifiers compare case-folded.
    harness.run([obs("host", {"fqdn": "WEB-1.prod.example.com"}, {"uptime_s": 3600}, source="snmp", scope="net")],
                source="snmp", scope="net")

    cis = harness.all_cis()
    assert [(c.ci_class, c.attributes["instance_id"], c.attributes["machine_id"]) for c in cis] == [
        ("cloud_instance", "i-0abc", "5f2c")]
    ci = cis[0]
    assert ci.attributes["kernel"] == "6.1.0" and ci.attributes["uptime_s"] == 3600
    assert {k: p.source for k, p in ci.provenance.items()} == {
        "instance_id": "aws", "private_ip": "aws", "name": "aws", "machine_id": "ssh", "fqdn": "ssh",
        "kernel": "ssh", "uptime_s": "snmp"}


def test_a_generic_observation_never_downgrades_a_specific_class_and_a_specific_one_upgrades(harness: Harness) -> None:
    harness.run([obs("host", {"machine_id": "m1"}, source="ssh", scope="lab")], source="ssh", scope="lab")
    assert harness.all_cis()[0].ci_class == "host"
    harness.run([obs("cloud_instance", {"instance_id": "i-1"}, {"machine_id": "m1"})])
    ci = harness.all_cis()[0]
    assert ci.ci_class == "cloud_instance"
    assert harness.store.history(ci.uid)[-1].changes["class"] == ["host", "cloud_instance"]
    harness.run([obs("host", {"machine_id": "m1"}, source="ssh", scope="lab")], source="ssh", scope="lab")
    assert harness.all_cis()[0].ci_class == "cloud_instance"


def test_dependent_classes_are_identified_inside_their_parent(harness: Harness) -> None:
    a, b = ref("host", machine_id="a"), ref("host", machine_id="b")
    items = [
        obs("host", {"machine_id": "a"}, source="ssh"), obs("host", {"machine_id": "b"}, source="ssh"),
        obs("interface", {"name": "eth0"}, {"mtu": 1500}, parent=a, source="ssh"),
        obs("interface", {"name": "eth0"}, {"mtu": 9000}, parent=b, source="ssh"),
        obs("interface", {"name": "eth0"}, {"speed_mbps": 1000}, parent=a, source="ssh"),
    ]
    harness.run(items, source="ssh")
    hosts = {c.attributes["machine_id"]: c.uid for c in harness.all_cis() if c.ci_class == "host"}
    interfaces = {(c.parent_uid, c.attributes["name"], c.attributes["mtu"], c.attributes.get("speed_mbps"))
                  for c in harness.all_cis() if c.ci_class == "interface"}
    assert interfaces == {(hosts["a"], "eth0", 1500, 1000), (hosts["b"], "eth0", 9000, None)}
    contains = {(r.source_uid, r.type) for r in harness.all_rels()}
    assert contains == {(hosts["a"], "CONTAINS"), (hosts["b"], "CONTAINS")}


def test_an_observation_bridging_two_cis_nothing_separates_merges_them_into_the_older(harness: Harness) -> None:
    harness.run([obs("host", {"fqdn": "db-1.example.com"}, {"owner": "dba"}, source="manual", scope="hand")],
                source="manual", scope="hand")
    harness.clock.advance(DAY)
    host = ref("host", machine_id="m-db")
    harness.run([obs("host", {"machine_id": "m-db"}, {"kernel": "6.1"}, source="ssh"),
                 obs("interface", {"name": "eth0"}, {"mtu": 1500}, parent=host, source="ssh")], source="ssh")
    older = harness.find("host", fqdn="db-1.example.com")
    newer = harness.find("host", machine_id="m-db")
    assert older.uid != newer.uid
    harness.clock.advance(DAY)
    # ssh learns the FQDN of its host: its identifiers now point at both CIs, and no
    # strong identifier separates them (the manual CI has none): one thing.
    _, report = harness.run([obs("host", {"machine_id": "m-db"}, {"fqdn": "db-1.example.com"}, source="ssh"),
                             obs("interface", {"name": "eth0"}, {"mtu": 1500}, parent=host, source="ssh")],
                            source="ssh")
    assert report.merged == 1 and report.created == 0
    cis = {c.uid: c for c in harness.all_cis()}
    kept, gone = cis[older.uid], cis[newer.uid]
    assert (kept.status.value, kept.duplicate_of) == ("active", None)
    assert (gone.status.value, gone.duplicate_of) == ("retired", older.uid)
    assert {k: kept.attributes.get(k) for k in ("fqdn", "machine_id", "kernel", "owner")} == {
        "fqdn": "db-1.example.com", "machine_id": "m-db", "kernel": "6.1", "owner": "dba"}
    assert {k: p.source for k, p in kept.provenance.items() if k in ("owner", "kernel")} == {
        "owner": "manual", "kernel": "ssh"}
    # Its dependents, edges, keys and sightings moved with it.
    interfaces = [c for c in cis.values() if c.ci_class == "interface"]
    assert [(c.parent_uid, c.attributes["name"]) for c in interfaces] == [(older.uid, "eth0")]
    assert {(r.source_uid, r.type, r.target_uid) for r in harness.all_rels()} == {
        (older.uid, "CONTAINS", interfaces[0].uid)}
    from cmdb.identify import keys_for
    keys = keys_for(harness.schema.cls("host"), {"machine_id": "m-db"}, None)
    assert harness.store.find_keys(keys) == {keys[0]: [older.uid]}
    assert {(s.source, s.scope) for s, _ in harness.store.sightings_of([older.uid])} == {
        ("manual", "hand"), ("ssh", "s1")}
    assert harness.store.sightings_of([newer.uid]) == []
    assert [h.changes for h in harness.store.history(newer.uid) if h.action is Action.MERGE] == [
        {"merged_into": [None, older.uid], "status": ["active", "retired"]}]
    absorbed = [h.changes for h in harness.store.history(older.uid) if h.action is Action.MERGE]
    assert len(absorbed) == 1 and absorbed[0]["absorbed"] == [None, newer.uid]
    # Seen again, nothing changes: one CI answers every identifier.
    _, again = harness.run([obs("host", {"machine_id": "m-db"}, {"fqdn": "db-1.example.com"}, source="ssh")],
                           source="ssh")
    assert (again.created, again.merged, again.updated) == (0, 0, 0)


def test_create_rights_per_source_and_class(harness: Harness) -> None:
    _, report = harness.run([obs("business_service", {"name": "Payroll"}, source="ssh")], source="ssh")
    assert report.rejected == [ItemError(0, "class", "source 'ssh' may not create 'business_service' CIs")]
    assert harness.all_cis() == []
    # ...but ssh may update one that exists.
    harness.run([obs("business_service", {"name": "Payroll"}, source="manual", scope="hand")], source="manual", scope="hand")
    _, report = harness.run([obs("business_service", {"name": "Payroll"}, {"owner": "hr"}, source="ssh")], source="ssh")
    assert report.rejected == [] and harness.find("business_service", name="Payroll").attributes["owner"] == "hr"


def test_invalid_items_are_rejected_with_the_field_named(harness: Harness) -> None:
    items: list[Item | dict[str, Any]] = [
        obs("host", {"machine_id": "m1"}, {"colour": "red"}),
        obs("host", {"machine_id": "m2"}, {"cpu_count": "many"}),
        obs("interface", {"name": "eth0"}),
        obs("device", {"serial_number": "X"}),
        obs("gizmo", {"id": "1"}),
        rel("RUNS_ON", ref("application", name="nope"), ref("host", machine_id="m3")),
        obs("host", {"machine_id": "m3"}),
        rel("ALLOWS_FROM", ref("host", machine_id="m3"), ref("host", machine_id="m3")),
        {"kind": "ci", "source": "aws", "scope": "s1", "class": "host"},
        {"kind": "rel", "source": "aws", "scope": "s1", "type": "RUNS_ON", "from": {"class": "host", "identifiers": {"machine_id": "m3"}}},
        obs("host", {"machine_id": "m4"}, source="ssh"),
    ]
    _, report = harness.run(items)
    assert [(e.index, e.field) for e in report.rejected] == [
        (0, "attributes.colour"), (1, "attributes.cpu_count"), (2, "parent"), (3, "class"), (4, "class"),
        (5, "from"), (7, "to"), (8, "identifiers"), (9, "to"), (10, "source"),
    ]
    assert "has no attribute 'colour'" in report.rejected[0].message
    assert "no application CI with name=nope" in report.rejected[5].message
    assert [c.attributes["machine_id"] for c in harness.all_cis()] == ["m3"]


def rule_key(rule: Any, values: dict[str, Any], parent_uid: str | None) -> str | None:
    """The key format, rule by rule, written here without the code under test: ``<owner>#<index>|<parent>|``
    then the rule's values, each trimmed and case-folded, joined by the unit separator (U+001F).
    The values this test uses are strings and integers, whose text is their normal form."""
    parts = []
    for attr in rule.attributes:
        value = values.get(attr)
        if value is None or value == "":
            return None
        parts.append(str(value).strip().casefold())
    return f"{rule.owner}#{rule.index}|{parent_uid or ''}|" + "\x1f".join(parts)


def test_compiled_keys_equal_the_rule_by_rule_definition() -> None:
    from cmdb.identify import keys_for
    from schema import load_schema

    schema = load_schema()
    values = {"serial_number": "SN1", "fqdn": " Web-1.Example.COM ", "machine_id": "", "name": "eth0",
              "product": "postgres", "port": 5432, "cidr": "10.0.0.0/24", "network_scope": "vpc-1", "if_index": 3}
    # An empty value of a rule of several attributes (and a missing one) makes no key either.
    partial = {**values, "network_scope": "", "port": None, "pid_name": "postmaster", "address": "10.0.0.1"}
    for given in (values, partial):
        for cls in schema.classes.values():
            for parent in (None, "p-uid"):
                expected = [k for r in cls.identifiers if (k := rule_key(r, given, parent)) is not None]
                assert keys_for(cls, given, parent) == expected, cls.name
    assert keys_for(schema.cls("subnet"), partial, None) == []


def test_a_ci_created_and_absorbed_in_one_batch_leaves_no_key_behind(harness: Harness) -> None:
    harness.run([obs("host", {"fqdn": "db-1.example.com"}, source="manual", scope="hand")], source="manual", scope="hand")
    harness.clock.advance(DAY)
    # One batch: the first item creates a CI, the second bridges it with the older one.
    _, report = harness.run([obs("host", {"machine_id": "m-new"}, source="ssh"),
                             obs("host", {"machine_id": "m-new"}, {"fqdn": "db-1.example.com"}, source="ssh")],
                            source="ssh")
    assert (report.created, report.merged) == (1, 1)
    kept = harness.find("host", fqdn="db-1.example.com", machine_id="m-new")
    from cmdb.identify import keys_for
    keys = keys_for(harness.schema.cls("host"), {"machine_id": "m-new", "fqdn": "db-1.example.com"}, None)
    assert harness.store.find_keys(keys) == {k: [kept.uid] for k in keys}


# (declared type, value given) -> the value stored, written out here; or the refusal's message.
_COERCED: list[tuple[str, Any, Any]] = [
    ("string", "as is", "as is"), ("string", 42, "42"), ("string", 1.5, "1.5"), ("string", True, "True"),
    ("int", 7, 7), ("int", "7", 7), ("int", 2**63 - 1, 2**63 - 1), ("int", -(2**63), -(2**63)), ("int", 7.0, 7), ("int", " 8 ", 8),
    ("timestamp", 1_700_000_000_000, 1_700_000_000_000), ("timestamp", 1.7e12, 1_700_000_000_000),
    ("timestamp", "1700000000000", 1_700_000_000_000),
    ("float", 1.5, 1.5), ("float", 2, 2.0), ("float", "2.5", 2.5),
    ("bool", True, True), ("bool", False, False), ("bool", "TRUE", True), ("bool", "Yes", True), ("bool", "1", True),
    ("bool", "false", False), ("bool", "NO", False), ("bool", "0", False), ("bool", 1, True), ("bool", 0, False),
    ("string_list", ["a", 1, None, 2.5], ["a", "1", "2.5"]), ("string_list", ("x",), ["x"]), ("string_list", [], []),
    ("json", {"a": [1, None]}, {"a": [1, None]}), ("json", [1, "x"], [1, "x"]), ("json", "text", "text"),
]
_REFUSED: list[tuple[str, Any, str]] = [
    ("string", {"a": 1}, "expected a string for string, got {'a': 1}"),
    ("string", ["a"], "expected a string for string, got ['a']"),
    ("int", True, "expected an integer for int, got True"),
    ("int", 7.5, "expected an integer for int, got 7.5"),
    ("int", "many", "invalid literal for int() with base 10: 'many' for int, got 'many'"),
    ("int", [1], "int() argument must be a string, a bytes-like object or a real number, not 'list' for int, got [1]"),
    ("timestamp", False, "expected an integer for timestamp, got False"),
    ("timestamp", 0.5, "expected an integer for timestamp, got 0.5"),
    ("float", True, "expected a number for float, got True"),
    ("float", "NaN", "expected a finite number for float, got 'NaN'"),
    ("float", float("inf"), "expected a finite number for float, got inf"),
    ("float", "-inf", "expected a finite number for float, got '-inf'"),
    ("float", "much", "could not convert string to float: 'much' for float, got 'much'"),
    ("bool", "maybe", "expected a boolean for bool, got 'maybe'"),
    ("bool", 2, "expected a boolean for bool, got 2"),
    ("bool", 1.0, "expected a boolean for bool, got 1.0"),
    ("string_list", "a,b", "expected a list of strings for string_list, got 'a,b'"),
    ("string_list", {"a": 1}, "expected a list of strings for string_list, got {'a': 1}"),
    ("json", {1, 2}, "Object of type set is not JSON serializable for json, got {1, 2}"),
    # Past 64 bits only once converted (every store refuses it, and the whole batch with it).
    ("int", "9" * 30, "integer beyond 64 bits for int, got '" + "9" * 30 + "'"),
    ("int", 2**63, "integer beyond 64 bits for int, got 9223372036854775808"),
    ("timestamp", 1e300, ("integer beyond 64 bits for timestamp, got 1e+300")),
    ("int", "x" * 150, ("invalid literal for int() with base 10: '" + "x" * 150 + "' for int, got '" + "x" * 150)[:300]),
]


def test_each_declared_type_takes_what_means_it_and_refuses_the_rest_naming_the_field() -> None:
    from cmdb.errors import InvalidItem
    from cmdb.identify import _coerce
    from schema import AttrType

    for type_name, given, stored in _COERCED:
        got = _coerce(AttrType(type_name), given, "attributes.x")
        assert (got, type(got)) == (stored, type(stored)), (type_name, given)
    for type_name, given, message in _REFUSED:
        try:
            _coerce(AttrType(type_name), given, "attributes.x")
        except InvalidItem as exc:
            assert (exc.field, exc.message) == ("attributes.x", message), (type_name, given)
        else:
            raise AssertionError(f"{type_name} took {given!r}")


def test_validation_keeps_known_attributes_coerced_drops_nulls_and_names_the_unknown_or_abstract() -> None:
    from cmdb.errors import InvalidItem
    from cmdb.identify import check_class, validate_attributes
    from schema import load_schema

    schema = load_schema()
    volume = check_class(schema, "volume", "class")
    assert validate_attributes(volume, {"state": None, "volume_id": "vol-1", "size_gb": "8", "encrypted": "yes",
                                        "volume_type": 42, "kind": None}, "attributes") == {
        "volume_id": "vol-1", "size_gb": 8.0, "encrypted": True, "volume_type": "42"}
    refusals: list[tuple[Callable[[], object], tuple[str, str]]] = [(lambda: validate_attributes(volume, {"colour": "red"}, "attributes"),
                 ("attributes.colour", "class 'volume' has no attribute 'colour'")),
                (lambda: validate_attributes(volume, {"volume_type": {"a": 1}}, "attributes"),
                 ("attributes.volume_type", "expected a string for string, got {'a': 1}")),
                (lambda: validate_attributes(volume, {"size_gb": "big"}, "identifiers"),
                 ("identifiers.size_gb", "could not convert string to float: 'big' for float, got 'big'")),
                (lambda: validate_attributes(volume, {"size_gb": 1.0, "volume_id": "\ud800"}, "attributes"),
                 ("attributes.volume_id", "text is not valid Unicode (a lone surrogate at character 0)")),
                (lambda: check_class(schema, "gizmo", "class"), ("class", "unknown CI class 'gizmo'")),
                (lambda: check_class(schema, "ci", "class"),
                 ("class", "class 'ci' is abstract; use one of its subclasses"))]
    for call, expected in refusals:
        try:
            call()
        except InvalidItem as exc:
            assert (exc.field, exc.message) == expected
        else:
            raise AssertionError(f"accepted: {expected}")


# What each class identifies by, read off schema/catalog.yaml by hand: its strong identifiers in
# declaration order (ancestors' first), the name attributes its rules use, what separates two CIs
# (strong ones, then the rules' scopes) and its rules by key prefix with their strength and scope.
_IDENTITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], dict[str, tuple[str, tuple[str, ...]]]]] = {
    "host": (("serial_number", "chassis_id", "machine_id", "instance_id", "dmi_uuid"), ("fqdn", "sys_name"),
             ("serial_number", "chassis_id", "machine_id", "instance_id", "dmi_uuid", "dns_domain"),
             {"device#0": ("strong", ()), "device#1": ("strong", ()), "device#2": ("strong", ()),
              "device#3": ("strong", ()), "device#4": ("name", ()), "device#5": ("name", ("dns_domain",)),
              "host#0": ("strong", ())}),
    "interface": ((), ("name",), (), {"interface#0": ("name", ()), "interface#1": ("locator", ())}),
    "subnet": (("subnet_id",), ("network_scope",), ("subnet_id",),
               {"subnet#0": ("strong", ()), "subnet#1": ("locator", ())}),
    "dns_zone": (("zone_id",), ("zone_name",), ("zone_id", "account_id", "private"),
                 {"dns_zone#0": ("strong", ()), "dns_zone#1": ("name", ("account_id", "private"))}),
    "software_instance": (("port",), ("pid_name", "product"), ("port",),
                          {"software_instance#0": ("name", ()), "software_instance#1": ("name", ())}),
}


def test_what_each_class_identifies_by_is_what_the_catalog_declares() -> None:
    from cmdb.identify import Identity
    from schema import load_schema

    schema = load_schema()
    for name, (strong, names, separating, rules) in _IDENTITIES.items():
        ident = Identity(schema, schema.cls(name))  # built here, not taken from identity()'s cache
        assert (ident.strong, ident.names, ident.separating) == (strong, names, separating), name
        assert {k: (r.strength.value, r.scope) for k, r in ident.rules.items()} == rules, name


def test_which_matches_a_class_could_refuse_and_which_it_does() -> None:
    from cmdb.identify import identity
    from schema import load_schema

    schema = load_schema()
    host, interface, zone = (identity(schema, schema.cls(n)) for n in ("host", "interface", "dns_zone"))
    # checks: two strong identifiers (one alone is its own key), or a scope value.
    assert [host.checks(v) for v in ({"machine_id": "m"}, {"machine_id": "m", "serial_number": "s"},
                                     {"fqdn": "a.b", "dns_domain": "b"}, {"fqdn": "a.b", "dns_domain": None},
                                     {"machine_id": None, "serial_number": "s"})] == [False, True, True, False, False]
    machine_id, fqdn, short = host.rules["device#2"], host.rules["device#4"], host.rules["device#5"]
    by_name, by_index = interface.rules["interface#0"], interface.rules["interface#1"]
    # needs_values: the incoming side carries a value the rule's own key does not compare.
    assert [host.needs_values(machine_id, {"machine_id": "m"}), host.needs_values(fqdn, {"fqdn": "a", "machine_id": "m"}),
            host.needs_values(short, {"sys_name": "a", "dns_domain": "b"}), host.needs_values(fqdn, {"fqdn": "a"}),
            host.needs_values(fqdn, {"fqdn": "a", "machine_id": None}),
            interface.needs_values(by_index, {"if_index": 3, "name": "eth0"}),
            interface.needs_values(by_name, {"if_index": 3, "name": "eth0"}),
            interface.needs_values(by_index, {"if_index": 3})] == [False, True, True, False, False, True, False, False]
    # refuses: a strong identifier or the rule's scope disagrees; for a locator, a name too. Compared normalised.
    held = {"machine_id": "m-1", "fqdn": "a.example.com", "sys_name": "a", "dns_domain": "example.com"}
    assert [host.refuses(fqdn, {"machine_id": "m-2"}, held), host.refuses(fqdn, {"machine_id": " M-1 "}, held),
            host.refuses(fqdn, {"serial_number": "s"}, held), host.refuses(short, {"dns_domain": "other.com"}, held),
            host.refuses(fqdn, {"dns_domain": "other.com"}, held)] == [True, False, False, True, False]
    eth = {"name": "eth0", "if_index": 3}
    assert [interface.refuses(by_index, {"name": "eth1"}, eth), interface.refuses(by_name, {"name": "eth1"}, eth),
            interface.refuses(by_index, {"name": "ETH0"}, eth)] == [True, False, False]
    private = zone.rules["dns_zone#1"]
    assert [zone.refuses(private, {"private": True}, {"private": False}),
            zone.refuses(private, {"private": True}, {"private": True})] == [True, False]


def test_a_references_identifiers_are_normalised_as_its_class_declares() -> None:
    from cmdb.identify import Identity, identity
    from schema import load_schema

    schema = load_schema()
    given = {"product": " Postmaster ", "port": 5432, "pid_name": " PG "}
    assert Identity(schema, schema.cls("software_instance")).normalised(given) == {
        "product": "postgresql", "port": 5432, "pid_name": "pg"}
    assert given == {"product": " Postmaster ", "port": 5432, "pid_name": " PG "}  # a copy, not the caller's
    assert identity(schema, schema.cls("software_instance")).normalised(given)["product"] == "postgresql"


def test_a_name_shared_by_separated_cis_goes_to_the_one_the_other_values_agree_with_alone() -> None:
    from types import SimpleNamespace

    from cmdb.identify import corroborating, identity
    from schema import load_schema

    schema = load_schema()
    host = identity(schema, schema.cls("host"))
    a = SimpleNamespace(attributes={"management_ip": "10.0.0.5", "model": "R640", "fqdn": "a.example.com",
                                    "status": "up", "dns_domain": "example.com"})
    b = SimpleNamespace(attributes={"management_ip": "10.0.0.6", "model": "R640"})
    c = SimpleNamespace(attributes={"hostname": "a"})

    def chosen(values: dict[str, Any], *candidates: SimpleNamespace) -> Any:
        return corroborating(list(candidates), values, host)

    assert chosen({"management_ip": " 10.0.0.5 "}, a, b) is a  # one value agrees (compared normalised), one disagrees
    assert chosen({"management_ip": "10.0.0.6"}, a, b) is b
    assert chosen({"management_ip": "10.0.0.5"}, c, a) is a  # nothing to compare counts nothing
    assert chosen({"model": "r640"}, a, b) is None  # one point each: a tie
    assert chosen({"management_ip": "10.0.0.7"}, c, a) is None  # 0 and -1: nobody corroborated
    assert chosen({"model": "R640", "management_ip": "10.0.0.5"}, b, a) is a  # 2 beats 0
    # Identifiers, separating values, values that describe many things alike, nulls and nested values count nothing.
    assert chosen({"fqdn": "a.example.com", "dns_domain": "example.com", "status": "up"}, a, b) is None
    assert chosen({"management_ip": None}, a, c) is None
    # Each value counts +1 or -1, summed; only a strictly best score decides.
    e = SimpleNamespace(attributes={"management_ip": "10.0.0.5"})
    g = SimpleNamespace(attributes={"management_ip": "10.0.0.9", "model": "R640"})
    h = SimpleNamespace(attributes={"management_ip": "10.0.0.5", "model": "R640", "hostname": "b"})
    assert chosen({"management_ip": "10.0.0.5", "model": "X"}, a, e) is e  # 1 - 1 against 1 (a value e lacks: 0)
    assert chosen({"management_ip": "10.0.0.5", "model": "R640"}, g, c) is None  # -1 + 1 against 0
    assert chosen({"management_ip": "10.0.0.5", "model": "R640", "hostname": "a"}, h, e) is None  # 2 - 1 against 1
    assert chosen({"management_ip": "10.0.0.5", "model": "R640"}, a, e) is a  # 2, then 1
    # What is skipped does not end the count: the values after it still count.
    assert chosen({"model": {"rev": 2}, "management_ip": "10.0.0.5"}, a, b) is a
    assert chosen({"fqdn": "a.example.com", "status": "up", "management_ip": "10.0.0.5"}, a, b) is a
    assert chosen({"management_ip": "10.0.0.5", "model": {"rev": 2}}, a, b) is a
    d = SimpleNamespace(attributes={"management_ip": "10.0.0.5", "hostname": ["a"]})
    assert chosen({"management_ip": "10.0.0.5", "hostname": "a"}, d, b) is d


def test_a_contradiction_is_an_attribute_both_sides_hold_with_values_that_differ_normalised() -> None:
    from cmdb.identify import contradicts

    names = ("a", "b", "c")
    assert [contradicts(x, y, names) for x, y in (
        ({"a": "1", "b": "x"}, {"a": "1", "b": "y"}),  # a agrees, b does not
        ({"a": None, "b": "x"}, {"a": "2", "b": "y"}),  # a absent on one side, b differs
        ({"b": "x"}, {"a": "2", "c": "z", "b": "X "}),  # the same once trimmed and case-folded
        ({"a": "1", "c": 3}, {"b": "2", "c": 3.0}),  # 3 and 3.0 are one number
        ({"a": "1"}, {"a": None, "b": "y"}),
        ({"c": "z"}, {"c": "y", "d": "w"}),
        ({"d": "1"}, {"d": "2"}),  # not an attribute asked about
        ({"c": 1.0}, {"c": 2.0}),  # two whole floats are still two numbers
        ({"c": 3.0}, {"c": "3"}),  # a whole float reads as its integer
        ({"c": True}, {"c": "TRUE"}), ({"c": False}, {"c": "true"}),
    )] == [True, True, False, False, False, True, False, True, False, False, True]
