"""What a staff import does with contact corrections made in chat.

An import wins over a chat correction only if the person's rows changed since the last
import of the same scope: each import keeps a digest of every person's rows
(``person_imports``), and a person corrected in chat since then whose rows hash the same
is left as chat made them. Every change an import makes to someone already in the
directory (phone, positions, departure, return) goes into their history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from provisioning.contacts.change import ACTIVE, DEPARTED, PHONE, POSITION, WORKING, shown_phone
from provisioning.contacts.history import CHANGES, CHAT, IMPORT, Author, record
from provisioning.db.models import PersonImport, Unit
from provisioning.vocab import Position, label

IMPORTS = PersonImport.__table__
Held = Mapping[int, Mapping[tuple[int, str], int]]  # person id -> {(unit id, position): row}


def digest(values: Mapping[str, Any], positions: Iterable[tuple[int, str]]) -> str:
    """A fingerprint of one person's rows in a staff file (values and positions)."""
    data = {
        "values": {k: str(v) for k, v in sorted(values.items()) if k != "phone_raw"},
        "positions": sorted([unit_id, position] for unit_id, position in positions),
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def kept_from_chat(
    conn: Connection, digests: Mapping[str, str], person_id: Mapping[str, int], scope: str
) -> set[str]:
    """Codes of people corrected in chat since the last import of ``scope`` whose rows
    have not changed since then (``digests``: code -> digest of this import's rows).
    "Since" compares the directory's revisions, not clocks."""
    last = {
        row.person_id: row for row in conn.execute(select(IMPORTS).where(IMPORTS.c.scope == scope))
    }
    corrected = dict(
        conn.execute(
            select(CHANGES.c.person_id, func.max(CHANGES.c.revision))
            .where(CHANGES.c.source == CHAT)
            .group_by(CHANGES.c.person_id)
        ).all()
    )
    kept = set()
    for code, new_digest in digests.items():
        pid = person_id.get(code)
        before = last.get(pid)
        if before is None or pid not in corrected or before.digest != new_digest:
            continue
        if corrected[pid] > before.revision:
            kept.add(code)
    return kept


def save_digests(
    conn: Connection,
    digests: Mapping[str, str],
    person_id: Mapping[str, int],
    scope: str,
    now: dt.datetime,
    revision: int,
) -> None:
    """Remember this import's digest of every person it listed (and the directory's
    ``revision`` before it)."""
    ids = [person_id[code] for code in digests]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(
            delete(IMPORTS).where(IMPORTS.c.scope == scope, IMPORTS.c.person_id.in_(chunk))
        )
    rows = [
        {
            "person_id": person_id[code],
            "scope": scope,
            "digest": d,
            "imported_at": now,
            "revision": revision,
        }
        for code, d in digests.items()
    ]
    if rows:
        conn.execute(insert(IMPORTS), rows)


def record_import(
    conn: Connection,
    before: Mapping[str, Any],
    held_before: Held,
    after: Mapping[str, Any],
    held_after: Held,
    source: str,
    now: dt.datetime,
    revision: int,
) -> None:
    """History lines for what the import changed of people it found in the directory."""
    names = dict(conn.execute(select(Unit.id, Unit.name)).all())
    by = Author(f"nhập tệp {source}")
    for code, old in before.items():
        new = after.get(code)
        if new is None:
            continue
        if old.phone != new.phone:
            record(
                conn,
                old.id,
                PHONE,
                shown_phone(old.phone),
                shown_phone(new.phone),
                by,
                IMPORT,
                now,
                revision,
            )
        was, now_held = set(held_before.get(old.id, {})), set(held_after.get(old.id, {}))
        if was != now_held:
            record(
                conn,
                old.id,
                POSITION,
                _shown(was, names),
                _shown(now_held, names),
                by,
                IMPORT,
                now,
                revision,
            )
        if old.active != new.active:
            shown = (WORKING, DEPARTED) if old.active else (DEPARTED, WORKING)
            record(conn, old.id, ACTIVE, *shown, by, IMPORT, now, revision)


def _shown(positions: set[tuple[int, str]], names: Mapping[int, str]) -> str | None:
    """ "Giáo viên (Trường THCS Đỗ Văn Dậy); Tổ trưởng chuyên môn (Tổ Toán)" """
    shown = sorted(f"{label(Position(p))} ({names.get(u, u)})" for u, p in positions)
    return "; ".join(shown) or None
