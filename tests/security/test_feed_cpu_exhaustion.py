"""Issue 11, low finding "CPU exhaustion" (the feed half): a 5 MB entity-heavy feed took
107 s of CPU in feedparser. A hostile portal's document is refused before feedparser sees
it when it declares entities (in any encoding), only the newest ``max_items`` entries are
read (feedparser sees the first and last ``max_items`` only), the default size cap is
1 MB, and the HTML helpers stay linear on malformed tags.

Behaviour is asserted (refused, item counts), never time.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bridge import feeds, sanitize
from bridge.config import BridgeConfig

from ..bridge.feedserver import atom, rss

URL = "https://thcs.hcm.edu.vn/rss"
HEAD = '<?xml version="1.0" encoding="{encoding}"?>\n'


def entity_bomb(refs: int = 60_000, value: int = 1000, encoding: str = "utf-8") -> bytes:
    """One declared entity of ``value`` characters, referenced ``refs`` times (≈180 kB that
    expand to 60 MB of text): what feedparser's "safe entity" filter lets through."""
    doc = (
        HEAD.format(encoding=encoding)
        + f'<!DOCTYPE rss [\n<!ENTITY a "{"x" * value}">\n]>\n'
        + '<rss version="2.0"><channel><title>t</title><item><title>Tin</title>'
        + "<description>"
        + "&a;" * refs
        + "</description></item></channel></rss>"
    )
    return doc.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_document_declaring_entities_is_refused(encoding):
    with pytest.raises(feeds.FeedError) as refused:
        feeds.parse(entity_bomb(encoding=encoding), url=URL)
    assert refused.value.message in feeds.FAILURE_REASONS
    assert "entit" in refused.value.reason


def test_attribute_defaults_in_an_internal_subset_are_refused_too():
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ATTLIST item x CDATA "'
        + "y" * 1000
        + '">\n]>\n<rss version="2.0"><channel><title>t</title>'
        + "<item><title>a</title></item>" * 1000
        + "</channel></rss>"
    )
    with pytest.raises(feeds.FeedError):
        feeds.parse(doc.encode(), url=URL)


def test_a_plain_netscape_doctype_is_still_read():
    doc = rss([{"guid": "g1", "title": "Tin một"}]).replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss',
        1,
    )
    assert [i.title for i in feeds.parse(doc, url=URL)] == ["Tin một"]


def test_only_the_newest_entries_are_read():
    body = rss([{"guid": f"g{n}", "title": f"Tin {n}"} for n in range(500)])
    items = feeds.parse(body, url=URL, max_items=40)
    assert [i.item_id for i in items] == [f"g{n}" for n in range(40)]  # undated: as listed
    assert BridgeConfig().max_feed_items == 50
    day = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    oldest_first = [
        {"guid": f"d{n}", "title": f"Tin {n}", "date": day + dt.timedelta(hours=n)}
        for n in range(500)
    ]
    items = feeds.parse(rss(oldest_first), url=URL, max_items=40)
    assert [i.item_id for i in items] == [f"d{n}" for n in range(499, 459, -1)]
    assert len(feeds.outer_entries(rss(oldest_first), 40).split(b"<item>")) == 81


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [("utf-16", None), ("iso-8859-1", "text/xml; charset=iso-8859-1"), ("utf-8", "text/xml")],
)
def test_cutting_entries_keeps_the_text_and_atom_feeds(encoding, content_type):
    title = "Tin é" if encoding == "iso-8859-1" else "Tin tuyển sinh"
    body = rss([{"guid": f"g{n}", "title": f"{title} {n}"} for n in range(200)]).decode()
    body = body.replace('encoding="utf-8"', f'encoding="{encoding}"').encode(
        encoding, "xmlcharrefreplace"
    )
    items = feeds.parse(body, url=URL, content_type=content_type, max_items=3)
    assert [i.title for i in items] == [f"{title} {n}" for n in range(3)]
    entries = [{"id": f"urn:{n}", "title": f"Bản tin {n}"} for n in range(100)]
    items = feeds.parse(atom(entries), url=URL, max_items=5)
    assert [i.item_id for i in items] == [f"urn:{n}" for n in range(5)]


def test_the_default_size_cap_is_one_megabyte():
    assert BridgeConfig().max_feed_bytes == 1_000_000


@pytest.mark.parametrize("pattern", ["&lt;br ", "&lt;/p x", "&lt;h1 "])
def test_unclosed_tags_in_a_title_cost_linear_work(pattern):
    """``<br <br <br …`` (never closed) made the block-break regex quadratic: 1 MB of it
    took minutes; the title comes out as text."""
    title = "Tin mới " + pattern * (900_000 // len(pattern))
    body = rss([]).replace(
        b"</channel>", f"<item><guid>g</guid><title>{title}</title></item></channel>".encode()
    )
    items = feeds.parse(body, url=URL)
    assert len(items) == 1 and items[0].title.startswith("Tin mới")


def test_unclosed_tags_in_a_pushed_summary_cost_linear_work():
    text = sanitize.to_text("<p>Tin đầu</p>" + "<br " * 250_000)
    assert text.startswith("Tin đầu")
