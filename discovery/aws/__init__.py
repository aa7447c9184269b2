"""AWS discovery through boto3: accounts x regions, plus each account's global services."""

from __future__ import annotations

from discovery.aws.accounts import AccountSources
from discovery.aws.client import ClientSettings, Credentials
from discovery.aws.scanner import AwsScanConfig, AwsScanner

__all__ = ["AccountSources", "AwsScanConfig", "AwsScanner", "ClientSettings", "Credentials"]
