"""The demo estate: real local stand-ins for a small company's infrastructure, discovered for real.

``estate.start_estate`` starts a moto server seeded with the company's AWS
accounts (``aws_company``), snmpsim agents serving the lab network recordings
(``network_lab``) and, where root and network namespaces are available, SSH
hosts running services that talk to each other (``hosts_lab``). It writes a
jobs file for them and records every PID and namespace in a state file
(``state``), so ``stop_estate`` can clean up from any process.
"""
