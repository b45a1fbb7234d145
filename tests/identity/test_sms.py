"""SMS gateways: the file sink, and the HTTP gateway against a local stand-in provider,
on its own and from inside a Synapse configured to use it."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest

from provisioning.identity.codes import UNICODE_SMS, new_code, redact, sms_text
from provisioning.identity.sms import FileSink, HttpGateway, SmsError

from ..conftest import running_synapse
from ..waiting import eventually, log_tail
from .test_login import SHAPES, login, provision, request_code


class Provider:
    """A stand-in SMS provider on a free local port, recording what it receives."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                text = json.loads(body or b"{}").get("message", "")
                answer = json.dumps({"error": f"rejected: {text}"}).encode()  # echoes the text
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def provider():
    p = Provider()
    yield p
    p.close()


async def aiohttp_fetch(method, url, headers, body):
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers, data=body) as response,
    ):
        return response.status, await response.text()


TEMPLATE = '{"to": "{to}", "message": "{text}", "sender": "DIEUHANH"}'


async def test_http_gateway_sends_the_configured_request(provider):
    gateway = HttpGateway(
        provider.url + "/sms/send?to={to}",
        aiohttp_fetch,
        "POST",
        {"Authorization": "Bearer k3y"},
        TEMPLATE,
    )
    await gateway.send("+84912345678", 'Mã "đăng nhập": 123456')
    [got] = provider.received
    assert got["path"] == "/sms/send?to=%2B84912345678"
    assert got["headers"]["Authorization"] == "Bearer k3y"
    assert got["headers"]["Content-Type"] == "application/json"
    assert json.loads(got["body"]) == {
        "to": "+84912345678",
        "message": 'Mã "đăng nhập": 123456',
        "sender": "DIEUHANH",
    }


async def test_provider_error_is_reported_without_the_code(provider):
    provider.status = 500
    code = "654321"
    gateway = HttpGateway(provider.url + "/sms", aiohttp_fetch, body_template=TEMPLATE)
    with pytest.raises(SmsError) as caught:
        await gateway.send("+84912345678", sms_text(code, 10))
    assert "HTTP 500" in str(caught.value) and code not in str(caught.value)
    unreachable = HttpGateway("http://127.0.0.1:9/sms", aiohttp_fetch, body_template=TEMPLATE)
    with pytest.raises(SmsError, match="không trả lời") as caught:
        await unreachable.send("+84912345678", sms_text(code, 10))
    assert code not in str(caught.value)


def test_templates_name_only_known_placeholders():
    gateway = HttpGateway("http://x/{phone}", aiohttp_fetch)
    with pytest.raises(ValueError, match="phone"):
        gateway.build("+84912345678", "x")


async def test_file_sink_appends_json_lines(tmp_path):
    sink = FileSink(tmp_path / "sms.jsonl")
    await sink.send("+84912345678", "một")
    await sink.send("+84987654321", "hai")
    lines = [json.loads(x) for x in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert [(x["to"], x["text"]) for x in lines] == [
        ("+84912345678", "một"),
        ("+84987654321", "hai"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", x["at"]) for x in lines)
    assert oct((tmp_path / "sms.jsonl").stat().st_mode & 0o777) == "0o600"


def test_sms_text_fits_one_unicode_sms_or_drops_diacritics():
    code = new_code()
    assert len(code) == 6 and code.isdigit()
    text = sms_text(code, 10)
    assert code in text and len(text) <= UNICODE_SMS and "Mã đăng nhập" in text
    long = sms_text(code, 10, "Điều hành Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh")
    assert code in long and long.isascii() and long.startswith("Ma dang nhap Dieu hanh")
    assert redact(f"error for {code}", code) == "error for ••••••"


def test_codes_are_uniform_random_digits():
    seen = {new_code() for _ in range(2000)}
    assert len(seen) > 1990  # no obvious repetition
    assert {c[0] for c in seen} == set("0123456789")  # leading zeros kept


@pytest.fixture(scope="module")
def http_synapse(tmp_path_factory):
    """A second Synapse whose login module sends SMS through the HTTP gateway."""
    provider = Provider()

    def use_http_gateway(raw: dict) -> None:
        raw["sms"] = {
            "gateway": "http",
            "file_path": "",
            "http": {
                "url": provider.url + "/sms",
                "method": "POST",
                "headers": {"Authorization": "Bearer k3y"},
                "body_template": TEMPLATE,
            },
        }

    with running_synapse(tmp_path_factory.mktemp("http-sms"), use_http_gateway) as server:
        yield server, provider
    provider.close()


def test_synapse_module_sends_through_the_http_gateway(http_synapse):
    synapse, provider = http_synapse
    provider.status = 200
    user_id, phone = provision(synapse)
    assert request_code(synapse, phone)[0] == 200
    eventually(lambda: provider.received, 10, "the provider to receive the SMS", interval=0.05)
    [got] = provider.received[-1:]
    sms = json.loads(got["body"])
    assert sms["to"] == phone and got["headers"]["Authorization"] == "Bearer k3y"
    code = re.search(r"\b(\d{6})\b", sms["message"]).group(1)
    status, body = login(synapse, SHAPES["element-android m.id.user typed"](phone), code)
    assert (status, body["user_id"]) == (200, user_id)


def test_provider_error_inside_synapse_is_logged_without_the_code(http_synapse):
    synapse, provider = http_synapse
    provider.status = 500
    provider.received.clear()
    _, phone = provision(synapse)
    assert request_code(synapse, phone)[0] == 200  # the person sees the usual answer
    log_path: Path = synapse.setup.synapse.log_path
    eventually(
        lambda: "login code SMS not sent" in log_path.read_text(),
        10,
        '"login code SMS not sent" in the log',
        interval=0.05,
        diagnostic=log_tail(log_path),
    )
    log = log_path.read_text()
    assert "cổng SMS 127.0.0.1" in log and "HTTP 500" in log
    code = re.search(r"\b(\d{6})\b", json.loads(provider.received[-1]["body"])["message"])[1]
    assert code not in log
