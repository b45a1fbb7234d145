"""Phone + one-time code login, against the real Synapse with our module loaded."""

from __future__ import annotations

import concurrent.futures
import json
import re
import secrets
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from provisioning.phone import normalize_phone

from ..waiting import eventually

# ------------------------------------------------------------------------------ helpers


def new_phone() -> str:
    """A random valid mobile (E.164) nobody else in the session uses."""
    while True:
        result = normalize_phone(f"09{secrets.randbelow(10**8):08d}")
        if result.e164:
            return result.e164


def fake_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def provision(synapse, phone: str | None = None) -> tuple[str, str]:
    """An account with ``phone`` bound, as provisioning makes it: (user id, phone)."""
    phone = phone or new_phone()
    user_id = f"@cb{secrets.token_hex(4)}:{synapse.server_name}"
    synapse.api(
        "PUT",
        f"/_synapse/admin/v2/users/{user_id}",
        {
            "displayname": "Cán bộ thử",
            "threepids": [{"medium": "msisdn", "address": phone.lstrip("+")}],
        },
    )
    return user_id, phone


def http(
    synapse, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        synapse.base_url + path, data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def request_code(synapse, typed: str, ip: str | None = None) -> tuple[int, bytes]:
    return http(
        synapse,
        "POST",
        "/_dieuhanh/api/ma-dang-nhap",
        json.dumps({"phone": typed}).encode(),
        {"Content-Type": "application/json", "X-Forwarded-For": ip or fake_ip()},
    )


def form_token(synapse) -> tuple[str, str]:
    """GET the request page as a browser would: (its CSRF cookie, the form's token)."""
    request = urllib.request.Request(synapse.base_url + "/_dieuhanh/dang-nhap")
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        html = response.read().decode()
    return cookie, re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def sms_to(synapse, phone: str) -> list[str]:
    """What the development SMS sink holds for ``phone``."""
    path = Path(synapse.setup.config.sms.file_path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line)["text"] for line in lines if json.loads(line)["to"] == phone]


def code_for(synapse, phone: str, typed: str | None = None) -> str:
    """Request a code and read it from the development SMS sink."""
    before = len(sms_to(synapse, phone))
    status, _ = request_code(synapse, typed or phone)
    assert status == 200
    texts = eventually(
        lambda: sms_to(synapse, phone)[before:], 10, f"an SMS to {phone}", interval=0.05
    )
    assert len(texts) == 1, texts
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def sms_sink_settled(synapse) -> None:
    """Until every SMS an earlier code request started is in the development sink.

    A code request decides to send before it answers, and the sink writes at once; so
    once a code requested afterwards for a fresh number is in the sink, any SMS that an
    earlier request wrongly started is there too. A check that no SMS went out waits
    for this marker instead of a fixed time."""
    _, marker = provision(synapse)
    code_for(synapse, marker)


def login(synapse, identifier: dict[str, Any], password: str) -> tuple[int, dict[str, Any]]:
    status, body = http(
        synapse,
        "POST",
        "/_matrix/client/v3/login",
        json.dumps(
            {"type": "m.login.password", "identifier": identifier, "password": password}
        ).encode(),
        {"Content-Type": "application/json", "X-Forwarded-For": fake_ip()},
    )
    return status, json.loads(body)


def national(phone: str) -> str:
    return "0" + phone[3:]


SHAPES = {
    "element-web m.id.phone number": lambda p: {
        "type": "m.id.phone",
        "country": "VN",
        "number": national(p),
    },
    "element-web m.id.phone phone+number": lambda p: {
        "type": "m.id.phone",
        "country": "VN",
        "phone": national(p),
        "number": national(p),
    },
    "element-ios m.id.thirdparty msisdn": lambda p: {
        "type": "m.id.thirdparty",
        "medium": "msisdn",
        "address": p.lstrip("+"),
    },
    "element-android m.id.user typed": lambda p: {
        "type": "m.id.user",
        "user": f"{national(p)[:4]} {national(p)[4:7]} {national(p)[7:]}",
    },
}

# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("shape", SHAPES)
def test_every_client_login_shape_works_with_a_valid_code(synapse, shape):
    user_id, phone = provision(synapse)
    status, body = login(synapse, SHAPES[shape](phone), code_for(synapse, phone))
    assert status == 200, body
    assert body["user_id"] == user_id


def test_the_spec_only_phone_key_is_refused_by_synapse_before_our_module(synapse):
    """Synapse bug (DESIGN.md): m.id.phone with `phone` but no `number` → 400."""
    _, phone = provision(synapse)
    status, body = login(
        synapse,
        {"type": "m.id.phone", "country": "VN", "phone": national(phone)},
        code_for(synapse, phone),
    )
    assert status == 400 and body["error"] == "Missing JSON keys."


@pytest.mark.parametrize("typed", ["+84 {n}", "84{n}", "(+84) {n}", "0{n}", "{n}"])
def test_typed_usernames_in_any_usual_form(synapse, typed):
    user_id, phone = provision(synapse)
    text = typed.format(n=phone[3:])
    status, body = login(synapse, {"type": "m.id.user", "user": text}, code_for(synapse, phone))
    assert (status, body.get("user_id")) == (200, user_id)


def test_pre_2018_eleven_digit_numbers_log_in(synapse):
    phone = "+8436" + f"{secrets.randbelow(10**7):07d}"  # today's 036x…, once 0166x…
    user_id, _ = provision(synapse, phone)
    old = "0166" + phone[5:]
    status, body = login(
        synapse, {"type": "m.id.user", "user": old}, code_for(synapse, phone, typed=old)
    )
    assert (status, body.get("user_id")) == (200, user_id)
    status, body = login(
        synapse,
        {"type": "m.id.phone", "country": "VN", "number": old},
        code_for(synapse, phone, typed=old),
    )
    assert (status, body.get("user_id")) == (200, user_id)


def test_wrong_used_and_other_numbers_codes_fail(synapse):
    user_id, phone = provision(synapse)
    _, other_phone = provision(synapse)
    code = code_for(synapse, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert login(synapse, SHAPES["element-android m.id.user typed"](phone), wrong)[0] == 403
    # a code for one number does not log in another
    assert login(synapse, SHAPES["element-android m.id.user typed"](other_phone), code)[0] == 403
    status, body = login(synapse, SHAPES["element-android m.id.user typed"](phone), code)
    assert (status, body["user_id"]) == (200, user_id)
    # used once: never again
    assert login(synapse, SHAPES["element-ios m.id.thirdparty msisdn"](phone), code)[0] == 403


def test_a_new_request_replaces_the_old_code(synapse):
    _, phone = provision(synapse)
    first = code_for(synapse, phone)
    second = code_for(synapse, phone)
    if first != second:
        assert login(synapse, SHAPES["element-android m.id.user typed"](phone), first)[0] == 403
    assert login(synapse, SHAPES["element-android m.id.user typed"](phone), second)[0] == 200


def test_expired_code_fails(synapse):
    _, phone = provision(synapse)
    code = code_for(synapse, phone)
    # ten minutes pass: move the code's expiry into the past in Synapse's database
    db = synapse.setup.synapse.config_dir / "homeserver.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE dieuhanh_login_codes SET expires_ts = ? WHERE phone = ?",
            (int(time.time() * 1000) - 1, phone),
        )
    assert login(synapse, SHAPES["element-android m.id.user typed"](phone), code)[0] == 403


