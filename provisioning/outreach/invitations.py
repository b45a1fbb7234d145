"""Invitations to log in (``!moi``, ``dieuhanh moi``): who gets one, queueing them within
each unit's budget, and the Vietnamese sentences that say what happened.

Who: active people placed in the chosen units (or one chosen person) whose account exists
and has never been used to log in (``account_activity``). Left out, and counted: those with
no account yet, and those with no number to log in with (none, or one another active
person also has). Then, per unit that pays (``budget.payer_of``): those invited in the last
7 days, and those beyond the month's budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select

from provisioning.db.models import AccountActivity, AccountActivityCopy, MatrixAccount
from provisioning.outreach import ledger
from provisioning.outreach.budget import Budget, Outgoing, payer_of
from provisioning.outreach.ledger import INVITATION, Queued
from provisioning.view import DirectoryView


@dataclass
class Plan:
    """Who never logged in, by the unit that pays for their SMS."""

    by_payer: dict[int, list[Outgoing]] = field(default_factory=dict)
    no_account: list[int] = field(default_factory=list)
    no_phone: list[int] = field(default_factory=list)
    logged_in: list[int] = field(default_factory=list)

    @property
    def never(self) -> int:
        """People with an account who never logged in (phone or not)."""
        return sum(len(p) for p in self.by_payer.values()) + len(self.no_phone)


def plan(
    view: DirectoryView,
    user_of: Mapping[int, str],
    logged_in: AbstractSet[str],
    person_ids: Iterable[int],
) -> Plan:
    """Sort ``person_ids`` (active ones; each once) by what an invitation can do for them."""
    out = Plan()
    for pid in sorted(set(person_ids)):
        person = view.people.get(pid)
        payer = payer_of(view, person) if person is not None and person.active else None
        if person is None or payer is None:
            continue
        user_id = user_of.get(pid)
        phone = view.login_phone(person)
        if user_id is None:
            out.no_account.append(pid)
        elif user_id in logged_in:
            out.logged_in.append(pid)
        elif phone is None:
            out.no_phone.append(pid)
        else:
            out.by_payer.setdefault(payer.id, []).append(Outgoing(pid, phone))
    return out


def people_in(view: DirectoryView, unit_ids: Iterable[int]) -> set[int]:
    """Everyone holding a position in one of ``unit_ids``."""
    return {pid for u in unit_ids for pid in view.people_by_unit.get(u, ())}


@dataclass
class Outcome:
    """What queueing the invitations of a plan did, unit by paying unit."""

    plan: Plan
    units: list[Queued]

    @property
    def queued(self) -> list[int]:
        return [i for q in self.units for i in q.ids]

    def count(self, what: str) -> int:
        """People the units left out for ``what``: 'already' or 'over_budget'."""
        return sum(len(getattr(q.allotment, what)) for q in self.units)

    @property
    def chosen(self) -> int:
        return sum(len(q.allotment.chosen) for q in self.units)


def queue_invitations(
    engine: Engine,
    view: DirectoryView,
    planned: Plan,
    budget: Budget,
    text: str,
    now: dt.datetime,
    by: str,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Queue one invitation per person of ``planned`` that the rules allow (one transaction
    per paying unit); with ``dry_run`` only say what would be queued."""
    limits = {unit_id: budget.of(view.units[unit_id]) for unit_id in planned.by_payer}
    units = ledger.queue_many(
        engine,
        kind=INVITATION,
        ref=None,
        by_payer=planned.by_payer,
        limits=limits,
        text=text,
        now=now,
        by=by,
        dry_run=dry_run,
    )
    return Outcome(planned, units)


@dataclass(frozen=True)
class Accounts:
    """What the CLI reads where the bot has its caches: accounts, and who logged in."""

    user_of: dict[int, str]  # person id -> user id (created, not deactivated)
    logged_in: frozenset[str]  # accounts that have logged in
    known: bool  # whether the login module has copied who logged in at all


def read_accounts(engine: Engine) -> Accounts:
    """Accounts and logins from the directory (``matrix_accounts``, ``account_activity``)."""
    a, m = AccountActivity, MatrixAccount
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.person_id, m.user_id).where(m.created.is_(True), m.deactivated.is_(False))
        )
        user_of = {person_id: user_id for person_id, user_id in rows}
        logged_in = frozenset(
            conn.scalars(
                select(a.user_id).where(
                    or_(a.first_login_at.is_not(None), a.last_seen_at.is_not(None))
                )
            )
        )
        known = conn.scalar(select(AccountActivityCopy.copied_at)) is not None
    return Accounts(user_of, logged_in, known)
