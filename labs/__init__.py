"""Labs: the demo estate, the simulated SSH hosts, the SNMP lab, vcsim and the synthetic estate.

Not product code: the product packages (``schema``, ``cmdb``, ``discovery``, ``graph_api``) never
import it (an import-linter contract says so); ``cmdb_cli`` wires it in for ``cmdb demo`` and the
``sample`` scanner, and the tests and benchmarks use it to stand up estates to discover.
"""
