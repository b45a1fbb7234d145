"""account_activity: the login module's copy of who has logged in and when each account was
last seen — the pure diff, the directory side (SQLite and PostgreSQL), and the module in a
real Synapse (on SQLite and on PostgreSQL, with the directory on the same kind)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from provisioning.db.models import AccountActivity, AccountActivityCopy
from provisioning.identity.activity import ActivityCopy, Row, Seen, changes

from ..conftest import running_synapse
from ..waiting import eventually
from .test_login import code_for, fake_ip, http, login, national, provision

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


# ------------------------------------------------------------------ the pure diff


def test_a_new_session_records_the_earliest_use_on_record_as_the_first_login():
    earlier = NOW - dt.timedelta(days=3)
    rows = changes({}, {"@a:x": Seen(1, ms(earlier), ms(NOW))}, NOW)
    assert rows == {"@a:x": Row(earlier, NOW, 1)}


def test_a_session_not_used_yet_counts_as_a_login_now():
    assert changes({}, {"@a:x": Seen(1, None, None)}, NOW) == {"@a:x": Row(NOW, None, 1)}


def test_logging_out_everywhere_keeps_the_first_login_and_the_last_seen():
    old = Row(NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=1), 2)
    assert changes({"@a:x": old}, {}, NOW) == {"@a:x": Row(old.first_login_at, old.last_seen_at, 0)}


def test_an_unchanged_account_writes_nothing_and_last_seen_never_goes_back():
    old = Row(NOW - dt.timedelta(days=9), NOW, 1)
    pruned = Seen(1, None, ms(NOW - dt.timedelta(days=2)))  # user_ips pruned meanwhile
    assert changes({"@a:x": old}, {"@a:x": pruned}, NOW) == {}
    assert changes({"@b:x": Row(None, None, 0)}, {}, NOW) == {}


# ------------------------------------------------------------------ the directory side


def _rows(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        query = select(
            AccountActivity.user_id,
            AccountActivity.first_login_at,
            AccountActivity.last_seen_at,
            AccountActivity.devices,
        )
        return {u: (first, last, n) for u, first, last, n in conn.execute(query)}


def test_rounds_and_logins_upsert_in_bulk_and_keep_the_first_login(engine):
    copy = ActivityCopy(engine.url.render_as_string(hide_password=False))
    try:
        seen = {f"@u{i}:x": Seen(1, ms(NOW), ms(NOW)) for i in range(1200)}  # > one chunk
        assert copy.round(seen, NOW) == 1200
        later = NOW + dt.timedelta(minutes=5)
        copy.record_login("@u0:x", later)  # already known: unchanged
        copy.record_login("@new:x", later)
        assert copy.round({"@u1:x": Seen(2, ms(NOW), ms(later))}, later) == 1200
        rows = _rows(engine)
        assert rows["@u0:x"] == (NOW, NOW, 0)
        assert rows["@u1:x"] == (NOW, later, 2)
        assert rows["@new:x"] == (later, None, 0)
        with engine.connect() as conn:
            copied = conn.execute(select(AccountActivityCopy.id, AccountActivityCopy.copied_at))
            assert copied.all() == [(1, later)]  # one row, moved on by each round
    finally:
        if copy._engine is not None:
            copy._engine.dispose()


# ------------------------------------------------------------------ in a real Synapse


def _directory_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _logout(synapse, token: str) -> None:
    status, _ = http(
        synapse,
        "POST",
        "/_matrix/client/v3/logout",
        b"{}",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 200


def _whoami(synapse, token: str) -> dict[str, Any]:
    status, body = http(
        synapse,
        "GET",
        "/_matrix/client/v3/account/whoami",
        None,
        {"Authorization": f"Bearer {token}", "X-Forwarded-For": fake_ip()},
    )
    assert status == 200
    return json.loads(body)


def test_the_module_copies_who_logged_in_from_synapse(engine, tmp_path):
    backend = engine.dialect.name

    def edit(raw: dict[str, Any]) -> None:
        raw.setdefault("database", {})["url"] = _directory_url(engine)
        raw.setdefault("login", {})["activity_interval_seconds"] = 1

    with running_synapse(tmp_path / "hs", edit, database=backend) as synapse:
        (active, a_phone), (left, l_phone), (never, _) = (provision(synapse) for _ in range(3))
        sessions = {}
        for user_id, phone in ((active, a_phone), (left, l_phone)):
            status, body = login(
                synapse, {"type": "m.id.user", "user": national(phone)}, code_for(synapse, phone)
            )
            assert status == 200 and body["user_id"] == user_id, body
            sessions[user_id] = body["access_token"]
        assert _whoami(synapse, sessions[active])["user_id"] == active
        _logout(synapse, sessions[left])

        def copied() -> dict[str, tuple] | None:
            rows = _rows(engine)
            a, b = rows.get(active), rows.get(left)
            if a and a[0] and a[1] and a[2] == 1 and b and b[0] and b[2] == 0:
                return rows
            return None

        rows = eventually(copied, 60, "account_activity to show the two logins")
        assert never not in rows
        assert rows[active][1] >= rows[active][0] - dt.timedelta(seconds=5)
