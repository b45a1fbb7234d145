"""The Synapse module: log in with a phone number and a one-time code sent by SMS.

Loaded by Synapse (``modules:`` in homeserver.yaml; ``dieuhanh up`` writes it). It

- accepts phone + code for every login shape stock clients send: ``m.id.phone``
  (Element Web), ``m.id.thirdparty`` msisdn (Element iOS) — both reach
  ``check_3pid_auth`` — and a plain ``m.id.user`` whose "user" is a phone number typed in
  any form (Element Android, Element X), through an ``m.login.password`` auth checker;
  the same checker accepts the service accounts (admin, bot) with their own password
  (``service_accounts``); Synapse's own password database is off, so no one else has a
  password or can set one;
- serves the request page ``/_dieuhanh/dang-nhap`` and its JSON endpoint
  ``POST /_dieuhanh/api/ma-dang-nhap`` on the homeserver's own base URL.

Codes: 6 random digits, stored as a keyed hash, valid ``code_ttl_seconds``, single use,
dead after ``max_attempts`` wrong tries, replaced by a new request; hourly caps per
number, per client IP and overall. SMS go only to numbers bound to an active account.
The answer to a request is the same, after the same delay, whoever the number belongs to.
No code is ever logged.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from synapse.http.server import DirectServeHtmlResource, DirectServeJsonResource
from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError

from provisioning.identity import codes, page, service_accounts, store
from provisioning.identity.sms import SmsError, gateway_from_config
from provisioning.phone import normalize_phone

log = logging.getLogger(__name__)

#: What a typed username must look like to be read as a phone number.
_PHONE_LIKE = re.compile(r"^[+()\d][\d\s().+\-]{6,}$")


@dataclass
class LoginConfig:
    secret: str
    code_ttl_seconds: int = 600
    max_attempts: int = 5
    per_phone_per_hour: int = 5
    per_ip_per_hour: int = 60
    global_per_hour: int = 2000
    response_delay_seconds: float = 1.0
    service_name: str = "Điều hành"
    #: localpart -> digest of the password, for the admin and the bot (service_accounts.py)
    service_accounts: dict[str, str] = field(default_factory=dict)
    sms: dict[str, Any] = field(
        default_factory=lambda: {"gateway": "file", "file_path": "sms.jsonl"}
    )

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
        if not isinstance(config, dict):
            raise ConfigError("dieuhanh phone login: the module config must be a mapping")
        known = set(LoginConfig.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(f"dieuhanh phone login: unknown settings {', '.join(unknown)}")
        if not config.get("secret") or len(str(config["secret"])) < 16:
            raise ConfigError("dieuhanh phone login: `secret` must be at least 16 characters")
        parsed = LoginConfig(**config)
        for name in (
            "code_ttl_seconds",
            "max_attempts",
            "per_phone_per_hour",
            "per_ip_per_hour",
            "global_per_hour",
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
        return parsed

    def __init__(self, config: LoginConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.gateway = gateway_from_config(config.sms, self._fetch)
        self._tables_ready = False
        api.register_password_auth_provider_callbacks(
            check_3pid_auth=self.check_3pid_auth,
            auth_checkers={("m.login.password", ("password",)): self.check_typed_username},
        )
        api.register_web_resource("/_dieuhanh/dang-nhap", RequestPage(self))
        api.register_web_resource("/_dieuhanh/api/ma-dang-nhap", RequestApi(self))

    # ------------------------------------------------------------------ storage

    async def _db(self, desc: str, func: Any, *args: Any) -> Any:
        if not self._tables_ready:
            await self.api.run_db_interaction("dieuhanh_login_tables", store.create_tables)
            self._tables_ready = True
        return await self.api.run_db_interaction(desc, func, *args)

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
            "dieuhanh_use_code", store.use_code, phone, digest, _now_ms(), self.config.max_attempts
        )
        if not ok:
            log.info("rejected a login code for %s", user_id)
            return None
        log.info("login code accepted for %s", user_id)
        return user_id, None

    # ------------------------------------------------------------------ requesting a code

    async def request_code(self, raw_phone: Any, ip: str) -> tuple[int, str]:
        """(HTTP status, message) — the same for a registered and an unknown number."""
        started = time.monotonic()
        phone = normalize_phone(raw_phone if isinstance(raw_phone, str) else "").e164
        if phone is None:
            return 400, page.INVALID_PHONE
        refused = await self._db(
            "dieuhanh_admit_request",
            store.admit_request,
            _now_ms(),
            codes.phone_key(self.config.secret, phone),
            ip,
            self.config.limits(),
        )
        if refused is not None:
            log.warning("login code request refused: %s reached", refused)
            status, message = 429, page.TOO_MANY.format(minutes=60)
        else:
            user_id = await self._db(
                "dieuhanh_user_by_phone", store.active_user_by_phone, phone.lstrip("+")
            )
            if user_id is not None:
                code = codes.new_code()
                await self._db(
                    "dieuhanh_store_code",
                    store.store_code,
                    phone,
                    codes.code_hash(self.config.secret, phone, code),
                    _now_ms() + self.config.code_ttl_seconds * 1000,
                )
                # sent in the background: the provider's latency must not show in the answer
                self.api.run_as_background_process("dieuhanh_send_sms", self._send, phone, code)
            status, message = 200, page.sent_message(self.config.minutes)
        left = self.config.response_delay_seconds - (time.monotonic() - started)
        if left > 0:
            await self.api.sleep(left)
        return status, message

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


def _client_ip(request: Any) -> str:
    address = request.getClientAddress()
    return getattr(address, "host", None) or "?"


class RequestApi(DirectServeJsonResource):
    """POST /_dieuhanh/api/ma-dang-nhap {"phone": "…"} → {"ok": true, "message": "…"}."""

    def __init__(self, login: PhoneLogin) -> None:
        super().__init__()
        self.login = login

    async def _async_render_POST(self, request: Any) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(request.content.read() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return 400, {"errcode": "M_NOT_JSON", "error": 'Nội dung phải là JSON {"phone": …}'}
        status, message = await self.login.request_code(body.get("phone"), _client_ip(request))
        if status == 200:
            return 200, {"ok": True, "message": message}
        errcode = "M_LIMIT_EXCEEDED" if status == 429 else "M_INVALID_PARAM"
        return status, {"errcode": errcode, "error": message}


class RequestPage(DirectServeHtmlResource):
    """GET shows the form; POST (without JavaScript) answers on the same page."""

    def __init__(self, login: PhoneLogin) -> None:
        super().__init__()
        self.login = login

    def _page(self, answer: str | None = None, ok: bool = True) -> bytes:
        return page.render(
            self.login.api.public_baseurl.rstrip("/"), self.login.config.minutes, answer, ok
        ).encode("utf-8")

    async def _async_render_GET(self, request: Any) -> tuple[int, bytes]:
        return 200, self._page()

    async def _async_render_POST(self, request: Any) -> tuple[int, bytes]:
        form = parse_qs(request.content.read().decode("utf-8", "replace"))
        phone = (form.get("phone") or [""])[0]
        status, message = await self.login.request_code(phone, _client_ip(request))
        return status, self._page(message, ok=status == 200)
