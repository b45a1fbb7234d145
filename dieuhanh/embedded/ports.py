"""TCP port helpers for loopback listeners."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a listener could bind ``host:port`` now (as Twisted/aiohttp would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like Twisted and aiohttp: sockets left in TIME_WAIT do not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel reports free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
