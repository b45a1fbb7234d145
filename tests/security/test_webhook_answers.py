"""A failed webhook delivery is explained to the portal with a fixed Vietnamese reason;
the internal error (exception text, room ids, addresses) stays in our logs."""

from __future__ import annotations

import datetime as dt

from bridge.db.item import NewsItem
from bridge.delivery import SEND_FAILED, Outcome


def test_a_failed_delivery_answers_without_internal_details():
    now = dt.datetime(2025, 9, 5, tzinfo=dt.UTC)
    item = NewsItem(1, "thcs-dvd", "123", "webhook", "Lễ khai giảng", None, "", "", None, now, now)
    internal = "ClientConnectorError: Cannot connect to host 10.0.0.5:8008 (!abc:server)"
    answer = Outcome(item, "thcs-dvd", "failed", reason=SEND_FAILED, error=internal).to_json()
    assert answer == {"item": "123", "unit": "thcs-dvd", "reason": SEND_FAILED}
    assert "10.0.0.5" not in repr(answer)
