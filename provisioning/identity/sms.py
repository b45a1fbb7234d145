"""SMS gateways behind one interface.

- ``FileSink`` appends each message as one JSON line ``{"to", "text", "at"}`` (development
  and tests; ``dieuhanh up`` prints what arrives there).
- ``HttpGateway`` sends it through a provider's HTTP API described in the configuration:
  URL, method, headers and a body template with ``{to}`` and ``{text}`` placeholders.
  The URL may hold only the number (``{to}``, ``{to_local}``): Synapse logs the URL of
  every request it sends, so the text (the code) and credentials never go there
  (``check_url_template``); credentials go in headers, the text in the body.

Gateways are written against an injected ``fetch`` so that the same code runs inside
Synapse (its HTTP client) and outside it. A failure never carries the message text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, quote, urlsplit

#: fetch(method, url, headers, body) -> (status, response text)
Fetch = Callable[[str, str, dict[str, str], bytes | None], Awaitable[tuple[int, str]]]


class SmsError(RuntimeError):
    """The SMS could not be handed over; the message names the gateway, never the text."""


class SmsGateway(Protocol):
    async def send(self, to: str, text: str) -> str:
        """Hand one message over; a short note of the gateway's answer ("HTTP 200"), never
        the text. Raises SmsError when it was not accepted."""
        ...


@dataclass
class FileSink:
    path: Path

    async def send(self, to: str, text: str) -> str:
        line = json.dumps(
            {"to": to, "text": text, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return "tệp"


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass
class HttpGateway:
    url: str
    fetch: Fetch
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body_template: str = ""

    def build(self, to: str, text: str) -> HttpRequest:
        """The request for one message: placeholders filled, URL parts percent-encoded,
        JSON bodies JSON-escaped."""
        numbers = _numbers(to)
        url = _fill(self.url, numbers, escape=lambda v: quote(v, safe=""))
        body = None
        if self.body_template:
            is_json = self.body_template.lstrip().startswith(("{", "["))
            escape = (lambda v: json.dumps(v, ensure_ascii=False)[1:-1]) if is_json else str
            values = {**numbers, "text": text}
            body = _fill(self.body_template, values, escape=escape).encode("utf-8")
        headers = dict(self.headers)
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = (
                "application/json" if is_json else "application/x-www-form-urlencoded"
            )
        return HttpRequest(self.method.upper(), url, headers, body)

    async def send(self, to: str, text: str) -> str:
        request = self.build(to, text)
        try:
            status, _answer = await self.fetch(
                request.method, request.url, request.headers, request.body
            )
        except Exception as exc:  # the transport's message may quote the URL, not the body
            raise SmsError(
                f"cổng SMS {_host(self.url)} không trả lời ({type(exc).__name__})"
            ) from None
        if not 200 <= status < 300:
            # the provider's answer may echo the message: never pass it on
            raise SmsError(f"cổng SMS {_host(self.url)} trả lỗi HTTP {status}")
        return f"HTTP {status}"


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


#: Query parameter names that carry credentials (compared lower case, without - and _).
_CREDENTIAL = re.compile(r"key|token|secret|pass|pwd|auth|credential|signature|session")


def _numbers(to: str) -> dict[str, str]:
    """``{to}`` (E.164) and ``{to_local}`` (national form, 09…)."""
    return {"to": to, "to_local": "0" + to[3:] if to.startswith("+84") else to}


def _fill(template: str, values: dict[str, str], *, escape: Callable[[str], str]) -> str:
    """Replace the ``values`` placeholders; JSON braces are left alone."""
    unknown = sorted({m for m in _PLACEHOLDER.findall(template)} - set(values))
    if unknown:
        raise ValueError(f"mẫu SMS có chỗ trống không hỗ trợ: {', '.join(unknown)}")
    return _PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), template)


def check_url_template(url: str) -> None:
    """Refuse a gateway URL that would put the code or a credential into Synapse's log.

    Only ``{to}`` and ``{to_local}`` may appear; no user or password in the address, no
    query parameter named like a key, token, secret or password.
    """
    placeholders = set(_PLACEHOLDER.findall(url))
    if "text" in placeholders:
        raise ValueError(
            "sms.http.url không được chứa {text}: Synapse ghi địa chỉ của mọi yêu cầu vào "
            "nhật ký, mã đăng nhập sẽ nằm ở đó. Hãy đặt {text} trong sms.http.body_template "
            "và dùng method POST."
        )
    unknown = sorted(placeholders - {"to", "to_local"})
    if unknown:
        raise ValueError(f"sms.http.url chỉ được chứa {{to}} và {{to_local}}, có: {unknown}")
    parts = urlsplit(url)
    named = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    secret = [n for n in named if _CREDENTIAL.search(n.lower().replace("-", "").replace("_", ""))]
    if parts.username or parts.password or secret:
        what = f"tham số {', '.join(secret)}" if secret else "tên và mật khẩu"
        raise ValueError(
            f"sms.http.url không được chứa thông tin xác thực ({what}): Synapse ghi địa chỉ "
            "vào nhật ký. Hãy đặt khoá của nhà cung cấp trong sms.http.headers."
        )


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


def gateway_from_config(config: dict, fetch: Fetch | None) -> SmsGateway:
    """A gateway from the ``sms`` settings (as in config.example.yaml)."""
    kind = config.get("gateway", "file")
    if kind == "file":
        return FileSink(Path(config["file_path"]))
    if kind == "http":
        http = config.get("http") or {}
        if not http.get("url"):
            raise ValueError("sms.http.url chưa được đặt")
        check_url_template(http["url"])
        if fetch is None:
            raise ValueError("cổng SMS HTTP cần một HTTP client")
        return HttpGateway(
            http["url"],
            fetch,
            http.get("method", "POST"),
            dict(http.get("headers") or {}),
            http.get("body_template", ""),
        )
    raise ValueError(f"sms.gateway phải là file hoặc http, không phải {kind!r}")
