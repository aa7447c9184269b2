"""Pure parsers: walked varbinds (``{oid: value}``) -> typed records -> Observations.

No I/O here: the same functions parse a live walk, a recorded ``.snmprec`` file
and the hand-written lab topology.
"""
