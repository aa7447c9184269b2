"""Which accounts and regions to scan: named profiles, role ARNs, or an AWS Organization."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from discovery.aws.client import GLOBAL_REGION, AwsCaller, ClientSettings, Credentials, make_session

# Regions that answer for an account without opting in, or that it opted into.
_ENABLED = frozenset({"opt-in-not-required", "opted-in"})


@dataclass(frozen=True, slots=True)
class Account:
    """One account to scan, with how to reach it (temporary credentials or a profile)."""

    account_id: str
    credentials: Credentials | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class AccountFailure:
    """An account that could not be reached; ``account`` is its id when known, else its label."""

    account: str
    error: str


def role_arn_account(role_arn: str) -> str:
    """``arn:aws:iam::111122223333:role/Name`` -> ``111122223333``."""
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else role_arn


def _caller(base: Credentials | None, profile: str | None, settings: ClientSettings) -> AwsCaller:
    return AwsCaller(make_session(base, profile), GLOBAL_REGION, settings)


def _identity(caller: AwsCaller) -> str:
    return str(next(caller.pages("sts", "get_caller_identity"))["Account"])


def assume(caller: AwsCaller, role_arn: str, session_name: str, external_id: str | None = None) -> Credentials:
    """Temporary credentials for ``role_arn`` (the account it belongs to)."""
    params = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    creds = next(caller.pages("sts", "assume_role", **params))["Credentials"]
    return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))


@dataclass(frozen=True, slots=True)
class AccountSources:
    """Where accounts come from; with none given, the default credential chain's account."""

    profiles: tuple[str, ...] = ()
    role_arns: tuple[str, ...] = ()
    org_role: str | None = None
    external_id: str | None = None
    session_name: str = "cmdb-discovery"
    base_credentials: Credentials | None = None  # the caller's own keys (tests; else the default chain)
    base_profile: str | None = None


def _profile_account(profile: str, settings: ClientSettings) -> Account:
    return Account(_identity(_caller(None, profile, settings)), profile=profile)


def _role_account(base: AwsCaller, role_arn: str, sources: AccountSources) -> Account:
    return Account(role_arn_account(role_arn), assume(base, role_arn, sources.session_name, sources.external_id))


def _own_account(base: AwsCaller, sources: AccountSources) -> Account:
    return Account(_identity(base), credentials=sources.base_credentials, profile=sources.base_profile)


def resolve_accounts(sources: AccountSources, settings: ClientSettings) -> tuple[list[Account], list[AccountFailure]]:
    """Reach every account: profiles directly, role ARNs and organization members by assume_role."""
    accounts: dict[str, Account] = {}
    failures: list[AccountFailure] = []

    def attempt(label: str, work: Callable[[], Account]) -> None:
        try:
            account = work()
            accounts.setdefault(account.account_id, account)
        except Exception as exc:  # botocore's errors differ per failure; each is the account's reason
            failures.append(AccountFailure(label, f"{type(exc).__name__}: {exc}"))

    for profile in sources.profiles:
        attempt(f"profile:{profile}", partial(_profile_account, profile, settings))

    if sources.role_arns or sources.org_role or not sources.profiles:
        base = _caller(sources.base_credentials, sources.base_profile, settings)
        for role_arn in sources.role_arns:
            attempt(role_arn_account(role_arn), partial(_role_account, base, role_arn, sources))
        if sources.org_role:
            try:
                members = [a for page in base.pages("organizations", "list_accounts") for a in page["Accounts"]
                           if a.get("Status", "ACTIVE") == "ACTIVE"]
            except Exception as exc:
                failures.append(AccountFailure("organization", f"{type(exc).__name__}: {exc}"))
                members = []
            for member in members:
                arn = f"arn:aws:iam::{member['Id']}:role/{sources.org_role}"
                attempt(str(member["Id"]), partial(_role_account, base, arn, sources))
        if not sources.profiles and not sources.role_arns and not sources.org_role:
            attempt("default", partial(_own_account, base, sources))
    return list(accounts.values()), failures


def enabled_regions(account: Account, settings: ClientSettings) -> list[str]:
    """The regions the account has enabled, sorted."""
    caller = AwsCaller(make_session(account.credentials, account.profile), GLOBAL_REGION, settings)
    return enabled_region_names(list(caller.pages("ec2", "describe_regions")))


def enabled_region_names(pages: list[dict[str, Any]]) -> list[str]:
    """The regions of ``describe_regions`` pages that need no opt-in or were opted into, sorted."""
    return sorted(r["RegionName"] for page in pages for r in page.get("Regions") or []
                  if r.get("OptInStatus", "opt-in-not-required") in _ENABLED)
