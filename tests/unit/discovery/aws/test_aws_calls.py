"""The declared call list covers every call the scanner makes, and the documented policy is derived from it."""

from __future__ import annotations

import ast
import functools
import socket
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber

from discovery.aws.calls import API_CALLS, DECLARED
from discovery.aws.client import AwsCaller, ClientSettings, UndeclaredCall, make_session
from discovery.aws.client import Credentials as Keys
from discovery.aws.policy import minimum_policy, minimum_policy_json


@functools.cache
def _models() -> botocore.session.Session:
    return botocore.session.get_session()


ROOT = Path(__file__).resolve().parents[4]
PACKAGE = ROOT / "discovery" / "aws"
# Where the IAM action is not the operation's own name.
ACTION_EXCEPTIONS = {("s3", "list_buckets"): "ListAllMyBuckets"}


def _calls_in_code() -> set[tuple[str, str]]:
    """Every ``x.pages("service", "operation", ...)`` / ``x.collect(...)`` in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("pages", "collect") and len(node.args) >= 2):
                service, operation = node.args[0], node.args[1]
                if (isinstance(service, ast.Constant) and isinstance(service.value, str)
                        and isinstance(operation, ast.Constant) and isinstance(operation.value, str)):
                    found.add((service.value, operation.value))
    return found


def test_every_call_in_the_code_is_declared_and_every_declared_call_is_made() -> None:
    used = _calls_in_code()
    assert used - DECLARED == set()
    assert DECLARED - used == set()


def test_only_the_client_module_touches_boto3() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "client.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] in ("boto3", "botocore") for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in ("boto3", "botocore"), path


@pytest.mark.parametrize("call", API_CALLS, ids=lambda c: f"{c.service}.{c.operation}")
def test_declared_calls_exist_and_name_their_iam_action(call: object) -> None:
    from discovery.aws.calls import ApiCall

    assert isinstance(call, ApiCall)
    model = _models().get_service_model(call.service)
    pascal = "".join(part.title() for part in call.operation.split("_"))
    names = {name.lower(): name for name in model.operation_names}
    assert pascal.lower() in names, call
    prefix, action = call.action.split(":")
    assert prefix == model.signing_name
    assert action == ACTION_EXCEPTIONS.get((call.service, call.operation), names[pascal.lower()])


def test_policy_in_the_docs_is_the_generated_one() -> None:
    docs = (ROOT / "docs" / "aws.md").read_text()
    assert minimum_policy_json() in docs
    statement = minimum_policy()["Statement"][0]
    assert set(statement["Action"]) == {c.action for c in API_CALLS} - {"sts:AssumeRole"}
    assert all(a.split(":")[1].startswith(("Describe", "List", "Get")) for a in statement["Action"])


def test_undeclared_call_is_refused() -> None:
    caller = AwsCaller(make_session(Keys("AKIDEXAMPLE", "secret")), "us-east-1", ClientSettings())
    with pytest.raises(UndeclaredCall):
        next(caller.pages("ec2", "terminate_instances", InstanceIds=["i-1"]))


def test_pages_follow_next_tokens_and_keep_every_page() -> None:
    # moto ignores page sizes: pagination is checked with botocore's Stubber.
    caller = AwsCaller(make_session(Keys("AKIDEXAMPLE", "secret")), "eu-west-1", ClientSettings(max_attempts=1))
    client = caller.client("ec2")
    with Stubber(client) as stub:
        stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-1"}], "NextToken": "t1"}, {})
        stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-2"}]}, {"NextToken": "t1"})
        pages = caller.collect("ec2", "describe_volumes")
        stub.assert_no_pending_responses()
    assert [v["VolumeId"] for p in pages for v in p["Volumes"]] == ["vol-1", "vol-2"]
    assert caller.payload["ec2.describe_volumes"] == pages
    assert (caller.calls, caller.errors) == (2, [])


def test_a_refused_call_is_a_scope_error_not_an_exception() -> None:
    caller = AwsCaller(make_session(Keys("AKIDEXAMPLE", "secret")), "eu-west-1", ClientSettings(max_attempts=1))
    with Stubber(caller.client("rds")) as stub:
        stub.add_client_error("describe_db_instances", "AccessDenied", "not authorized", 403)
        assert caller.collect("rds", "describe_db_instances") == []
    assert caller.errors == ["rds.describe_db_instances: AccessDenied: not authorized"]


def test_an_unreachable_endpoint_stops_the_scope_after_one_call() -> None:
    from discovery.aws.client import collect_region

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caller = AwsCaller(make_session(Keys("AKIDEXAMPLE", "secret")), "eu-west-1",
                       ClientSettings(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, connect_timeout=1))
    collect_region(caller)
    assert len(caller.errors) == 1
    assert caller.errors[0].startswith("ec2.describe_vpcs: endpoint unreachable")
    assert caller.payload == {}
