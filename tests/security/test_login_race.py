"""Finding 3: the login limits must hold under concurrent requests, on PostgreSQL too.

Each check (tries per code, requests per number, the first code stored for a number) used
to read, then write: on PostgreSQL concurrent guesses were all counted past the cap,
concurrent requests were all admitted past the per-number cap, and two first requests for
a registered number raced into a unique violation (a 500 without the response delay,
telling the attacker that the number is registered). The attacker's requests here are
sent all at once from threads, against a real Synapse on SQLite and, when
DIEUHANH_TEST_POSTGRES_URL names a server, on PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
import json
import time

import pytest

from ..conftest import SYNAPSE_DATABASES, running_synapse
from ..identity.test_login import (
    code_for,
    fake_ip,
    http,
    login,
    national,
    new_phone,
    provision,
    request_code,
)

CONCURRENT = 20


@pytest.fixture(scope="module", params=SYNAPSE_DATABASES)
def synapse_db(request, tmp_path_factory):
    """A Synapse of this module's own, on SQLite or on a fresh PostgreSQL database."""
    with running_synapse(
        tmp_path_factory.mktemp(f"race-{request.param}"), database=request.param
    ) as server:
        yield server


def typed_forms(phone: str) -> list[str]:
    """Many ways of typing one number: Synapse's own failed-login limiter keys on what was
    typed, so an attacker varying it reaches the module with every guess."""
    local = national(phone)
    return [local[:i] + sep + local[i:] for sep in " .-" for i in range(1, len(local))]


def all_at_once(calls: list) -> list:
    """Run every call in its own thread, released together."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def timed_request(synapse, phone: str) -> tuple[int, bytes, float]:
    started = time.monotonic()
    status, body = request_code(synapse, phone, fake_ip())
    return status, body, time.monotonic() - started


def test_concurrent_wrong_guesses_spend_at_most_max_attempts(synapse_db):
    synapse = synapse_db
    _, phone = provision(synapse)
    code = code_for(synapse, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    forms = typed_forms(phone)
    calls = [
        lambda typed=typed: login(synapse, {"type": "m.id.user", "user": typed}, wrong)[0]
        for typed in forms[:CONCURRENT]
    ]
    statuses = all_at_once(calls)
    assert statuses == [403] * CONCURRENT  # no 500, no login
    [(attempts,)] = synapse.sql(
        "SELECT attempts FROM dieuhanh_login_codes WHERE phone = ?", (phone,)
    )
    max_attempts = synapse.setup.config.login.max_attempts
    assert attempts <= max_attempts, f"{attempts} tries counted on one code"
    # the code is dead: the right one is refused by the module (403, not Synapse's 429)
    status, _ = login(synapse, {"type": "m.id.user", "user": forms[CONCURRENT]}, code)
    assert status == 403


def test_concurrent_requests_for_one_number_respect_the_per_number_cap(synapse_db):
    synapse = synapse_db
    _, phone = provision(synapse)
    calls = [lambda: request_code(synapse, phone, fake_ip())[0]] * CONCURRENT
    statuses = all_at_once(calls)
    cap = synapse.setup.config.login.per_phone_per_hour
    assert sorted(statuses) == [200] * cap + [429] * (CONCURRENT - cap)


def test_concurrent_first_requests_for_a_registered_number_answer_alike(synapse_db):
    synapse = synapse_db
    floor = synapse.setup.config.login.response_delay_seconds
    cap = synapse.setup.config.login.per_phone_per_hour
    phones = [provision(synapse)[1] for _ in range(CONCURRENT // cap)]
    calls = [lambda p=p: timed_request(synapse, p) for p in phones for _ in range(cap)]
    answers = all_at_once(calls)
    assert {(status, body) for status, body, _ in answers} == {answers[0][:2]}
    assert answers[0][0] == 200
    assert min(took for *_, took in answers) >= floor * 0.95


def test_every_answer_waits_for_the_floor_refusals_and_errors_included(synapse_db):
    synapse = synapse_db
    floor = synapse.setup.config.login.response_delay_seconds
    api = "/_dieuhanh/api/ma-dang-nhap"
    json_type = {"Content-Type": "application/json"}
    for body, headers in [
        (json.dumps({"phone": "12345"}).encode(), json_type),  # not a phone number
        (b"{not json", json_type),
        (b'["a list"]', json_type),
        (json.dumps({"phone": new_phone()}).encode(), {**json_type, "Origin": "https://x.vn"}),
    ]:
        started = time.monotonic()
        status, _ = http(synapse, "POST", api, body, {**headers, "X-Forwarded-For": fake_ip()})
        assert status >= 400
        assert time.monotonic() - started >= floor * 0.95, body
