"""Voice calls: Synapse, configured by the generator's TURN settings, hands out time-limited
credentials that coturn (``use-auth-secret``) accepts. No coturn needs to run: its check
is the HMAC below, the TURN REST scheme both sides implement."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import yaml

from dieuhanh.deploy import Answers, TurnAnswers
from dieuhanh.deploy.answers import Layout
from dieuhanh.deploy.coturn import turnserver_conf
from dieuhanh.deploy.synapse_config import turn

from ..conftest import running_synapse


def test_turn_server_gives_time_limited_credentials_coturn_would_accept(tmp_path):
    answers = Answers(
        server_name="dieuhanh.local",
        public_url="https://matrix.hcm.edu.vn",
        postgres_url="postgresql://postgres@127.0.0.1",
        etc_dir=tmp_path / "etc",
        turn=TurnAnswers(user_lifetime="1h"),
    )
    secret = "s3cret-shared-with-coturn"
    secret_path = Layout(answers).secret("turn_shared_secret")
    secret_path.parent.mkdir(parents=True)
    secret_path.write_text(secret + "\n", encoding="utf-8")
    conf_d = tmp_path / "data" / "synapse" / "conf.d"
    conf_d.mkdir(parents=True)
    (conf_d / "turn.yaml").write_text(yaml.safe_dump(turn(answers)), encoding="utf-8")
    assert f"static-auth-secret={secret}" in turnserver_conf(answers, secret).splitlines()

    with running_synapse(tmp_path / "data") as synapse:
        user = synapse.register_user()
        before = time.time()
        answer = synapse.api("GET", "/_matrix/client/v3/voip/turnServer", token=user.access_token)
        anonymous = None
        try:
            synapse.api("GET", "/_matrix/client/v3/voip/turnServer", token="not-a-token")
        except Exception as exc:  # the credentials are for logged-in users only
            anonymous = exc

    assert answer["uris"] == [
        "turns:matrix.hcm.edu.vn:5349?transport=udp",
        "turns:matrix.hcm.edu.vn:5349?transport=tcp",
        "turn:matrix.hcm.edu.vn:3478?transport=udp",
        "turn:matrix.hcm.edu.vn:3478?transport=tcp",
    ]
    expiry, user_id = answer["username"].split(":", 1)
    assert user_id == user.user_id
    assert before + 3600 - 5 <= int(expiry) <= time.time() + 3600 + 5  # valid one hour
    assert answer["ttl"] == 3600
    expected = hmac.new(secret.encode(), answer["username"].encode(), hashlib.sha1).digest()
    assert answer["password"] == base64.b64encode(expected).decode()
    assert anonymous is not None and getattr(anonymous, "status", None) == 401
