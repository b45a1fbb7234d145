"""A staff member's request to change their own phone, kept until someone who manages
them (their principal) approves or rejects it by its code."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from provisioning.authority import authority_of
from provisioning.db.models import ContactRequest
from provisioning.domain import MANAGER_POSITIONS, primary_position
from provisioning.view import DirectoryView, PersonView
from provisioning.vocab import Position

REQUESTS = ContactRequest.__table__
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
#: no 0/O, 1/I/L: read aloud or copied from a phone screen without mistakes
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Request:
    code: str
    person_id: int
    field: str
    value: str
    requested_by: str
    status: str


def new_request(
    engine: Engine, person_id: int, field: str, value: str, by: str, at: dt.datetime
) -> str:
    """Store a pending request; its code."""
    for _ in range(10):
        code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(REQUESTS).values(
                        code=code,
                        person_id=person_id,
                        field=field,
                        value=value,
                        requested_by=by,
                        requested_at=at,
                        status=PENDING,
                    )
                )
            return code
        except IntegrityError:
            continue
    raise RuntimeError("no free request code after 10 tries")


def pending_request(engine: Engine, code: str) -> Request | None:
    """The pending request of this code (any case), if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(REQUESTS).where(
                REQUESTS.c.code == code.strip().upper(), REQUESTS.c.status == PENDING
            )
        ).first()
    if row is None:
        return None
    return Request(row.code, row.person_id, row.field, row.value, row.requested_by, row.status)


def decide(engine: Engine, code: str, status: str, by: str, at: dt.datetime) -> bool:
    """Close a pending request; False when it was no longer pending."""
    with engine.begin() as conn:
        done = conn.execute(
            update(REQUESTS)
            .where(REQUESTS.c.code == code, REQUESTS.c.status == PENDING)
            .values(status=status, decided_by=by, decided_at=at)
        )
    return done.rowcount == 1


_ORDER = list(Position)


def approvers(view: DirectoryView, person: PersonView) -> list[PersonView]:
    """Who decides on ``person``'s request: the leaders (principal first) of the nearest
    unit above or at their own whose leaders act for every unit they work in."""
    primary = primary_position(view, person)
    if primary is None:
        return []
    units = {u for u, _ in person.positions}
    for unit in (primary[1], *view.ancestors(primary[1].id)):
        found = []
        for pid in view.people_by_unit.get(unit.id, ()):
            other = view.people[pid]
            held = [p for u, p in other.positions if u == unit.id and p in MANAGER_POSITIONS]
            if not (other.active and held and other.id != person.id):
                continue
            if all(authority_of(view, other).manages(u) for u in units):
                found.append((min(_ORDER.index(p) for p in held), other.full_name, other))
        if found:
            return [p for *_, p in sorted(found, key=lambda f: f[:2])]
    return []
