"""vSphere discovery: a vCenter's inventory through pyvmomi's property collector.

``client`` holds the network I/O (session, paged property retrieval) and turns
pyvmomi objects into plain records; ``transform`` turns those records into
Observations; ``scanner`` ties them into a :class:`discovery.base.Scanner`.
"""

from __future__ import annotations
