"""Accounts from named profiles (and the same account named twice is scanned once)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings
from discovery.base import ScopeResult
from tests.integration.aws.aws_estate import reset_moto

DEFAULT_ACCOUNT = "123456789012"  # moto's account for keys it did not issue


def test_profiles_and_roles_name_accounts_once_each(moto_endpoint: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    reset_moto(moto_endpoint)
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
                           "[ops-again]\naws_access_key_id = testing2\naws_secret_access_key = testing2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    scanner = AwsScanner(AwsScanConfig(
        accounts=AccountSources(profiles=("ops", "ops-again", "missing"),
                                role_arns=("arn:aws:iam::666666666666:role/cmdb-reader",)),
        regions=("ap-southeast-2",), client=ClientSettings(endpoint_url=moto_endpoint, max_attempts=1),
        max_workers=4))

    async def collect() -> list[ScopeResult]:
        return [result async for result in scanner.scan()]

    results = asyncio.run(collect())
    assert {(r.scope, r.complete) for r in results} == {
        (f"{DEFAULT_ACCOUNT}/global", True), (f"{DEFAULT_ACCOUNT}/ap-southeast-2", True),
        ("666666666666/global", True), ("666666666666/ap-southeast-2", True),
        ("profile:missing/global", False),
    }
    missing = next(r for r in results if r.scope == "profile:missing/global")
    assert "ProfileNotFound" in missing.errors[0]
