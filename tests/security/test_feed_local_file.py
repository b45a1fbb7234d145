"""A portal's answer that is a path on the bridge's machine (``/etc/…``, ``/dev/zero``):
feedparser opens what it is given if it names a file, so the body must reach it as data,
never as a name. Found while closing issue 11's feed findings."""

from __future__ import annotations

import pytest

from bridge import feeds

from ..bridge.feedserver import rss


def test_a_body_naming_a_local_file_is_not_read(tmp_path):
    secret = tmp_path / "noi-bo.xml"
    secret.write_bytes(rss([{"guid": "bi-mat", "title": "Tệp nội bộ của máy chủ"}]))
    with pytest.raises(feeds.FeedError):
        feeds.parse(str(secret).encode(), url="https://thcs.hcm.edu.vn/rss")
