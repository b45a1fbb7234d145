"""TCP port helpers for loopback listeners, and port reservations between starts.

``dieuhanh up`` chooses its bridge's and web page's ports as it starts, but the bridge binds
them only once Synapse answers, seconds later: two starts at once would both find the same
port free, and the second bridge could not bind it. So a start **reserves** each port it
chooses (:func:`reserve`): an exclusive ``flock`` on ``port-<n>.lock`` in a per-user lock
directory, held until the process exits — the kernel drops it when the process dies, so
there is nothing to clean up and no stale reservation. A port another start holds is
skipped, like a busy one. The directory is ``$DIEUHANH_PORT_LOCK_DIR``, else
``<temp dir>/dieuhanh-ports-<uid>`` (0700); if it cannot be used, ports are only checked
free, as before.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
LOCK_DIR_ENV = "DIEUHANH_PORT_LOCK_DIR"

#: port -> (owner, locked fd): this process's reservations
_HELD: dict[int, tuple[str, int]] = {}
_GUARD = threading.Lock()


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
    """A port the kernel reports free right now (another process may still take it:
    :func:`reserve` it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def lock_dir() -> Path | None:
    """Where reservations are kept, or None if that directory cannot be trusted."""
    path = Path(
        os.environ.get(LOCK_DIR_ENV)
        or Path(tempfile.gettempdir()) / f"dieuhanh-ports-{os.getuid()}"
    )
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        log.warning("port reservations off: %s: %s", path, exc)
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        log.warning("port reservations off: %s is not a directory of this user", path)
        return None
    return path


def _lock(port: int) -> int | None:
    """An fd holding ``port``'s lock; -1 if another process holds it; None without a lock
    directory."""
    directory = lock_dir()
    if directory is None:
        return None
    fd = os.open(directory / f"port-{port}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return -1
    return fd


def reserve(port: int, owner: str, host: str = LOOPBACK) -> bool:
    """Reserve ``port`` for ``owner`` (a data directory) until this process exits or
    :func:`keep_only` lets it go: True if no other start (another process, or another
    owner in this one) holds it and it is free now."""
    with _GUARD:
        held = _HELD.get(port)
        if held is not None and held[0] != owner:
            return False
        if held is None:
            fd = _lock(port)
            if fd == -1:
                return False
            if fd is not None:
                _HELD[port] = (owner, fd)
        if port_is_free(port, host):
            return True
        _release(port)
        return False


def keep_only(owner: str, ports: Iterable[int]) -> None:
    """Let go of ``owner``'s reservations but ``ports``."""
    wanted = set(ports)
    with _GUARD:
        for port, (holder, _fd) in list(_HELD.items()):
            if holder == owner and port not in wanted:
                _release(port)


def _release(port: int) -> None:
    held = _HELD.pop(port, None)
    if held is not None:
        os.close(held[1])  # closing the fd drops its flock
