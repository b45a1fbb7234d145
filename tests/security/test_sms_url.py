"""Finding 7: with a GET SMS gateway the code sat in the URL, which Synapse logs
("Received response to GET http://…?text=…123456…"); a provider key in the URL too.

The URL template may hold only {to} / {to_local}: no {text}, no credentials (they go in
headers, the text in the body). Refused when the configuration is read, with a message
saying why; and after a whole login flow through the HTTP gateway, no code and no key
appears in any log line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from synapse.module_api.errors import ConfigError

from dieuhanh.embedded.synapse import SynapseStartError
from provisioning.identity.sms import gateway_from_config
from provisioning.identity.synapse_module import PhoneLogin

from ..conftest import running_synapse
from ..identity.test_login import SHAPES, login, provision, request_code
from ..identity.test_sms import Provider
from ..waiting import eventually

SECRET = "s" * 32
KEY = "K3yOfTheProvider9"
BODY = '{"to": "{to}", "message": "{text}"}'

REFUSED_URLS = {
    "text in the query": "https://sms.example.vn/send?to={to}&text={text}",
    "text in the path": "https://sms.example.vn/send/{to}/{text}",
    "api key in the query": "https://sms.example.vn/send?ApiKey=abc123&to={to}",
    "token in the query": "https://sms.example.vn/send?to={to_local}&access_token=abc",
    "secret in the query": "https://sms.example.vn/send?client_secret=abc",
    "password in the query": "https://sms.example.vn/send?user=u&pass=p",
    "user and password in the address": "https://user:pw@sms.example.vn/send",
}


def http_sms(url: str, method: str = "POST", body: str = BODY) -> dict:
    return {
        "gateway": "http",
        "file_path": "",
        "http": {"url": url, "method": method, "headers": {}, "body_template": body},
    }


@pytest.mark.parametrize("url", REFUSED_URLS.values(), ids=REFUSED_URLS.keys())
def test_url_templates_with_the_text_or_credentials_are_refused(url):
    with pytest.raises(ConfigError, match=r"sms\.http\.url"):
        PhoneLogin.parse_config({"secret": SECRET, "sms": http_sms(url, "GET", "")})
    with pytest.raises(ValueError, match=r"sms\.http\.url"):
        gateway_from_config(http_sms(url, "GET", ""), fetch=lambda *a: None)


@pytest.mark.parametrize(
    "url",
    [
        "https://sms.example.vn/send",
        "https://sms.example.vn/send?to={to}",
        "https://sms.example.vn/v2/{to_local}/messages?brand=SoGDDT&type=2",
    ],
)
def test_url_templates_with_only_the_number_are_accepted(url):
    PhoneLogin.parse_config({"secret": SECRET, "sms": http_sms(url)})
    gateway_from_config(http_sms(url), fetch=lambda *a: None)


def every_log(synapse) -> str:
    folder: Path = synapse.setup.synapse.config_dir
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.glob("*.log*"))


def test_a_get_gateway_with_the_text_in_its_url_never_runs(tmp_path):
    """What an operator following a GET provider's manual would write."""
    provider = Provider()

    def get_gateway(raw: dict) -> None:
        raw["sms"] = http_sms(provider.url + "/sms?to={to}&text={text}", "GET", "")

    try:
        with (
            pytest.raises(SynapseStartError, match=r"\{text\}"),
            running_synapse(tmp_path, get_gateway) as synapse,
        ):
            # reached only if the configuration was accepted: then codes end up in the log
            _, phone = provision(synapse)
            assert request_code(synapse, phone)[0] == 200
            eventually(
                lambda: "Received response to GET" in every_log(synapse),
                10,
                "Synapse to log the gateway's GET",
            )
            code = re.search(r"text=[^&]*?(\d{6})", every_log(synapse))
            assert code is None, f"the code is in Synapse's log: {code.group(0)}"
    finally:
        provider.close()


def test_no_code_nor_key_in_any_log_after_a_login_through_the_http_gateway(tmp_path):
    provider = Provider()

    def post_gateway(raw: dict) -> None:
        raw["sms"] = http_sms(provider.url + "/sms?to={to}")
        raw["sms"]["http"]["headers"] = {"Authorization": f"Bearer {KEY}"}

    try:
        with running_synapse(tmp_path, post_gateway) as synapse:
            user_id, phone = provision(synapse)
            assert request_code(synapse, phone)[0] == 200
            eventually(lambda: provider.received, 10, "the provider to receive the SMS")
            sms = json.loads(provider.received[-1]["body"])
            code = re.search(r"\b(\d{6})\b", sms["message"]).group(1)
            assert provider.received[-1]["path"] == f"/sms?to=%2B{phone[1:]}"
            status, body = login(synapse, SHAPES["element-android m.id.user typed"](phone), code)
            assert (status, body["user_id"]) == (200, user_id)
            logs = every_log(synapse)
            assert "Received response to POST" in logs  # the gateway's request was logged…
            assert code not in logs and KEY not in logs  # …without the code or the key
    finally:
        provider.close()
