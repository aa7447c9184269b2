"""Agentless discovery of Linux hosts over SSH (asyncssh).

Layout: ``script`` (the one shell script run per host and its section splitter),
``parsers`` (pure functions from raw command output to typed facts),
``observations`` (facts to Observations), ``dependencies`` (cross-host
connection inference), ``inventory``, ``hostkeys``, ``client`` (the thin
network I/O) and ``scanner`` (the Scanner that ties them together).
"""
