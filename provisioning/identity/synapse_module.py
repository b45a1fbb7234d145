"""The Synapse module: log in with a phone number and a one-time code sent by SMS.

Loaded by Synapse (``modules:`` in homeserver.yaml; ``dieuhanh up`` writes it). It

- accepts phone + code for every login shape stock clients send: ``m.id.phone``
  (Element Web), ``m.id.thirdparty`` msisdn (Element iOS) — both reach
  ``check_3pid_auth`` — and a plain ``m.id.user`` whose "user" is a phone number typed in
  any form (Element Android, Element X), through an ``m.login.password`` auth checker;
  the same checker accepts the service accounts (admin, bot) with their own password
  (``service_accounts``); Synapse's own password database is off, so no one else has a
  password or can set one;
- hides staff from families, and families from everyone outside their rooms, in the
  user directory search (``check_username_for_spam``, ``directory_privacy``);
- serves the request page ``/_dieuhanh/dang-nhap`` and its JSON endpoint
  ``POST /_dieuhanh/api/ma-dang-nhap`` on the homeserver's own base URL;
- with ``directory_database_url`` set, keeps the directory's ``account_activity`` (who has
  logged in, when each account was last seen) for the bot's ``!trienkhai`` and ``!baocao``:
  a code login records the first login at once, and every ``activity_interval_seconds``
  the main process copies Synapse's sessions in bulk (identity/activity.py says why a
  module and not the admin API).

Codes: 6 random digits, stored as a keyed hash, valid ``code_ttl_seconds``, single use,
dead after ``max_attempts`` wrong tries, replaced by a new request; at most
``max_failures_per_day`` wrong codes per number a day, across codes; hourly caps per
number, per client address (IPv6 per /64; the address is read behind
``trusted_proxies`` only) and overall, each decided atomically (store.py). SMS go only to
numbers bound to an active account. The answer to a request is the same, never sooner
than ``response_delay_seconds``, whoever the number belongs to and whatever fails. The
request page needs a CSRF token, its JSON API a same-origin (or no) Origin.
No code is ever logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from synapse.http.server import DirectServeHtmlResource, DirectServeJsonResource
from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError

from provisioning.config import LoginConfig as LoginSettings
from provisioning.identity import (
    activity,
    codes,
    csrf,
    directory_privacy,
    page,
    service_accounts,
    store,
)
from provisioning.identity.client_ip import (
    IPNetwork,
    client_address,
    limit_key,
    parse_networks,
)
from provisioning.identity.module_config import parse_dataclass
from provisioning.identity.sms import SmsError, check_url_template, gateway_from_config
from provisioning.phone import normalize_phone

log = logging.getLogger(__name__)

#: What a typed username must look like to be read as a phone number.
_PHONE_LIKE = re.compile(r"^[+()\d][\d\s().+\-]{6,}$")
#: Expired limit counters are dropped this often.
CLEANUP_MS = 3_600_000
T = TypeVar("T")


@dataclass
class LoginConfig(LoginSettings):
    """The ``login`` section as Synapse hands it to the module, with what ``dieuhanh``
    adds when it writes homeserver.yaml: the service accounts and the SMS settings."""

    service_name: str = "Điều hành"
    #: localpart -> digest of the password, for the admin and the bot (service_accounts.py)
    service_accounts: dict[str, str] = field(default_factory=dict)
    sms: dict[str, Any] = field(
        default_factory=lambda: {"gateway": "file", "file_path": "sms.jsonl"}
    )
    #: the directory's database (SQLAlchemy URL): account_activity is copied there; empty: off
    directory_database_url: str = ""

    @property
    def minutes(self) -> int:
        return max(1, self.code_ttl_seconds // 60)

    def limits(self) -> dict[str, int]:
        return {
            "per_phone_per_hour": self.per_phone_per_hour,
            "per_ip_per_hour": self.per_ip_per_hour,
            "global_per_hour": self.global_per_hour,
        }


class PhoneLogin:
    @staticmethod
    def parse_config(config: dict[str, Any]) -> LoginConfig:
        parsed = parse_dataclass(LoginConfig, config, "dieuhanh phone login")
        if not parsed.secret or len(str(parsed.secret)) < 16:
            raise ConfigError("dieuhanh phone login: `secret` must be at least 16 characters")
        for name in (
            "code_ttl_seconds",
            "max_attempts",
            "max_failures_per_day",
            "per_phone_per_hour",
            "per_ip_per_hour",
            "global_per_hour",
            "activity_interval_seconds",
        ):
            value = getattr(parsed, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"dieuhanh phone login: `{name}` must be a positive integer")
        accounts = parsed.service_accounts
        if not isinstance(accounts, dict) or not all(
            isinstance(k, str) and service_accounts.is_digest(v) for k, v in accounts.items()
        ):
            raise ConfigError(
                "dieuhanh phone login: `service_accounts` maps localparts to sha256: digests"
            )
        gateway = (parsed.sms or {}).get("gateway", "file")
        if gateway not in ("file", "http"):
            raise ConfigError("dieuhanh phone login: sms.gateway must be `file` or `http`")
        if gateway == "http" and not (parsed.sms.get("http") or {}).get("url"):
            raise ConfigError("dieuhanh phone login: sms.http.url is required")
        if not isinstance(parsed.trusted_proxies, list):
            raise ConfigError("dieuhanh phone login: `trusted_proxies` must be a list")
        try:
            parse_networks(parsed.trusted_proxies)
            if gateway == "http":
                check_url_template(parsed.sms["http"]["url"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"dieuhanh phone login: {exc}") from None
        return parsed

    def __init__(self, config: LoginConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.gateway = gateway_from_config(config.sms, self._fetch)
        self.proxies = parse_networks(config.trusted_proxies)
        self._tables_ready = False
        api.register_password_auth_provider_callbacks(
            check_3pid_auth=self.check_3pid_auth,
            auth_checkers={("m.login.password", ("password",)): self.check_typed_username},
        )
        api.register_spam_checker_callbacks(check_username_for_spam=self.check_username_for_spam)
        api.register_web_resource("/_dieuhanh/dang-nhap", RequestPage(self))
        api.register_web_resource("/_dieuhanh/api/ma-dang-nhap", RequestApi(self))
        api.looping_background_call(self._forget_old_counters, CLEANUP_MS)
        self.activity: activity.ActivityCopy | None = None
        if config.directory_database_url:
            self.activity = activity.ActivityCopy(config.directory_database_url)
            # main process only (looping calls run where background tasks run)
            api.looping_background_call(
                self._copy_activity, config.activity_interval_seconds * 1000
            )

    # ------------------------------------------------------------------ storage

    async def _db(self, desc: str, func: Any, *args: Any) -> Any:
        if not self._tables_ready:
            await self._create_tables()
        return await self.api.run_db_interaction(desc, func, *args)

    async def _create_tables(self) -> None:
        """Create our tables once; concurrent first requests on PostgreSQL may collide
        in CREATE TABLE IF NOT EXISTS (a unique violation in the catalog): try again."""
        try:
            await self.api.run_db_interaction("dieuhanh_login_tables", store.create_tables)
        except Exception:
            await self.api.run_db_interaction("dieuhanh_login_tables", store.create_tables)
        self._tables_ready = True

    async def _forget_old_counters(self) -> None:
        await self._db("dieuhanh_forget_counters", store.forget_old_counters, _now_ms())

    # ------------------------------------------------------------------ user search

    async def check_username_for_spam(self, user_profile: Any, requester_id: str) -> bool:
        """True hides ``user_profile`` from ``requester_id``'s user directory search."""
        return bool(
            await self._db(
                "dieuhanh_directory_privacy",
                directory_privacy.hidden,
                requester_id,
                user_profile["user_id"],
            )
        )

    # ------------------------------------------------------------------ activity

    async def _copy_activity(self) -> None:
        """One round: Synapse's sessions → the directory's account_activity."""
        assert self.activity is not None
        try:
            seen = await self.api.run_db_interaction(
                "dieuhanh_read_activity", activity.read_synapse
            )
            changed = await self.api.defer_to_thread(self.activity.round, seen, _utcnow())
        except Exception as exc:  # the next round tries again
            log.error("account activity not copied: %s: %s", type(exc).__name__, exc)
            return
        log.info("account activity copied: %d accounts seen, %d rows changed", len(seen), changed)

    async def _record_login(self, user_id: str) -> None:
        assert self.activity is not None
        try:
            await self.api.defer_to_thread(self.activity.record_login, user_id, _utcnow())
        except Exception as exc:  # the next round records it
            log.error("first login of %s not recorded: %s", user_id, type(exc).__name__)

    # ------------------------------------------------------------------ logging in

    async def check_3pid_auth(
        self, medium: str, address: str, password: str
    ) -> tuple[str, None] | None:
        """Element Web (m.id.phone) and Element iOS (m.id.thirdparty msisdn)."""
        if medium != "msisdn":
            return None
        return await self._login(address, password)

    async def check_typed_username(
        self, username: str, login_type: str, login_dict: dict[str, Any]
    ) -> tuple[str, None] | None:
        """Element Android and Element X send what was typed as the username."""
        typed = username
        if typed.startswith("@"):  # a client that qualified it: "@0912345678:server"
            typed = typed[1:].split(":", 1)[0]
        if not _PHONE_LIKE.match(typed.strip()):
            return self._service_login(username, login_dict.get("password"))
        return await self._login(typed, login_dict.get("password"))

    def _service_login(self, username: str, password: Any) -> tuple[str, None] | None:
        """The admin or the bot with its own password; nobody else has one."""
        localpart = service_accounts.localpart_of(username, self.api.server_name)
        if not service_accounts.check(self.config.service_accounts, localpart, password):
            return None
        log.info("service account %s logged in", localpart)
        return self.api.get_qualified_user_id(localpart or ""), None

    async def _login(self, typed_phone: str, password: Any) -> tuple[str, None] | None:
        if not isinstance(password, str) or not re.fullmatch(r"\s*\d{6}\s*", password):
            return None
        phone = normalize_phone(typed_phone).e164
        if phone is None:
            return None
        user_id = await self._db(
            "dieuhanh_user_by_phone", store.active_user_by_phone, phone.lstrip("+")
        )
        if user_id is None:
            return None
        digest = codes.code_hash(self.config.secret, phone, password.strip())
        ok = await self._db(
            "dieuhanh_use_code",
            store.use_code,
            phone,
            digest,
            _now_ms(),
            self.config.max_attempts,
            self.config.max_failures_per_day,
        )
        if not ok:
            log.info("rejected a login code for %s", user_id)
            return None
        log.info("login code accepted for %s", user_id)
        if self.activity is not None:  # in the background: the login never waits for it
            self.api.run_as_background_process("dieuhanh_record_login", self._record_login, user_id)
        return user_id, None

    # ------------------------------------------------------------------ requesting a code

    async def at_least_the_delay(self, answer: Awaitable[T]) -> T:
        """``answer``, never sooner than ``response_delay_seconds``, on every path (errors
        and exceptions included): timing must tell nothing about who is registered."""
        started = time.monotonic()
        try:
            return await answer
        finally:
            left = self.config.response_delay_seconds - (time.monotonic() - started)
            if left > 0:
                await self.api.sleep(left)

    async def request_code(self, raw_phone: Any, ip: str) -> tuple[int, str]:
        """(HTTP status, message) — the same for a registered and an unknown number.

        Never raises: a failure common to every number answers 503, one that only a
        registered number can meet is logged and answered like a success.
        """
        phone = normalize_phone(raw_phone if isinstance(raw_phone, str) else "").e164
        if phone is None:
            return 400, page.INVALID_PHONE
        try:
            refused = await self._db(
                "dieuhanh_admit_request",
                store.admit_request,
                _now_ms(),
                codes.phone_key(self.config.secret, phone),
                limit_key(ip),
                self.config.limits(),
            )
            if refused is not None:
                log.warning("login code request refused: %s reached", refused)
                return 429, page.TOO_MANY.format(minutes=60)
            user_id = await self._db(
                "dieuhanh_user_by_phone", store.active_user_by_phone, phone.lstrip("+")
            )
        except Exception as exc:
            log.error("login code request failed: %s", type(exc).__name__)
            return 503, page.UNAVAILABLE
        if user_id is not None:
            await self._issue_code(phone)
        return 200, page.sent_message(self.config.minutes)

    async def _issue_code(self, phone: str) -> None:
        """Store a new code for a registered number and send it in the background."""
        code = codes.new_code()
        try:
            await self._db(
                "dieuhanh_store_code",
                store.store_code,
                phone,
                codes.code_hash(self.config.secret, phone, code),
                _now_ms() + self.config.code_ttl_seconds * 1000,
            )
        except Exception as exc:  # answered like a success: a 5xx would reveal the number
            log.error("login code not stored: %s", type(exc).__name__)
            return
        # sent in the background: the provider's latency must not show in the answer
        self.api.run_as_background_process("dieuhanh_send_sms", self._send, phone, code)

    async def _send(self, phone: str, code: str) -> None:
        text = codes.sms_text(code, self.config.minutes, self.config.service_name)
        try:
            await self.gateway.send(phone, text)
        except SmsError as exc:
            log.error("login code SMS not sent: %s", codes.redact(str(exc), code))
        except Exception as exc:
            log.error("login code SMS not sent: %s", type(exc).__name__)

    async def _fetch(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, str]:
        """HTTP through Synapse's own client (Twisted), for the HTTP gateway."""
        from synapse.logging.context import make_deferred_yieldable
        from twisted.web.client import readBody
        from twisted.web.http_headers import Headers

        response = await self.api.http_client.request(
            method,
            url,
            data=body,
            headers=Headers({k.encode(): [v.encode()] for k, v in headers.items()}),
        )
        answer = await make_deferred_yieldable(readBody(response))
        return response.code, answer[:2000].decode("utf-8", "replace")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def client_ip_of(request: Any, proxies: tuple[IPNetwork, ...]) -> str:
    """The client's address for the caps, by provisioning.identity.client_ip's one rule.

    From the TCP peer (``request.client``: Synapse's ``getClientAddress()`` has already
    believed the leftmost X-Forwarded-For value when ``x_forwarded`` is on) and the raw
    X-Forwarded-For headers. A UNIX-socket peer is a process on this machine: loopback.
    """
    peer = getattr(getattr(request, "client", None), "host", None) or "127.0.0.1"
    headers = request.requestHeaders.getRawHeaders(b"x-forwarded-for") or []
    return client_address(peer, [h.decode("latin-1") for h in headers], proxies)


