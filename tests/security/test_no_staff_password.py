"""Finding 2: one code must not become a permanent password.

The module registers an ``m.login.password`` checker, so Synapse offered password
re-authentication: whoever held one code could ``POST /account/password`` and keep a
password that survives a phone change or a departure. Staff accounts now have no usable
password and no way to set one; the admin and the bot (service accounts) keep theirs.
"""

from __future__ import annotations

import json
import secrets

from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import ADMIN_LOCALPART

from ..identity.test_login import SHAPES, code_for, fake_ip, http, national, provision


def post(synapse, path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "X-Forwarded-For": fake_ip()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, raw = http(synapse, "POST", path, json.dumps(body).encode(), headers)
    return status, json.loads(raw or b"{}")


def code_login(synapse, phone: str) -> dict:
    status, body = post(
        synapse,
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": SHAPES["element-android m.id.user typed"](phone),
            "password": code_for(synapse, phone),
        },
    )
    assert status == 200, body
    return body


def test_a_code_cannot_set_a_password(synapse):
    user_id, phone = provision(synapse)
    token = code_login(synapse, phone)["access_token"]
    new_password = "mat-khau-vinh-vien-" + secrets.token_hex(4)
    path = "/_matrix/client/v3/account/password"
    status, first = post(synapse, path, {"new_password": new_password}, token)
    if status == 401:  # user-interactive auth: answer it with a second code
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": national(phone)},
            "password": code_for(synapse, phone),
            "session": first.get("session"),
        }
        status, _ = post(synapse, path, {"new_password": new_password, "auth": auth}, token)
    assert status == 403, f"password change answered {status}"
    localpart = user_id[1:].split(":")[0]
    refused, _ = post(
        synapse,
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": new_password,
        },
    )
    assert refused == 403


def test_clients_are_told_passwords_cannot_change(synapse):
    _user_id, phone = provision(synapse)
    token = code_login(synapse, phone)["access_token"]
    capabilities = synapse.api("GET", "/_matrix/client/v3/capabilities", token=token)
    assert capabilities["capabilities"]["m.change_password"]["enabled"] is False


def test_an_admin_cannot_give_staff_a_password_either(synapse):
    user_id, _phone = provision(synapse)
    try:
        synapse.api("PUT", f"/_synapse/admin/v2/users/{user_id}", {"password": "x" * 20})
    except accounts.MatrixError as exc:
        assert exc.status == 403
    else:
        raise AssertionError("the admin API set a password")


def test_a_shared_secret_registration_password_does_not_log_in(synapse):
    localpart = f"u{secrets.token_hex(5)}"
    synapse.register_user(localpart, "mat-khau-dai-du")
    status, _ = post(
        synapse,
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": "mat-khau-dai-du",
        },
    )
    assert status == 403


def test_the_admin_and_the_bot_keep_their_passwords(synapse):
    setup = synapse.setup
    admin_password = setup.data.admin_password_path.read_text(encoding="utf-8").strip()
    admin = accounts.login(synapse.base_url, ADMIN_LOCALPART, admin_password)
    assert admin.user_id == setup.admin_user_id
    bot = setup.config.bot
    bot_id = synapse.user_id(bot.localpart)
    synapse.api("PUT", f"/_synapse/admin/v2/users/{bot_id}", {"displayname": bot.display_name})
    session = accounts.login(synapse.base_url, bot.localpart, bot.password)
    assert session.user_id == bot_id
    for wrong in ("", bot.password + "x", admin_password):
        try:
            accounts.login(synapse.base_url, bot.localpart, wrong)
        except accounts.MatrixError as exc:
            assert exc.status in (400, 403)
        else:
            raise AssertionError("a wrong service password logged in")
