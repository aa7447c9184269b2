"""Account and region selection helpers."""

from __future__ import annotations

from discovery.aws.accounts import enabled_region_names, role_arn_account


def test_enabled_regions_leave_out_regions_not_opted_in() -> None:
    pages = [{"Regions": [
        {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"},
        {"RegionName": "ap-east-1", "OptInStatus": "opted-in"},
        {"RegionName": "us-east-1"},
    ]}]
    assert enabled_region_names(pages) == ["ap-east-1", "eu-west-1", "us-east-1"]


def test_role_arn_names_its_account() -> None:
    assert role_arn_account("arn:aws:iam::111122223333:role/path/Reader") == "111122223333"
    assert role_arn_account("not-an-arn") == "not-an-arn"