def test_the_sixth_try_with_the_right_code_fails(synapse):
    _, phone = provision(synapse)
    code = code_for(synapse, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert login(synapse, SHAPES["element-android m.id.user typed"](phone), wrong)[0] == 403
    assert login(synapse, SHAPES["element-android m.id.user typed"](phone), code)[0] == 403


def test_a_deactivated_account_can_neither_get_nor_use_a_code(synapse):
    user_id, phone = provision(synapse)
    code = code_for(synapse, phone)
    synapse.api("POST", f"/_synapse/admin/v1/deactivate/{user_id}", {"erase": False})
    assert login(synapse, SHAPES["element-ios m.id.thirdparty msisdn"](phone), code)[0] == 403
    before = len(sms_to(synapse, phone))
    assert request_code(synapse, phone)[0] == 200  # the same answer as always…
    sms_sink_settled(synapse)
    assert len(sms_to(synapse, phone)) == before  # …but no SMS


def test_answer_is_byte_for_byte_the_same_for_registered_and_unknown_numbers(synapse):
    _, registered = provision(synapse)
    unknown = new_phone()
    timings, answers = [], []
    for phone in (registered, unknown):
        started = time.monotonic()
        answers.append(request_code(synapse, national(phone)))
        timings.append(time.monotonic() - started)
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert abs(timings[0] - timings[1]) < 0.25  # a similar delay (≥ 1 s each)
    assert min(timings) >= 0.95
    # the HTML form answers alike, too
    cookie, token = form_token(synapse)
    pages = [
        http(
            synapse,
            "POST",
            "/_dieuhanh/dang-nhap",
            f"phone={national(p)}&_csrf={token}".encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": fake_ip(),
                "Cookie": cookie,
            },
        )
        for p in (registered, unknown)
    ]
    assert pages[0] == pages[1]
    assert "đã được đăng ký" in pages[0][1].decode()


def test_same_bytes_for_one_number_before_and_after_it_is_registered(synapse):
    phone = new_phone()
    before = request_code(synapse, phone)
    provision(synapse, phone)
    after = request_code(synapse, phone)
    assert before == after


def test_invalid_numbers_are_refused_clearly(synapse):
    status, body = request_code(synapse, "12345")
    assert status == 400
    assert "Số điện thoại không hợp lệ" in json.loads(body)["error"]
    status, body = http(
        synapse,
        "POST",
        "/_dieuhanh/api/ma-dang-nhap",
        b"not json",
        {"Content-Type": "application/json"},
    )
    assert status == 400


def test_per_number_cap(synapse):
    _, phone = provision(synapse)
    statuses = [request_code(synapse, phone)[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    _, other = provision(synapse)  # another number is not affected
    assert request_code(synapse, other)[0] == 200


def test_per_ip_cap(synapse):
    ip = fake_ip()
    limit = synapse.setup.config.login.per_ip_per_hour
    phones = [new_phone() for _ in range(limit + 1)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda p: request_code(synapse, p, ip)[0], phones))
    assert sorted(statuses) == [200] * limit + [429]
    assert request_code(synapse, new_phone(), fake_ip())[0] == 200  # another school's NAT


def test_page_is_vietnamese_and_explains_next_steps(synapse):
    status, body = http(synapse, "GET", "/_dieuhanh/dang-nhap", None, {})
    html = body.decode("utf-8")
    assert status == 200
    for text in (
        "Lấy mã đăng nhập",
        "Element",
        synapse.base_url,
        "số điện thoại",
        "mã 6 chữ số",
        'name="viewport"',
    ):
        assert text in html


def test_sessions_stay_and_logging_out_needs_no_admin(synapse):
    user_id, phone = provision(synapse)
    status, body = login(
        synapse, SHAPES["element-android m.id.user typed"](phone), code_for(synapse, phone)
    )
    token = body["access_token"]
    assert synapse.api("GET", "/_matrix/client/v3/account/whoami", token=token)["user_id"] == (
        user_id
    )
    synapse.api("POST", "/_matrix/client/v3/logout", {}, token=token)
    status, _ = http(
        synapse,
        "GET",
        "/_matrix/client/v3/account/whoami",
        None,
        {"Authorization": f"Bearer {token}"},
    )
    assert status == 401


def test_password_logins_keep_working_and_codes_never_reach_the_log(synapse):
    password = synapse.setup.data.admin_password_path.read_text().strip()
    status, body = login(synapse, {"type": "m.id.user", "user": "quantri"}, password)
    assert (status, body["user_id"]) == (200, synapse.admin_user_id)
    _, phone = provision(synapse)
    code = code_for(synapse, phone)
    assert login(synapse, SHAPES["element-android m.id.user typed"](phone), code)[0] == 200
    log = synapse.setup.synapse.log_path.read_text(encoding="utf-8")
    assert code not in log
