"""uvicorn as the bench runs every server: the same launcher for this platform and the peers.

Two patches, both about the socket layer and applied to every server alike:

- With ``--workers`` uvicorn binds the listening socket itself with protocol 0, so asyncio
  does not set TCP_NODELAY on accepted connections; a keep-alive response (headers and body
  written separately) then waits ~40 ms for the client's delayed ACK (Nagle). TCP_NODELAY on
  the listening socket is inherited by accepted sockets on Linux. ``onemap serve`` does the
  same (services/cli/serve.py).
- The workers share one listening socket, and asyncio accepts up to ``backlog`` (2048)
  connections per wake-up: when wrk opens its 16 keep-alive connections at once, the first
  worker to wake takes nearly all of them and keeps them for the run (seen: 15 on one
  worker, 1 on the other), so one core serves the load while the other idles, and the
  percentiles measure the accept race instead of the server. Accepting one connection per
  wake-up lets the workers take turns.

Run as ``python bench/_uvicorn.py APP [uvicorn options]``; the patches are made at import,
so the workers (spawned, they import this file as ``__mp_main__``) have them too.
"""

import asyncio.selector_events
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def _bind_socket_nodelay(self: Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


_Loop = asyncio.selector_events.BaseSelectorEventLoop
_accept = _Loop._accept_connection  # type: ignore[attr-defined]


def _accept_one(self: Any, protocol_factory: Any, sock: Any, *args: Any, **kwargs: Any) -> None:
    """asyncio's accept with a backlog of one: at most one connection per wake-up."""
    if len(args) >= 3:  # sslcontext, server, backlog, ...
        args = (*args[:2], 1, *args[3:])
    else:
        kwargs["backlog"] = 1
    _accept(self, protocol_factory, sock, *args, **kwargs)


Config.bind_socket = _bind_socket_nodelay  # type: ignore[method-assign]
_Loop._accept_connection = _accept_one  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(uvicorn.main())
