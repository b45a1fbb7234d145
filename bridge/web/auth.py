"""Logging in to the admin page, sessions and CSRF tokens.

- Credentials are checked by Synapse itself: ``POST /_matrix/client/v3/login`` with an
  ``m.id.user`` identifier and what the person typed — a phone number and the one-time
  code (the identity module accepts that shape, as for Element Android), or a Matrix
  username and password. The access token Synapse returns is logged out at once; only the
  user id is kept. The client's address goes along as X-Forwarded-For, so Synapse's login
  limits apply per person, not to the bridge. The client's address is read by the one rule
  of ``provisioning.identity.client_ip`` (X-Forwarded-For only from ``login.trusted_proxies``,
  from the right), as the identity module reads it.
- The user must be a person of the directory (``matrix_accounts``) who manages at least
  one unit; authority is recomputed from the directory on every request.
- Sessions: a random cookie (HttpOnly, SameSite=Strict, path /_dieuhanh/; Secure unless the
  page listens on loopback only without a public https address), kept server-side as a
  sha256 with the session's CSRF token and expiry. Every form that changes something
  carries the CSRF token; the login form itself carries an HMAC of a pre-login cookie
  (login CSRF).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from sqlalchemy import Engine

from bridge.config import WebConfig
from bridge.db.admin_session import AdminSession
from provisioning.db.threads import utcnow
from provisioning.identity.client_ip import IPNetwork, client_address, parse_networks
from provisioning.identity.csrf import cookies_must_be_secure

log = logging.getLogger(__name__)

SESSION_COOKIE = "dh_phien"
LOGIN_COOKIE = "dh_dangnhap"
COOKIE_PATH = "/_dieuhanh/"
DEVICE_NAME = "Trang Gửi thông báo (kiểm tra đăng nhập)"


class LoginUnavailable(RuntimeError):
    """Synapse could not be asked (or refused for another reason than bad credentials)."""


class RateLimited(RuntimeError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds:.0f} s")
        self.seconds = seconds


@dataclass
class CodeAnswer:
    ok: bool
    message: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def client_ip(request: web.Request, proxies: Sequence[IPNetwork]) -> str:
    """The client's address: X-Forwarded-For believed only from our proxies, from the right."""
    return client_address(
        request.remote or "127.0.0.1", request.headers.getall("X-Forwarded-For", []), proxies
    )


def cookies_secure(web_config: WebConfig) -> bool:
    """Secure cookies unless the page listens on loopback only, without a public https URL."""
    return cookies_must_be_secure(web_config.listen_host, web_config.public_base_url)


class Auth:
    def __init__(
        self,
        engine: Engine,
        session: aiohttp.ClientSession,
        *,
        homeserver_url: str,
        secret: str,
        session_hours: int,
        secure_cookies: bool,
        trusted_proxies: Sequence[str] = ("127.0.0.0/8", "::1/128"),
    ) -> None:
        self.engine = engine
        self.http = session
        self.homeserver_url = homeserver_url.rstrip("/")
        self._key = hmac.new(secret.encode(), b"dieuhanh bridge admin login", "sha256").digest()
        self.session_hours = session_hours
        self.secure = secure_cookies
        self.proxies = parse_networks(trusted_proxies)

    def client_ip(self, request: web.Request) -> str:
        return client_ip(request, self.proxies)

    # ------------------------------------------------------------------ Synapse

    async def verify(self, user: str, password: str, ip: str) -> str | None:
        """The user id if Synapse accepts these credentials; None if it refuses them."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": DEVICE_NAME,
        }
        try:
            async with self.http.post(
                f"{self.homeserver_url}/_matrix/client/v3/login",
                json=body,
                headers={"X-Forwarded-For": ip},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise LoginUnavailable(str(exc) or type(exc).__name__) from exc
        if status == 200 and isinstance(data, dict) and data.get("access_token"):
            await self._logout(data["access_token"])
            return str(data["user_id"])
        if status == 429:
            raise RateLimited(float((data or {}).get("retry_after_ms", 60_000)) / 1000)
        if status in (400, 401, 403):
            return None
        raise LoginUnavailable(f"login answered {status}")

    async def _logout(self, token: str) -> None:
        try:
            async with self.http.post(
                f"{self.homeserver_url}/_matrix/client/v3/logout",
                json={},
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as resp:
                if resp.status != 200:
                    log.warning("could not log out the checking session (%s)", resp.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not log out the checking session: %s", exc)

    async def request_code(self, phone: str, ip: str) -> CodeAnswer:
        """Ask the identity module (on Synapse) to send a login code by SMS."""
        try:
            async with self.http.post(
                f"{self.homeserver_url}/_dieuhanh/api/ma-dang-nhap",
                json={"phone": phone},
                headers={"X-Forwarded-For": ip},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as resp:
                data = await resp.json(content_type=None)
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return CodeAnswer(False, "Không liên lạc được máy chủ để gửi mã. Vui lòng thử lại.")
        if not isinstance(data, dict):
            return CodeAnswer(False, "Máy chủ trả lời không hợp lệ. Vui lòng thử lại.")
        return CodeAnswer(ok, str(data.get("message") or data.get("error") or ""))

    # ------------------------------------------------------------------ login CSRF

    def login_form_token(self, request: web.Request, response: web.StreamResponse) -> str:
        """The token the login form carries (an HMAC of a pre-login cookie, set if absent)."""
        pre = request.cookies.get(LOGIN_COOKIE)
        if not pre or len(pre) > 100:
            pre = secrets.token_urlsafe(24)
            response.set_cookie(
                LOGIN_COOKIE,
                pre,
                httponly=True,
                samesite="Strict",
                secure=self.secure,
                path=COOKIE_PATH,
                max_age=3600,
            )
        return hmac.new(self._key, pre.encode(), "sha256").hexdigest()

    def login_form_ok(self, request: web.Request, token: str) -> bool:
        pre = request.cookies.get(LOGIN_COOKIE)
        if not pre or not token:
            return False
        expected = hmac.new(self._key, pre.encode(), "sha256").hexdigest()
        return hmac.compare_digest(expected, token)

    # ------------------------------------------------------------------ sessions

    async def start(self, response: web.StreamResponse, user_id: str, person_id: int) -> None:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + dt.timedelta(hours=max(self.session_hours, 1))
        session = AdminSession(
            _hash(token), user_id, person_id, secrets.token_urlsafe(24), now, expires
        )
        await session.insert(self.engine)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self.secure,
            path=COOKIE_PATH,
            max_age=int((expires - now).total_seconds()),
        )
        response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)

    async def current(self, request: web.Request) -> AdminSession | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 100:
            return None
        return await AdminSession.valid(self.engine, _hash(token), utcnow())

    async def end(self, request: web.Request, response: web.StreamResponse) -> None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await AdminSession.end(self.engine, _hash(token))
        response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)

    @staticmethod
    def csrf_ok(session: AdminSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf_token, token or "")
