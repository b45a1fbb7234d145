"""The bridge's pure core, without any server: sanitising, feed parsing and item ids, the
posts, authority, the webhook's body rules, backoff, and the schema against its migration."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import pkgutil
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge import authority, feeds, post, sanitize
from bridge import directory as directory_module
from bridge.config import BridgeConfig
from bridge.db.feed import Feed
from bridge.db.item import NewsItem
from bridge.db.media import Image
from bridge.directory import BridgeDirectory
from bridge.ghosts import ghost_localpart
from bridge.poller import backoff
from bridge.webhook import BadRequest, parse_body
from dieuhanh.db import open_database
from provisioning.db.models import Base
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Level, Ownership, Position, UnitKind

from .feedserver import atom, rss

# ------------------------------------------------------------------------------ sanitising

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<p onclick="alert(1)" style="background:url(javascript:alert(1))">x</p>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>*{x:expression(alert(1))}</style>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<!--<script>alert(1)</script>-->",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_summaries_lose_every_script_vector(attack):
    for cleaned in (sanitize.clean_summary(attack), sanitize.clean_message(attack)):
        low = cleaned.lower()
        for bad in ("<script", "onerror", "onclick", "javascript", "vbscript", "data:", "alert"):
            assert bad not in low, (attack, cleaned)
        assert "<iframe" not in low and "<style" not in low and "style=" not in low


def test_summaries_keep_simple_formatting_and_web_links():
    html = (
        '<p>Xin <b>chào</b> <i>các</i> <a href="https://thcs.hcm.edu.vn/a?b=1&amp;c=2">em</a>'
        '<a href="mailto:vp@thcs.hcm.edu.vn">thư</a><br><ul><li>một</li></ul></p>'
    )
    cleaned = sanitize.clean_summary(html)
    assert "<b>chào</b>" in cleaned and "<li>một</li>" in cleaned
    assert 'href="https://thcs.hcm.edu.vn/a?b=1&amp;c=2"' in cleaned
    assert 'href="mailto:vp@thcs.hcm.edu.vn"' in cleaned


def test_only_mxc_images_reach_a_message():
    cleaned = sanitize.clean_message('<img src="https://e.vn/a.png"><img src="mxc://s/abc">')
    assert cleaned == '<img><img src="mxc://s/abc">'


def test_plain_text_and_trimming():
    text = sanitize.to_text("<p>Một</p><p>hai&nbsp;&amp; ba</p><script>x()</script>")
    assert text == "Một hai & ba"
    text = "Lễ khai giảng năm học mới diễn ra trang trọng tại sân trường"
    assert sanitize.trim(text, 30) == "Lễ khai giảng năm học mới…"
    assert len(sanitize.trim(text, 30)) <= 30
    assert sanitize.trim("ngắn", 30) == "ngắn"


# ------------------------------------------------------------------------------ feeds

DAY = dt.datetime(2025, 9, 1, 1, 0, tzinfo=dt.UTC)


def test_rss_items_ids_links_dates_images_newest_first():
    body = rss(
        [
            {"guid": "g-1", "title": "Một", "link": "/tin/1", "date": DAY},
            {"title": "Hai", "link": "https://p.vn/tin/2", "date": DAY + dt.timedelta(days=2)},
            {"title": "Ba", "description": "<p>Chỉ có nội dung</p>"},
            {
                "guid": "g-4",
                "title": "Bốn",
                "description": '<p><img src="/anh/4.jpg">Ảnh</p>',
                "date": DAY + dt.timedelta(days=1),
            },
        ],
        link="https://p.vn/",
    )
    items = feeds.parse(body, url="https://p.vn/rss", content_type="application/rss+xml")
    assert [i.title for i in items] == ["Hai", "Bốn", "Một", "Ba"]
    by = {i.title: i for i in items}
    assert by["Một"].item_id == "g-1"  # guid
    assert by["Hai"].item_id == "https://p.vn/tin/2"  # else the link
    assert by["Ba"].item_id.startswith("sha256:")  # else a hash of what it says
    assert by["Một"].link == "https://p.vn/tin/1"  # relative links resolved
    assert by["Bốn"].image_url == "https://p.vn/anh/4.jpg"  # the first <img>
    assert by["Hai"].published == DAY + dt.timedelta(days=2)
    # the same document gives the same ids (restarts, other processes)
    again = feeds.parse(body, url="https://p.vn/rss", content_type="application/rss+xml")
    assert [i.item_id for i in again] == [i.item_id for i in items]


def test_atom_entries():
    entry = {"id": "urn:a:1", "title": "Tin A", "link": "https://a.vn/1", "date": DAY}
    [item] = feeds.parse(atom([{**entry, "summary": "Xin <i>chào</i>"}]), url="https://a.vn/a")
    assert (item.item_id, item.link) == ("urn:a:1", "https://a.vn/1")
    assert item.summary_html == "Xin <i>chào</i>"


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Not found</body></html>", b"\x00\x01\x02garbage", b"", b'{"json": 1}'],
)
def test_documents_that_are_not_feeds_are_refused(body):
    with pytest.raises(feeds.FeedError) as refused:
        feeds.parse(body, url="https://p.vn/rss")
    assert "RSS" in refused.value.message


# ------------------------------------------------------------------------------ posts


def _item(**kw) -> NewsItem:
    values = {
        "id": 1,
        "unit_code": "thcs-dvd",
        "item_id": "g-1",
        "source": "feed",
        "title": "Lễ khai giảng năm học 2025-2026",
        "link": "https://thcsdovanday.hcm.edu.vn/tin/khai-giang",
        "summary_html": "<p>Sáng 5/9, trường tổ chức <b>lễ khai giảng</b>.</p>",
        "summary_text": "Sáng 5/9, trường tổ chức lễ khai giảng.",
        "image_url": None,
        "published_at": dt.datetime(2025, 9, 4, 23, 30, tzinfo=dt.UTC),  # 06:30 on 5/9 in HCMC
        "first_seen_at": dt.datetime(2025, 9, 5, 1, 0, tzinfo=dt.UTC),
    }
    values.update(kw)
    return NewsItem(**values)


def test_an_item_post_has_title_link_date_summary_and_read_more():
    content = post.item_message(_item(), 400)
    assert content["body"] == (
        "Lễ khai giảng năm học 2025-2026\n"
        "05/09/2025\n"
        "Sáng 5/9, trường tổ chức lễ khai giảng.\n"
        "Xem tiếp: https://thcsdovanday.hcm.edu.vn/tin/khai-giang"
    )
    assert content["formatted_body"] == (
        '<p><strong><a href="https://thcsdovanday.hcm.edu.vn/tin/khai-giang">'
        "Lễ khai giảng năm học 2025-2026</a></strong><br><em>05/09/2025</em></p>"
        "<p>Sáng 5/9, trường tổ chức <b>lễ khai giảng</b>.</p>"
        '<p><a href="https://thcsdovanday.hcm.edu.vn/tin/khai-giang">Xem tiếp</a></p>'
    )
    assert content["msgtype"] == "m.text" and content["m.mentions"] == {}
    assert content[post.NEWS_KEY] == {
        "unit": "thcs-dvd",
        "item_id": "g-1",
        "link": "https://thcsdovanday.hcm.edu.vn/tin/khai-giang",
    }


def test_a_long_summary_is_trimmed_to_text_and_titles_are_escaped():
    long = "Nội dung rất dài. " * 60
    content = post.item_message(
        _item(title="A <b>&</b> B", summary_html=f"<p>{long}</p>", summary_text=long.strip()),
        100,
    )
    assert "<strong><a href" in content["formatted_body"]
    assert "A &lt;b&gt;&amp;&lt;/b&gt; B" in content["formatted_body"]
    summary = content["body"].splitlines()[2]
    assert summary.endswith("…") and len(summary) <= 100


def test_image_post_and_failure_notice():
    image = Image("mxc://s/abc", "image/png", 1234, 40, 30, "khai-giang.png")
    content = post.image_message(_item(), image)
    assert content["url"] == "mxc://s/abc"
    assert content["info"] == {"mimetype": "image/png", "size": 1234, "w": 40, "h": 30}
    notice = post.failure_notice(
        "Trường THCS Đỗ Văn Dậy",
        "https://thcsdovanday.hcm.edu.vn/rss",
        "máy chủ cổng thông tin trả lời lỗi HTTP 500",
        dt.datetime(2025, 9, 5, 1, 0, tzinfo=dt.UTC),
        4,
        [("@nguyenvanan:s", "Nguyễn Văn An")],
    )
    assert notice["m.mentions"] == {"user_ids": ["@nguyenvanan:s"]}
    assert notice["body"].startswith("Nguyễn Văn An: Không lấy được tin tức")
    assert "lỗi 4 lần liên tiếp từ 08:00 05/09/2025" in notice["body"]
    assert (
        '<a href="https://matrix.to/#/@nguyenvanan:s">Nguyễn Văn An</a>'
        in (notice["formatted_body"])
    )


def test_ghost_localparts():
    assert ghost_localpart("cong_", "79760401") == "cong_79760401"
    assert ghost_localpart("cong_", "thcs-dvd") == "cong_thcs-dvd"
    lossy = ghost_localpart("cong_", "THCS Đỗ Văn")
    assert lossy.startswith("cong_thcs-do-van-") and lossy != ghost_localpart(
        "cong_", "thcs-do-van"
    )


# ------------------------------------------------------------------------------ authority


def _view() -> DirectoryView:
    def unit(i, code, kind, parent=None, level=None):
        own = Ownership.PUBLIC if kind is UnitKind.SCHOOL else None
        return UnitView(i, code, code.upper(), parent, kind, level, own, None, None, True)

    units = [
        unit(1, "so", UnitKind.DEPARTMENT),
        unit(2, "xa", UnitKind.COMMUNE, 1),
        unit(3, "thcs1", UnitKind.SCHOOL, 2, Level.THCS),
        unit(4, "mn1", UnitKind.SCHOOL, 2, Level.MN),
        unit(5, "toan", UnitKind.TEAM, 3),
        unit(6, "thpt1", UnitKind.SCHOOL, 1, Level.THPT),
    ]

    def person(i, unit_id, position):
        at = [(unit_id, position)]
        return PersonView(i, f"p{i}", f"P {i}", f"p {i}", None, None, None, None, True, at)

    people = [
        person(1, 3, Position.PRINCIPAL),
        person(2, 3, Position.VICE_PRINCIPAL),
        person(3, 3, Position.TEACHER),
        person(4, 5, Position.TEAM_LEADER),
        person(5, 2, Position.HEAD),
        person(6, 2, Position.SPECIALIST),
        person(7, 1, Position.DIRECTOR),
    ]
    return DirectoryView(units, people, {})


def test_who_may_send_where():
    view = _view()
    assert authority.token_scope(view, "xa") == {"xa", "thcs1", "mn1", "toan"}
    assert authority.token_scope(view, "thcs1") == {"thcs1", "toan"}
    assert authority.token_scope(view, "unknown") == set()
    scope = {pid: authority.person_scope(view, view.people[pid]) for pid in view.people}
    assert scope[1] == scope[2] == {"thcs1", "toan"}  # HT and PHT: their school
    assert scope[3] == scope[4] == set()  # a teacher, a tổ trưởng: nothing
    assert scope[5] == scope[6] == {"xa", "thcs1", "mn1", "toan"}  # anyone at the xã
    assert scope[7] == {u.code for u in view.units.values()}  # the Sở: everything
    assert authority.outside(scope[5], ["mn1", "thpt1", "x", "thpt1"]) == ["thpt1", "x"]


# ------------------------------------------------------------------------------ webhook


def test_webhook_bodies():
    items, targets = parse_body(
        {
            "items": [
                {
                    "id": 17,
                    "title": " <b>Tin</b> mới ",
                    "content_html": "<p onclick=x>a</p>",
                    "published": "2025-09-05T07:30:00",
                }
            ],
            "targets": ["a", "b", "a"],
        }
    )
    assert targets == ["a", "b"]
    assert items[0]["id"] == "17"
    fields = items[0]["fields"]
    assert fields["title"] == "Tin mới" and fields["summary_html"] == "<p>a</p>"
    assert fields["published"] == dt.datetime(2025, 9, 5, 0, 30, tzinfo=dt.UTC)  # +07 assumed
    with pytest.raises(BadRequest) as bad:
        parse_body(
            {"items": [{"id": "x", "title": "t", "image": "file:///etc/x"}], "targets": ["a"]}
        )
    assert bad.value.field == "items[0].image"


def test_backoff_doubles_from_the_interval_up_to_the_cap():
    settings = BridgeConfig(poll_interval_seconds=900, max_backoff_seconds=6 * 3600)
    assert [backoff(settings, n) for n in range(1, 7)] == [900, 1800, 3600, 7200, 14400, 21600]


# ------------------------------------------------------------------------------ schema


def test_the_bridge_migrations_match_its_models(tmp_path):
    import bridge.db
    from bridge.db import models

    for module in pkgutil.iter_modules(bridge.db.__path__):  # every table module, listed or not
        importlib.import_module(f"bridge.db.{module.name}")
    tables = {name for name in Base.metadata.tables if name.startswith("bridge_")}
    listed = {getattr(models, name).__tablename__ for name in models.__all__ if name != "Base"}
    assert listed == tables, "bridge/db/models.py must list every table of the bridge"

    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in diff if "bridge_" in repr(d) and "alembic_version" not in repr(d)] == []


def test_times_come_back_aware_in_utc_from_sqlite(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    in_hanoi = DAY.astimezone(post.VIETNAM)
    later = in_hanoi + dt.timedelta(hours=1)

    async def main() -> list[Feed]:
        await Feed.sync(engine, {"u1": "https://u1.example/rss"}, in_hanoi)
        await Feed.record_failure(engine, "u1", in_hanoi, "HTTP 500", later)
        return await Feed.all(engine)

    try:
        [feed] = asyncio.run(main())
    finally:
        engine.dispose()
    assert feed.next_poll_at == DAY + dt.timedelta(hours=1)
    assert feed.failing_since == DAY
    assert feed.next_poll_at.tzinfo is dt.UTC and feed.failing_since.tzinfo is dt.UTC


# ------------------------------------------------------------------------------ event loop


def test_the_directory_view_loads_off_the_event_loop(tmp_path, monkeypatch):
    """The load waits for the loop to go on: on the loop, it would wait in vain."""
    started, released = threading.Event(), threading.Event()
    real_load = directory_module.load_view

    def load_view(engine):
        started.set()
        if not released.wait(30):
            raise AssertionError("the event loop was blocked while the view loaded")
        return real_load(engine)

    monkeypatch.setattr(directory_module, "load_view", load_view)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")

    async def main() -> DirectoryView:
        loading = asyncio.create_task(BridgeDirectory(engine).view())
        assert await asyncio.to_thread(started.wait, 30)
        released.set()  # only possible while the load runs elsewhere
        return await loading

    try:
        view = asyncio.run(main())
    finally:
        engine.dispose()
    assert view.by_code == {}