def _header(request: Any, name: bytes) -> str | None:
    value = request.getHeader(name)
    return value.decode("latin-1") if isinstance(value, bytes) else value


def cross_site_request(request: Any, public_baseurl: str) -> bool:
    """Whether another site's page sent this request (Origin / Sec-Fetch-Site)."""
    return csrf.cross_site(
        _header(request, b"origin"),
        _header(request, b"sec-fetch-site"),
        csrf.origin_of(public_baseurl),
        _header(request, b"host"),
    )


class RequestApi(DirectServeJsonResource):
    """POST /_dieuhanh/api/ma-dang-nhap {"phone": "…"} → {"ok": true, "message": "…"}.

    Only JSON (a cross-site form or "simple" request cannot send it without a CORS
    preflight) and never from another site's page.
    """

    def __init__(self, login: PhoneLogin) -> None:
        super().__init__()
        self.login = login

    async def _async_render_POST(self, request: Any) -> tuple[int, dict[str, Any]]:
        return await self.login.at_least_the_delay(self._answer(request))

    async def _answer(self, request: Any) -> tuple[int, dict[str, Any]]:
        if cross_site_request(request, self.login.api.public_baseurl):
            return 403, {"errcode": "M_FORBIDDEN", "error": page.CROSS_SITE}
        content_type = (_header(request, b"content-type") or "").split(";")[0].strip().lower()
        body = None
        if content_type == "application/json":
            try:
                body = json.loads(request.content.read() or b"{}")
            except ValueError:
                body = None
        if not isinstance(body, dict):
            status = 400 if content_type == "application/json" else 415
            return status, {"errcode": "M_NOT_JSON", "error": 'Nội dung phải là JSON {"phone": …}'}
        ip = client_ip_of(request, self.login.proxies)
        status, message = await self.login.request_code(body.get("phone"), ip)
        if status == 200:
            return 200, {"ok": True, "message": message}
        errcode = {429: "M_LIMIT_EXCEEDED", 400: "M_INVALID_PARAM"}.get(status, "M_UNKNOWN")
        return status, {"errcode": errcode, "error": message}


