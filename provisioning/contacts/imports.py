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
    shown = tuple(sorted((k, repr(v)) for k, v in values.items() if k != "phone_raw"))
    text = repr((shown, tuple(sorted(positions))))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def kept_from_chat(
    conn: Connection, digests: Mapping[str, str], person_id: Mapping[str, int], scope: str
) -> tuple[set[str], set[str]]:
    """People whose rows hash as at the last import of ``scope`` (``digests``: code ->
    digest of this import's rows), and those of them corrected in chat since then, whom
    the import leaves alone. "Since" compares the directory's revisions, not clocks."""
    last = {
        row.person_id: (row.digest, row.revision)
        for row in conn.execute(
            select(IMPORTS.c.person_id, IMPORTS.c.digest, IMPORTS.c.revision).where(
                IMPORTS.c.scope == scope
            )
        )
    }
    corrected = dict(
        conn.execute(
            select(CHANGES.c.person_id, func.max(CHANGES.c.revision))
            .where(CHANGES.c.source == CHAT)
            .group_by(CHANGES.c.person_id)
        ).all()
    )
    unchanged, kept = set(), set()
    for code, new_digest in digests.items():
        pid = person_id.get(code)
        held, revision = last.get(pid, (None, 0))
        if held != new_digest:
            continue
        unchanged.add(code)
        if corrected.get(pid, -1) > revision:
            kept.add(code)
    return unchanged, kept


def save_digests(
    conn: Connection,
    digests: Mapping[str, str],
    person_id: Mapping[str, int],
    scope: str,
    now: dt.datetime,
    revision: int,
) -> None:
    """Remember the digests of the people whose rows are new or changed (and the
    directory's ``revision`` before this import): an unchanged digest keeps the revision
    of the import that brought it, which is what a later chat correction is compared to."""
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
