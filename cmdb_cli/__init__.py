"""cmdb_cli package."""
