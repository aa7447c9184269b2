"""A deliberately broken SNMPv2c agent (a UDP thread on 127.0.0.1) for what no real
agent here does on demand: GETBULK answers whose OIDs go backwards.

It answers GET for the system scalars and, for any GETBULK, rows whose OIDs go
backwards (row 5, then row 3), forever.
"""

from __future__ import annotations

import socket
import threading

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.rfc1902 import Integer32, ObjectName, OctetString

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SCALARS = {
    (1, 3, 6, 1, 2, 1, 1, 5, 0): OctetString(b"loop.lab.example"),
    (1, 3, 6, 1, 2, 1, 1, 1, 0): OctetString(b"Agent that returns non-increasing OIDs"),
    (1, 3, 6, 1, 2, 1, 1, 7, 0): Integer32(2),
}


class MisbehavingAgent:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> MisbehavingAgent:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _answer(self, pdu: object) -> list[tuple[ObjectName, object]]:
        requested = [tuple(name) for name, _ in V2C.apiPDU.get_varbinds(pdu)]
        if not isinstance(pdu, V2C.GetBulkRequestPDU):
            return [(ObjectName(oid), SCALARS.get(oid, OctetString(b""))) for oid in requested]
        # Two repetitions, laid out as RFC 3416 says (row by row), but the second row of
        # every column goes backwards: (col, 5) then (col, 3); a continued column goes down.
        out: list[tuple[ObjectName, object]] = []
        for repetition in range(2):
            for oid in requested:
                if len(oid) <= 10:
                    nxt = (*oid, 5 if repetition == 0 else 3)
                else:
                    nxt = (*oid[:-1], max(0, oid[-1] - 1 - repetition))
                out.append((ObjectName(nxt), OctetString(b"row%d" % nxt[-1])))
        return out

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.requests += 1
            try:
                message, _ = decoder.decode(data, asn1Spec=V2C.Message())
                request = V2C.apiMessage.get_pdu(message)
                response_message = V2C.apiMessage.get_response(message)
                response = V2C.apiMessage.get_pdu(response_message)
                V2C.apiPDU.set_varbinds(response, self._answer(request))
                self.sock.sendto(encoder.encode(response_message), peer)
            except Exception:  # a broken request is simply not answered
                continue
