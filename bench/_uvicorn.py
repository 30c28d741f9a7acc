"""uvicorn as the bench runs every server: the same launcher for this platform and the peers.

With ``--workers`` uvicorn binds the listening socket itself with protocol 0, so asyncio
does not set TCP_NODELAY on accepted connections; a keep-alive response (headers and body
written separately) then waits ~40 ms for the client's delayed ACK (Nagle). TCP_NODELAY on
the listening socket is inherited by accepted sockets on Linux. ``onemap serve`` does the
same (services/cli/serve.py). Run as ``python bench/_uvicorn.py APP [uvicorn options]``.
"""

import socket
import sys

import uvicorn
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def _bind_socket_nodelay(self: Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


Config.bind_socket = _bind_socket_nodelay  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(uvicorn.main())
