"""SNMP discovery: network devices, their interfaces and addresses, and the physical
topology from LLDP and CDP.

Layout: ``client`` is the only module doing network I/O (pysnmp 7, one shared
engine); ``parsers`` are pure functions from walked varbinds to Observations;
``collect`` decides what to walk on a device; ``scanner`` drives targets, bounded
concurrency and the per-scope result.
"""
