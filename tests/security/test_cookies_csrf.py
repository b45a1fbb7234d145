"""Low finding: cookies and cross-site requests.

- The bridge's cookies were Secure only when a public https address was configured: a
  bridge listening on the network over plain http sent its session cookie in clear.
  They are now Secure unless the listener is loopback-only.
- Any web page could make its visitors' browsers ask for login codes (a cross-site form
  POST to /_dieuhanh/dang-nhap, or a "simple" text/plain POST to the JSON API): an SMS
  flood from thousands of addresses, past the per-IP cap. The form now needs a token
  bound to a cookie; the JSON API refuses foreign origins and non-JSON bodies.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from bridge.config import WebConfig

from ..identity.test_login import (
    fake_ip,
    form_token,
    http,
    new_phone,
    provision,
    sms_sink_settled,
    sms_to,
)
from ..waiting import eventually

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EVIL = "https://evil.example"


def post_form(synapse, phone: str, cookie: str | None, token: str | None, **extra) -> tuple:
    fields = {"phone": phone, **({"_csrf": token} if token is not None else {})}
    headers = {**FORM, "X-Forwarded-For": fake_ip(), **extra}
    if cookie:
        headers["Cookie"] = cookie
    body = urllib.parse.urlencode(fields).encode()
    return http(synapse, "POST", "/_dieuhanh/dang-nhap", body, headers)


def no_sms_for(synapse, phone: str) -> bool:
    sms_sink_settled(synapse)  # sent in the background: a wrongly sent one is there by now
    return sms_to(synapse, phone) == []


def test_a_cross_site_form_cannot_request_a_code(synapse):
    _, phone = provision(synapse)
    status, body = post_form(synapse, "0" + phone[3:], None, None, Origin=EVIL)
    assert status == 403 and "Vui lòng tải lại trang" in body.decode()
    _, token = form_token(synapse)
    other_cookie, _ = form_token(synapse)
    assert post_form(synapse, phone, other_cookie, token)[0] == 403  # not its cookie
    assert post_form(synapse, phone, None, token)[0] == 403  # no cookie
    assert no_sms_for(synapse, phone)


def test_the_form_with_its_token_works_and_answers_alike(synapse):
    _, registered = provision(synapse)
    cookie, token = form_token(synapse)
    answers = [post_form(synapse, p, cookie, token) for p in (registered, new_phone())]
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert "đã được đăng ký" in answers[0][1].decode()
    eventually(lambda: sms_to(synapse, registered), 10, "the SMS to the registered number")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain", "Origin": EVIL},  # a "simple" cross-site fetch
        {"Content-Type": "application/json", "Origin": EVIL},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_the_json_api_refuses_cross_site_and_non_json_requests(synapse, headers):
    _, phone = provision(synapse)
    body = json.dumps({"phone": phone}).encode()
    status, answer = http(
        synapse,
        "POST",
        "/_dieuhanh/api/ma-dang-nhap",
        body,
        {**headers, "X-Forwarded-For": fake_ip()},
    )
    assert status in (403, 415), answer
    assert no_sms_for(synapse, phone)


def test_the_json_api_serves_its_own_page_and_other_programs(synapse):
    for extra in ({"Origin": synapse.base_url}, {"Sec-Fetch-Site": "same-origin"}, {}):
        _, phone = provision(synapse)
        status, _ = http(
            synapse,
            "POST",
            "/_dieuhanh/api/ma-dang-nhap",
            json.dumps({"phone": phone}).encode(),
            {"Content-Type": "application/json", "X-Forwarded-For": fake_ip(), **extra},
        )
        assert status == 200


@pytest.mark.parametrize(
    ("listen_host", "public_base_url", "secure"),
    [
        ("127.0.0.1", "", False),  # development: http://127.0.0.1 must keep working
        ("::1", "", False),
        ("localhost", "", False),
        ("127.0.0.1", "https://tin.so.edu.vn", True),
        ("0.0.0.0", "", True),  # on the network, even without a public address
        ("10.0.0.5", "", True),
        ("::", "http://10.0.0.5:29341", True),
        ("", "", True),  # every interface
    ],
)
def test_bridge_cookies_are_secure_unless_loopback_only(listen_host, public_base_url, secure):
    from bridge.web.auth import cookies_secure

    web = WebConfig(listen_host=listen_host, public_base_url=public_base_url)
    assert cookies_secure(web) is secure
