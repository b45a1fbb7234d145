"""Issue 11, finding 6: SSRF from feeds, redirects and lead images.

The bridge fetches URLs that portals choose (feed URLs from the units file, redirects, lead
images). None of them may reach loopback, private, link-local, unique-local, CGNAT,
multicast or reserved addresses, in any IPv4-mapped / NAT64 / 6to4 form, on any hop, after
DNS resolution. What managers are told about a failing feed names none of it.

Every connection in this module goes to loopback: the "public" portal is a second local
server on 127.0.0.2, let through by ``bridge.allowed_networks``; what must be refused is
the feed server on 127.0.0.1 (and ``localhost``), which counts the requests it gets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket

import aiohttp
import pytest
import pytest_asyncio

from bridge import feeds
from bridge.service import BridgeService
from dieuhanh.db import open_database
from provisioning.db.threads import utcnow

# This module's own district and portals: its feeds fail on purpose.
from tests.bridge.conftest import feed_server, news_world  # noqa: F401
from tests.bridge.feedserver import FeedServer, png, rss

PORTAL_HOST = "127.0.0.2"  # stands for a public portal (allowed_networks lets it through)
TOKEN = "ssrf-" + "k" * 32

# ------------------------------------------------------------------------------ the check

REFUSED = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "100.64.0.1",  # CGNAT shared space (RFC 6598): refused
    "100.100.100.200",  # a cloud's metadata address inside 100.64.0.0/10
    "100.127.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:a00:1",  # IPv4-translated (SIIT)
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",  # cloud metadata over IPv6
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "5f00::1",
    "not an address",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "14.225.0.10",
    "113.160.1.1",
    "203.162.4.191",
    "100.63.255.255",  # just below 100.64.0.0/10
    "100.128.0.1",  # just above
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "2001:4860:4860::8888",
    "2404:6800:4005:80a::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 (DNS64 networks) of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize("address", REFUSED)
def test_the_check_refuses_internal_addresses_in_every_form(address):
    from bridge.outbound import AddressPolicy

    assert AddressPolicy().problem(address) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_the_check_lets_public_addresses_through(address):
    from bridge.outbound import AddressPolicy

    assert AddressPolicy().problem(address) is None


def test_allow_private_and_allowed_networks():
    from bridge.outbound import AddressPolicy

    on_premise = AddressPolicy(allowed_networks="10.20.0.0/16, fd12::/64")
    assert on_premise.problem("10.20.3.4") is None
    assert on_premise.problem("fd12::5") is None
    assert on_premise.problem("10.21.0.1") is not None
    assert on_premise.problem("169.254.169.254") is not None
    assert AddressPolicy(allow_private=True).problem("169.254.169.254") is None
    with pytest.raises(ValueError):
        AddressPolicy(allowed_networks="10.0.0.0/33")


class StubResolver(aiohttp.abc.AbstractResolver):
    """A DNS that answers what the test says (the addresses are loopback ones)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        return [
            {"hostname": host, "host": ip, "port": port, "family": socket.AF_INET}
            | {"proto": 0, "flags": socket.AI_NUMERICHOST}
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        pass


def twin_servers() -> tuple[FeedServer, FeedServer]:
    """A "public" portal on 127.0.0.2 and an inside server on 127.0.0.1, the same port."""
    for _ in range(50):
        portal = FeedServer(host=PORTAL_HOST)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", portal.port))
            except OSError:
                continue
        inside = FeedServer()
        inside.port = portal.port
        return portal.start(), inside.start()
    raise AssertionError("no port free on both loopback addresses")


async def test_a_name_is_connected_only_to_the_addresses_that_passed():
    """A name answering a forbidden and an allowed address: only the allowed one is used;
    a name answering only forbidden ones is refused, and nothing reaches them."""
    from bridge.outbound import AddressPolicy, portal_session

    portal, inside = twin_servers()
    for server in (portal, inside):
        server.feed("/rss", body=rss([]))
    policy = AddressPolicy(allowed_networks=f"{PORTAL_HOST}/32")
    mixed = StubResolver({"portal.test": ["127.0.0.1", PORTAL_HOST, "127.0.0.1"]})
    inner = StubResolver({"portal.test": ["127.0.0.1"], "meta.test": ["169.254.169.254"]})
    try:
        async with portal_session(policy, limit=4, resolver=mixed) as session:
            for _ in range(3):
                got = await _fetch(session, f"http://portal.test:{portal.port}/rss")
                assert got.status == 200
        async with portal_session(policy, limit=4, resolver=inner) as session:
            for host in ("portal.test", "meta.test"):
                with pytest.raises(feeds.FeedError) as refused:
                    await _fetch(session, f"http://{host}:{portal.port}/rss")
                assert "refused" in refused.value.reason
    finally:
        portal.stop()
        inside.stop()
    assert portal.feeds["/rss"].requests == 3
    assert inside.feeds["/rss"].requests == 0


async def _fetch(session, url: str) -> feeds.FetchResult:
    return await feeds.fetch(
        session, url, etag=None, last_modified=None, timeout=5, max_bytes=1_000_000
    )


# ------------------------------------------------------------------------------ the bridge


class Guarded:
    """The bridge in this process with the default policy (allow_private_addresses false),
    the 127.0.0.2 "public" portal let through by allowed_networks."""

    def __init__(self, nw) -> None:
        self.nw = nw
        self.config = nw.config(
            allow_private_addresses=False,
            allowed_networks=f"{PORTAL_HOST}/32",
            webhook_tokens={nw.u("thcs2"): TOKEN},
        )
        self.clock = utcnow()
        self.portal = FeedServer(host=PORTAL_HOST)

    async def start(self) -> None:
        self.portal.start()
        self.engine = open_database(self.nw.db_url)
        self.service = BridgeService(self.config, self.engine)
        await self.service.start(poll=False)

    async def stop(self) -> None:
        await self.service.stop()
        self.engine.dispose()
        self.portal.stop()

    async def poll(self):
        self.clock += dt.timedelta(days=1)
        return {r.unit_code: r for r in await self.service.poller.poll_due(self.clock)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guarded(news_world):  # noqa: F811
    g = Guarded(news_world)
    await g.start()
    yield g
    await g.stop()


async def test_a_feed_on_a_loopback_address_is_refused_without_a_connection(guarded):
    nw = guarded.nw
    results = await guarded.poll()
    assert results[nw.u("thcs1")].status == "failed", results[nw.u("thcs1")]
    assert "refused" in results[nw.u("thcs1")].error
    assert {path: feed.requests for path, feed in nw.server.feeds.items()} == {
        path: 0 for path in nw.server.feeds
    }


async def test_managers_are_told_a_fixed_reason_without_internal_details(guarded):
    nw = guarded.nw
    for _ in range(guarded.config.bridge.failure_report_after):
        await guarded.poll()
    notices = await asyncio.to_thread(nw.notices, "thcs1")
    assert len(notices) == 1, await asyncio.to_thread(nw.dump, "thcs1")
    content = notices[0]["content"]
    url = nw.server.url("/thcs1/rss.xml")  # the managers' own RSS column is quoted back
    for text in (content["body"], content["formatted_body"]):
        rest = text.replace(url, "<url>")
        assert not re.search(r"\d+\.\d+\.\d+\.\d+|::1|localhost", rest), rest
        assert str(nw.server.port) not in rest
        for leak in ("Errno", "Connect", "refused", "Forbidden", "ssl:", "[", "Error"):
            assert leak not in rest, rest
    assert any(reason in content["body"] for reason in feeds.FAILURE_REASONS), content["body"]
    assert nw.server.feeds["/thcs1/rss.xml"].requests == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_a_redirect_to_a_forbidden_address_is_refused(guarded, host):
    nw = guarded.nw
    inside = nw.server.feed("/inside", body=rss([]))
    path = f"/hop-{host.strip('[]').replace(':', '-')}"
    start = guarded.portal.feed(path, redirect=f"http://{host}:{nw.server.port}/inside")
    with pytest.raises(feeds.FeedError) as refused:
        await _fetch(guarded.service.poller.session, guarded.portal.url(path))
    assert start.requests == 1  # the allowed hop was made; the next one was not
    assert inside.requests == 0
    assert refused.value.message in feeds.FAILURE_REASONS


async def test_an_allowed_portal_still_works_through_a_redirect(guarded):
    portal = guarded.portal
    portal.feed("/moved", body=rss([{"guid": "g1", "title": "Tin chuyển hướng"}]))
    portal.feed("/old", redirect=portal.url("/moved"))
    got = await _fetch(guarded.service.poller.session, portal.url("/old"))
    assert got.status == 200 and b"Tin chuy" in got.body


async def test_a_lead_image_on_a_forbidden_address_is_left_out(guarded):
    nw = guarded.nw
    nw.server.images["/img/inside.png"] = png(20, 10)
    guarded.portal.images["/img/public.png"] = png(20, 10)
    web = guarded.config.web
    items = [
        {"id": "ssrf-img-1", "title": "Ảnh nội bộ", "image": nw.server.url("/img/inside.png")},
        {
            "id": "ssrf-img-2",
            "title": "Ảnh công khai",
            "image": guarded.portal.url("/img/public.png"),
        },
    ]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://{web.listen_host}:{web.listen_port}/_dieuhanh/api/tin-tuc",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"items": items, "targets": [nw.u("thcs2")]},
        ) as resp,
    ):
        answer = await resp.json()
    assert resp.status == 200 and len(answer["delivered"]) == 2, answer
    events = await asyncio.to_thread(nw.events, "thcs2")
    images = {
        e["content"]["vn.dieuhanh.news"]["item_id"]
        for e in events
        if e["content"].get("msgtype") == "m.image" and "vn.dieuhanh.news" in e["content"]
    }
    assert images == {"ssrf-img-2"}
    assert nw.server.image_requests.get("/img/inside.png", 0) == 0
    assert guarded.portal.image_requests["/img/public.png"] == 1
