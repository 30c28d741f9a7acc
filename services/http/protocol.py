"""uvicorn's HTTP/1.1 protocol (h11) answering what it cannot parse like the app would.

Stock uvicorn answers a malformed request with ``400 Invalid HTTP request received.`` in
plain text and closes the socket at once; when the client is still sending (a 1 MB URL, a
200 KB header) the kernel then resets the connection and the client never reads even that.
Here the answer is an OGC exception body with the status that names the problem (400,
414 for a request line, 431 for headers), and the socket is closed only after the client's
remaining bytes have been read for a moment (a "lingering close", as nginx does), so the
answer arrives. The parser's own limit sits just above the app's (services/http/limits.py),
which answers anything between with the same bodies.
"""

from __future__ import annotations

import json
from typing import Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.http.errors import exception_body

LINGER_S: Final = 2.0
"""How long the rest of a refused request is read and discarded before the socket closes."""
LINGER_BYTES: Final = 64 * 1024 * 1024
"""How much of it at most (then the close may reset, as any server's would)."""
HEAD_KEPT: Final = 1 << 20
"""Bytes of a request head kept to tell a long request line from long headers."""


class OgcH11Protocol(H11Protocol):
    """H11Protocol whose refusals carry an OGC body and arrive before the socket closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()
        self._lingering = False
        self._discarded = 0

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self.transport.close()
            return
        if self.conn.their_state is h11.IDLE and len(self._head) < HEAD_KEPT:
            self._head += data[: HEAD_KEPT - len(self._head)]
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._head.clear()
        super().on_response_complete()

    def _status(self) -> tuple[int, str]:
        head = bytes(self._head)
        limit = self.conn._max_incomplete_event_size  # h11 keeps the limit it was given
        if b"\r\n" not in head and len(head) >= limit:
            return 414, f"the request line is longer than {limit} bytes"
        if b"\r\n\r\n" not in head and len(head) >= limit:
            return 431, f"the request head is longer than {limit} bytes"
        return 400, "the request is not valid HTTP/1.1"

    def send_400_response(self, msg: str) -> None:
        status, description = self._status()
        code = {400: "InvalidRequest", 414: "URITooLong", 431: "RequestHeaderFieldsTooLarge"}
        body = json.dumps(exception_body(code[status], description)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        # h11 is in its ERROR state: write the bytes ourselves.
        reason = {
            400: b"Bad Request",
            414: b"URI Too Long",
            431: b"Request Header Fields Too Large",
        }
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason[status])]
        lines += [name + b": " + value + b"\r\n" for name, value in headers]
        self.transport.write(b"".join(lines) + b"\r\n" + body)
        self._linger()

    def _linger(self) -> None:
        """Stop writing, read what the client still sends, close a little later."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def uvicorn_options(max_url_bytes: int, max_header_bytes: int) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run``: our protocol, a parser
    limit just above the app's own, and no ``server`` header."""
    return {
        "http": "services.http.protocol:OgcH11Protocol",
        "h11_max_incomplete_event_size": max_url_bytes + max_header_bytes + 1024,
        "server_header": False,
    }
