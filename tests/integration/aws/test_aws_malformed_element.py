"""One malformed element of a real region's payload is named and skipped; the rest of the region
is ingested, and the run is incomplete so that nothing (the skipped element least of all) ages.

moto cannot serve a malformed element: the payload is collected from the real moto server
and one instance in it is then broken the way real payloads break (``State`` a string).
"""

from __future__ import annotations

import time
from pathlib import Path

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.aws.client import AwsCaller, ClientSettings, Credentials, collect_region, make_session
from discovery.aws.scanner import _Collected, region_result
from discovery.aws.transform import region_scope
from discovery.runner import ingest_scope
from schema import load_schema
from tests.integration.aws.aws_estate import account_session, build_small_account, reset_moto, store_view

ACCOUNT, REGION = "444444444444", "us-east-1"


def test_a_malformed_instance_is_skipped_and_the_rest_of_the_region_ingested(moto_endpoint: str,
                                                                              tmp_path: Path) -> None:
    reset_moto(moto_endpoint)
    estate = build_small_account(moto_endpoint, ACCOUNT, regions=(REGION,))
    creds = account_session(moto_endpoint, ACCOUNT).get_credentials()
    caller = AwsCaller(make_session(Credentials(creds.access_key, creds.secret_key, creds.token)), REGION,
                       ClientSettings(endpoint_url=moto_endpoint, max_attempts=1))
    collect_region(caller)
    assert caller.errors == []
    broken, kept = estate.handles[REGION]["instances"]
    broken_eni = ""
    for reservation in (r for page in caller.payload["ec2.describe_instances"] for r in page["Reservations"]):
        for instance in reservation["Instances"]:
            if instance["InstanceId"] == broken:
                instance["State"] = "running"
                broken_eni = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]

    scope = region_scope(ACCOUNT, REGION)
    result = region_result(_Collected(scope, caller, time.perf_counter(), 1_700_000_000_000), ACCOUNT, REGION,
                           [], None)
    assert result.errors == [f"ec2.describe_instances: InstanceId={broken} is malformed "
                             "(AttributeError: 'str' object has no attribute 'get'), skipped"]
    assert not result.complete

    store = SQLiteStore(tmp_path / "cmdb.db")
    try:
        run, _ = ingest_scope(Ingestor(store, load_schema()), "aws", result)
        assert run.status is RunStatus.INCOMPLETE and run.errors == result.errors
        view = store_view(store)
        # Everything of the region but the broken instance and its ENI (gone with it) is in the
        # store; the account's DNS zone, records and roles belong to its global scope, not scanned here.
        expected = estate.without({broken, broken_eni})
        global_classes = ("dns_zone", "dns_record", "iam_role")
        assert view.cis == {c for c in expected.cis if c[0] not in global_classes}
        assert ("cloud_instance", kept) in view.cis
        assert view.rels == {r for r in expected.rels if r[0] != "RESOLVES_TO"
                             and not any(r[2] == k or r[1] == k for c, k in estate.cis if c in global_classes)}
    finally:
        store.close()
