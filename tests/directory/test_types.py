"""UtcDateTime: aware UTC out of SQLite and PostgreSQL alike; naive values refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from provisioning.db.types import UtcDateTime

VN = dt.timezone(dt.timedelta(hours=7))


def test_times_come_back_aware_in_utc(engine):
    table = Table("t_times", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UtcDateTime))  # fmt: skip
    table.create(engine)
    local = dt.datetime(2026, 12, 1, 8, 30, tzinfo=VN)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=local))
        back = conn.scalar(select(table.c.at))
        with pytest.raises(StatementError):
            conn.execute(insert(table).values(id=2, at=dt.datetime(2026, 12, 1, 8, 30)))
    assert back == local and back.tzinfo == dt.UTC and back.hour == 1
    table.drop(engine)