class RequestPage(DirectServeHtmlResource):
    """GET shows the form; POST (without JavaScript) answers on the same page.

    The form carries a token bound to a cookie set with the page (provisioning.identity.csrf).
    """

    def __init__(self, login: PhoneLogin) -> None:
        super().__init__()
        self.login = login
        host = urlsplit(login.api.public_baseurl).hostname or ""
        self.secure_cookie = csrf.cookies_must_be_secure(host, login.api.public_baseurl)

    def _cookie(self, request: Any) -> str:
        """The browser's CSRF cookie, set now if it has none."""
        raw = request.getCookie(csrf.COOKIE.encode())
        cookie = csrf.usable_cookie(raw.decode("latin-1") if raw else None)
        if cookie is None:
            cookie = csrf.new_cookie()
            header = csrf.set_cookie_header(cookie, self.secure_cookie)
            request.responseHeaders.addRawHeader(b"Set-Cookie", header.encode())
        request.setHeader(b"Cache-Control", b"no-store")
        return cookie

    def _page(self, request: Any, answer: str | None = None, ok: bool = True) -> bytes:
        token = csrf.form_token(self.login.config.secret, self._cookie(request))
        return page.render(
            self.login.api.public_baseurl.rstrip("/"), self.login.config.minutes, token, answer, ok
        ).encode("utf-8")

    async def _async_render_GET(self, request: Any) -> tuple[int, bytes]:
        return 200, self._page(request)

    async def _async_render_POST(self, request: Any) -> tuple[int, bytes]:
        return await self.login.at_least_the_delay(self._answer(request))

    async def _answer(self, request: Any) -> tuple[int, bytes]:
        form = parse_qs(request.content.read().decode("utf-8", "replace"))
        raw = request.getCookie(csrf.COOKIE.encode())
        cookie = raw.decode("latin-1") if raw else None
        token = (form.get("_csrf") or [""])[0]
        if cross_site_request(request, self.login.api.public_baseurl) or not csrf.form_token_ok(
            self.login.config.secret, cookie, token
        ):
            return 403, self._page(request, page.FORM_EXPIRED, ok=False)
        phone = (form.get("phone") or [""])[0]
        ip = client_ip_of(request, self.login.proxies)
        status, message = await self.login.request_code(phone, ip)
        return status, self._page(request, message, ok=status == 200)
