"""Fetch the collected report files from the homeserver's media API (authenticated media,
``/_matrix/client/v1/media/download``) with the caller's access token — ``dieuhanh
export`` passes the admin's; the bot itself never runs this. A file sent in an encrypted
room is decrypted with the key its submission kept (and its hash checked)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import quote

import aiohttp
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bot.records.export import FileRow

CONCURRENCY = 8
TIMEOUT = aiohttp.ClientTimeout(total=300, connect=10)


async def fetch_files(
    base_url: str, token: str, files: list[FileRow], folder: Path
) -> dict[str, str]:
    """Save each file at ``folder / file.path``; the ones that failed: path -> why (in
    Vietnamese). A file already there whole (its size as recorded) is kept."""
    if not files:
        return {}
    if not token:
        return {f.path: "thiếu khoá quản trị máy chủ (homeserver.admin_token)" for f in files}
    failed: dict[str, str] = {}
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:

        async def one(item: FileRow) -> None:
            async with limit:
                reason = await _fetch(session, base_url, token, item, folder / item.path)
            if reason:
                failed[item.path] = reason

        await asyncio.gather(*(one(f) for f in files))
    return failed


def media_path(mxc: str) -> str | None:
    """``mxc://server/id`` as the download path; None when it is not one."""
    if not mxc.startswith("mxc://"):
        return None
    server, _, media_id = mxc[len("mxc://") :].partition("/")
    if not server or not media_id or "/" in media_id:
        return None
    return f"/_matrix/client/v1/media/download/{quote(server, safe='')}/{quote(media_id, safe='')}"


async def _fetch(
    session: aiohttp.ClientSession, base_url: str, token: str, item: FileRow, target: Path
) -> str | None:
    """Download one file (to a temporary name, then renamed); why it failed, or None."""
    path = media_path(item.mxc)
    if path is None:
        return f"địa chỉ tệp không hợp lệ ({item.mxc or 'trống'})"
    if target.exists() and item.size is not None and target.stat().st_size == item.size:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    url = base_url.rstrip("/") + path
    try:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            if resp.status != 200:
                return f"máy chủ trả lời {resp.status} cho {item.mxc}"
            if item.encryption:
                partial.write_bytes(_decrypted(await resp.read(), item.encryption))
            else:
                with partial.open("wb") as out:
                    async for chunk in resp.content.iter_chunked(1 << 16):
                        out.write(chunk)
    except (EncryptionError, KeyError, TypeError, ValueError):
        return f"không giải mã được tệp {item.mxc} (khoá hoặc mã băm không khớp)"
    except (aiohttp.ClientError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        return f"không kết nối được máy chủ {base_url} ({type(exc).__name__})"
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return f"không ghi được tệp {target} ({exc.strerror or exc})"
    os.replace(partial, target)
    return None


def _decrypted(data: bytes, file: dict) -> bytes:
    """An encrypted attachment's content, its SHA-256 checked."""
    return decrypt_attachment(data, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
