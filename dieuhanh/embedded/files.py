"""Small file helpers: atomic writes that leave unchanged files untouched."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``path`` atomically unless it already holds exactly that.

    Returns True when the file was (re)written. The mode is enforced either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        if (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)  # O_CREAT's mode is filtered by the umask
    os.replace(tmp, path)
    return True


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """The secret stored in ``path``; generated once (URL-safe text, mode 0600)."""
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)
    write_if_changed(path, value + "\n", SECRET_MODE)
    return value


def tail(path: Path, lines: int = 40, start: int = 0) -> str:
    """The last ``lines`` lines of a text file after byte ``start``; "" if it is missing."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(start, size - 64 * 1024) if start <= size else 0)
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
