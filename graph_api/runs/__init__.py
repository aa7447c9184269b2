"""Scan runs and triggering discovery jobs."""
