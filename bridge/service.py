"""The running bridge: appservice listener, ghosts, feed poller, delivery, web listener.

``BridgeService(config, engine)`` is what ``dieuhanh bridge`` runs (and what the tests
start in-process): ``start()`` opens both listeners and, unless told not to, the poll
loop; ``stop()`` closes everything. Two listeners:

- ``bridge.listen_host:listen_port`` — the appservice API that Synapse calls (transactions,
  user queries, ping), every request checked against the hs_token;
- ``web.listen_host:listen_port`` — the admin page and the CMS webhook (bridge/web/).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from mautrix.appservice import AppService
from mautrix.appservice.state_store import ASStateStore
from mautrix.client.state_store import MemoryStateStore
from sqlalchemy import Engine

from bridge import outbound
from bridge.config import BridgeSettings
from bridge.delivery import Deliverer
from bridge.directory import BridgeDirectory
from bridge.ghosts import Ghosts
from bridge.media import Media
from bridge.poller import Poller
from bridge.web import make_web_app, templates
from bridge.web.auth import Auth, cookies_secure
from provisioning.matrix.client import MatrixClient

log = logging.getLogger("bridge")

SEND_CONCURRENCY = 8


class StateStore(ASStateStore, MemoryStateStore):
    """mautrix's appservice state, in memory (what matters across restarts is in our DB)."""

    def __init__(self) -> None:
        ASStateStore.__init__(self)
        MemoryStateStore.__init__(self)


def hs_token_middleware(hs_token: str):
    """401 without a token, 403 with a wrong one (constant-time), on every appservice path."""
    expected = hs_token.encode("utf-8")

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_matrix/mau/"):  # liveness probes
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("access_token")
        if not token:
            return web.json_response(
                {"errcode": "M_UNAUTHORIZED", "error": "Missing access token"}, status=401
            )
        if not hmac.compare_digest(token.encode("utf-8"), expected):
            return web.json_response(
                {"errcode": "M_FORBIDDEN", "error": "Invalid access token"}, status=403
            )
        return await handler(request)

    return check


class BridgeService:
    def __init__(self, config: BridgeSettings, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.directory = BridgeDirectory(engine)
        self.templates = templates()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._runners: list[web.AppRunner] = []

    async def start(self, *, poll: bool = True) -> None:
        cfg, bridge = self.config, self.config.bridge
        if not bridge.as_token or not bridge.hs_token:
            raise RuntimeError("bridge.as_token and bridge.hs_token must be set")
        with warnings.catch_warnings():  # mautrix passes aiohttp a deprecated loop argument
            warnings.simplefilter("ignore", DeprecationWarning)
            self.appservice = self._appservice()
        self.appservice.app.middlewares.append(hs_token_middleware(bridge.hs_token))
        await self.appservice.start(bridge.listen_host, bridge.listen_port)
        self._build_parts()
        web_runner = web.AppRunner(make_web_app(self), access_log=None)
        await web_runner.setup()
        self._runners.append(web_runner)
        await web.TCPSite(web_runner, cfg.web.listen_host, cfg.web.listen_port).start()
        if poll:
            self._tasks.append(asyncio.create_task(self.poller.run(self._stop), name="poller"))

    def _appservice(self) -> AppService:
        cfg, bridge = self.config, self.config.bridge
        return AppService(
            server=cfg.homeserver.url,
            domain=cfg.homeserver.server_name,
            as_token=bridge.as_token,
            hs_token=bridge.hs_token,
            bot_localpart=bridge.sender_localpart,
            id=bridge.id,
            state_store=StateStore(),
            log=logging.getLogger("bridge.appservice"),
            default_http_retry_count=4,
            connection_limit=64,
        )

    def _build_parts(self) -> None:
        cfg, bridge = self.config, self.config.bridge
        # the homeserver (admin page logins): trusted, often on loopback
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        # whatever portals point at (feeds, redirects, lead images): never our own networks
        self.portals = outbound.portal_session(
            outbound.AddressPolicy(
                allow_private=bridge.allow_private_addresses,
                allowed_networks=bridge.allowed_networks,
            ),
            limit=max(bridge.poll_concurrency * 2, 16),
        )
        # the appservice's own token: no server-admin token in this network-facing process
        self.homeserver = MatrixClient(cfg.homeserver.url, bridge.as_token)
        self.ghosts = Ghosts(
            self.appservice,
            self.homeserver,
            self.engine,
            server_name=cfg.homeserver.server_name,
            user_prefix=bridge.user_prefix,
        )
        self.media = Media(
            self.portals,
            self.engine,
            max_bytes=bridge.max_image_bytes,
            timeout=bridge.feed_timeout_seconds,
        )
        self.deliverer = Deliverer(
            self.engine,
            self.directory,
            self.ghosts,
            self.media,
            summary_chars=bridge.summary_chars,
            concurrency=SEND_CONCURRENCY,
        )
        self.poller = Poller(self.engine, self.directory, self.deliverer, bridge, self.portals)
        self.auth = Auth(
            self.engine,
            self.http,
            homeserver_url=cfg.homeserver.url,
            secret=bridge.as_token,
            session_hours=bridge.admin_session_hours,
            secure_cookies=cookies_secure(cfg.web),
            trusted_proxies=cfg.login.trusted_proxies,
        )

    @property
    def page_url(self) -> str:
        web_cfg = self.config.web
        base = web_cfg.public_base_url.rstrip("/") or (
            f"http://{web_cfg.listen_host}:{web_cfg.listen_port}"
        )
        return f"{base}/_dieuhanh/gui-thong-bao"

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("poller ended with an error")
        for runner in self._runners:
            await runner.cleanup()
        with contextlib.suppress(AttributeError):
            await self.appservice.stop()
        with contextlib.suppress(AttributeError):
            await self.homeserver.close()
        with contextlib.suppress(AttributeError):
            await self.http.close()
        with contextlib.suppress(AttributeError):
            await self.portals.close()
