"""The generator of the worker profile: complete, valid, routed, secrets out of the config."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from dieuhanh.deploy import Answers, Secrets, generate, load_or_create_secrets, write_bundle
from dieuhanh.deploy import nginx as nginx_conf
from dieuhanh.deploy.answers import AnswerError, Layout, Ports
from dieuhanh.deploy.run import nginx_binary
from dieuhanh.deploy.synapse_config import REPLACED, embedded_settings

SERVER = "hcm.edu.vn"
PUBLIC = "https://matrix.hcm.edu.vn"


def answers(tmp: Path, **kwargs) -> Answers:
    values = {
        "server_name": SERVER,
        "public_url": PUBLIC,
        "postgres_url": "postgresql://synapse:p%40ss:w0rd@db.internal:5432",
        "redis_url": "redis://:redispw@127.0.0.1:6379/3",
        "etc_dir": tmp / "etc",
        "var_dir": tmp / "var",
        "log_dir": tmp / "log",
        **kwargs,
    }
    return Answers(**values)


@pytest.fixture
def bundle(tmp_path):
    return generate(answers(tmp_path), Secrets.generate())


def test_every_yaml_file_parses_and_synapse_loads_each_process(tmp_path):
    """Synapse's own config parser reads the shared file with each worker's (secrets read
    from their files, instance map and stream writers checked against each other)."""
    from synapse.config.homeserver import HomeServerConfig

    made = generate(answers(tmp_path, event_persisters=2, generic_workers=2), Secrets.generate())
    write_bundle(made, Path("/"))
    for path in made.files:
        if path.suffix == ".yaml":
            assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None, path
    layout = Layout(made.answers)
    for proc in made.processes:
        argv = layout.synapse_command(proc)[3:]  # the -c options
        config = HomeServerConfig.load_config("synapse", argv)
        assert config.worker.instance_name == (proc.name if not proc.is_main else "master")
        assert config.redis.redis_enabled and config.redis.redis_dbid == 3
        assert config.redis.redis_password == "redispw"
        assert config.worker.writers.events == ["event_persister1", "event_persister2"]
        assert config.worker.writers.typing == ["generic_worker1"]
        assert config.worker.writers.receipts == ["generic_worker1", "generic_worker2"]
        assert config.metrics.enable_metrics
        assert (
            config.voip.turn_shared_secret
            == (layout.secret("turn_shared_secret")).read_text(encoding="utf-8").strip()
        )
        assert config.registration.registration_shared_secret
        assert [m[0].__name__ for m in config.modules.loaded_modules] == [
            "PhoneLogin",
            "ServiceAccess",
        ]


def test_the_embedded_profiles_security_settings_are_kept(bundle):
    shared = yaml.safe_load(bundle.text(Layout(bundle.answers).homeserver_yaml))
    embedded = embedded_settings(SERVER, PUBLIC + "/")
    for key, value in embedded.items():
        if key not in REPLACED:
            assert shared[key] == value, key
    assert shared["password_config"] == {"localdb_enabled": False}
    assert shared["enable_registration"] is False and shared["federation_domain_whitelist"] == []


def test_no_secret_outside_the_secrets_directory(tmp_path):
    secrets = Secrets.generate()
    made = generate(answers(tmp_path), secrets)
    layout = Layout(made.answers)
    values = [*secrets.values.values(), "p@ss:w0rd", "redispw"]
    for path, generated in made.files.items():
        if path.is_relative_to(layout.secrets):
            assert generated.mode == 0o600, path
            continue
        for value in values:
            assert value not in generated.text, (path, value[:4])
    env = made.text(layout.secret("bot.env"))
    assert f'DIEUHANH_BOT_PASSWORD="{secrets["bot_password"]}"' in env
    assert "as_token" not in env.lower() and secrets["as_token"] not in env
    bridge = made.text(layout.secret("bridge.env"))
    assert secrets["as_token"] in bridge and secrets["bot_password"] not in bridge
    assert made.text(layout.pgpass) == "db.internal:5432:*:synapse:p@ss\\:w0rd\n"


def test_synapses_module_gets_its_own_role_not_the_owners(tmp_path):
    secrets = Secrets.generate()
    made = generate(answers(tmp_path, directory_database="hcm"), secrets)
    modules = yaml.safe_load(made.text(Layout(made.answers).modules_yaml))
    url = modules["modules"][0]["config"]["directory_database_url"]
    password = secrets["activity_db_password"]
    assert url == f"postgresql+psycopg://hcm_activity:{password}@db.internal:5432/hcm"
    assert made.answers.activity_role == "hcm_activity"
    # the owner's URL, with its password, stays with the bot and the bridge
    assert "w0rd" not in made.text(Layout(made.answers).modules_yaml)
    assert "synapse:p%40ss%3Aw0rd@" in made.text(Layout(made.answers).secret("bot.env"))


def test_a_directory_database_name_too_long_for_the_role_is_refused(tmp_path):
    with pytest.raises(AnswerError, match="dài quá 54 ký tự"):
        generate(answers(tmp_path, directory_database="d" * 55), Secrets.generate())
    assert generate(answers(tmp_path, directory_database="d" * 54), Secrets.generate())


def test_rewriting_keeps_secrets_and_the_admins_settings(tmp_path):
    root = tmp_path / "root"
    a = answers(Path("/x"))
    layout = Layout(a)
    first = generate(a, load_or_create_secrets(root / "x/etc/secrets"))
    write_bundle(first, root)
    config_path = root / "x/etc/config.yaml"
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["sms"]["gateway"] = "http"
    raw["sms"]["http"]["url"] = "https://sms.example.vn/send?to={to}"
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    again = generate(a, load_or_create_secrets(root / "x/etc/secrets"), existing_config=raw)
    assert again.config.bot.password == first.config.bot.password
    assert write_bundle(again, root)  # the modules file changed: the SMS settings moved in
    modules = yaml.safe_load((root / "x/etc/secrets/synapse-modules.yaml").read_text())
    assert modules["modules"][0]["config"]["sms"]["gateway"] == "http"
    kept = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert kept["sms"]["http"]["url"] == "https://sms.example.vn/send?to={to}"
    assert kept["sms"]["login_page_url"] == f"{PUBLIC}/_dieuhanh/dang-nhap"  # not internal
    assert kept["homeserver"]["url"] == a.internal_url
    assert (root / "x/etc/secrets/as_token").read_text().strip() == again.config.bridge.as_token
    assert layout.secrets == Path("/x/etc/secrets")


def test_the_invitations_page_follows_the_public_address_unless_the_admin_chose_one(tmp_path):
    first = generate(answers(tmp_path), Secrets.generate())
    assert first.config.sms.login_page_url == f"{PUBLIC}/_dieuhanh/dang-nhap"
    raw = first.config.to_dict()
    moved = generate(
        answers(tmp_path, public_url="https://dh.hcm.edu.vn"),
        Secrets.generate(),
        existing_config=raw,
    )
    assert moved.config.sms.login_page_url == "https://dh.hcm.edu.vn/_dieuhanh/dang-nhap"
    raw["sms"]["login_page_url"] = "https://dh.vn/ma"  # a short redirect of the admin's
    kept = generate(answers(tmp_path), Secrets.generate(), existing_config=raw)
    assert kept.config.sms.login_page_url == "https://dh.vn/ma"


# --- routing ----------------------------------------------------------------------------

#: Synapse's worker endpoint patterns for the worker types this profile uses (generic
#: workers, the typing and receipts stream writers; docs/workers.md), each with a request
#: path it must match. Federation is off in this deployment, so its endpoints are not here.
DOC_ENDPOINTS = {
    "generic": [
        (r"^/_matrix/client/(r0|v3)/sync$", "/_matrix/client/v3/sync"),
        (r"^/_matrix/client/(api/v1|r0|v3)/events$", "/_matrix/client/v3/events"),
        (r"^/_matrix/client/(api/v1|r0|v3)/initialSync$", "/_matrix/client/r0/initialSync"),
        (
            r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
            "/_matrix/client/v3/rooms/!a:s/initialSync",
        ),
        (r"^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$", "/_matrix/client/v3/createRoom"),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$",
            "/_matrix/client/v3/publicRooms",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/joined_members$",
            "/_matrix/client/v3/rooms/!a:s/joined_members",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/context/.*$",
            "/_matrix/client/v3/rooms/!a:s/context/$e",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/members$",
            "/_matrix/client/v3/rooms/!a:s/members",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state$",
            "/_matrix/client/v3/rooms/!a:s/state",
        ),
        (r"^/_matrix/client/v1/rooms/.*/hierarchy$", "/_matrix/client/v1/rooms/!a:s/hierarchy"),
        (
            r"^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
            "/_matrix/client/v1/rooms/!a:s/relations/$e",
        ),
        (r"^/_matrix/client/v1/rooms/.*/threads$", "/_matrix/client/v1/rooms/!a:s/threads"),
        (r"^/_matrix/client/v1/room_summary/.*$", "/_matrix/client/v1/room_summary/!a:s"),
        (r"^/_matrix/client/(r0|v3|unstable)/account/3pid$", "/_matrix/client/v3/account/3pid"),
        (
            r"^/_matrix/client/(r0|v3|unstable)/account/whoami$",
            "/_matrix/client/v3/account/whoami",
        ),
        (
            r"^/_matrix/client/(r0|v3|unstable)/account/deactivate$",
            "/_matrix/client/v3/account/deactivate",
        ),
        (r"^/_matrix/client/(r0|v3)/delete_devices$", "/_matrix/client/v3/delete_devices"),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)",
            "/_matrix/client/v3/devices/ABC",
        ),
        (r"^/_matrix/client/versions$", "/_matrix/client/versions"),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$",
            "/_matrix/client/v3/voip/turnServer",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/event/",
            "/_matrix/client/v3/rooms/!a:s/event/$e",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms$",
            "/_matrix/client/v3/joined_rooms",
        ),
        (
            r"^/_matrix/client/v1/rooms/.*/timestamp_to_event$",
            "/_matrix/client/v1/rooms/!a:s/timestamp_to_event",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases",
            "/_matrix/client/v3/rooms/!a:s/aliases",
        ),
        (r"^/_matrix/client/(api/v1|r0|v3|unstable)/search$", "/_matrix/client/v3/search"),
        (
            r"^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)",
            "/_matrix/client/v3/user/@u:s/filter/1",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/.*$",
            "/_matrix/client/v3/directory/room/%23a:s",
        ),
        (r"^/_matrix/client/(r0|v3|unstable)/capabilities$", "/_matrix/client/v3/capabilities"),
        (r"^/_matrix/client/(r0|v3|unstable)/notifications$", "/_matrix/client/v3/notifications"),
        (r"^/_matrix/client/(r0|v3|unstable)/keys/query$", "/_matrix/client/v3/keys/query"),
        (r"^/_matrix/client/(r0|v3|unstable)/keys/changes$", "/_matrix/client/v3/keys/changes"),
        (r"^/_matrix/client/(r0|v3|unstable)/keys/claim$", "/_matrix/client/v3/keys/claim"),
        (r"^/_matrix/client/(r0|v3|unstable)/room_keys/", "/_matrix/client/v3/room_keys/keys"),
        (r"^/_matrix/client/(r0|v3|unstable)/keys/upload", "/_matrix/client/v3/keys/upload"),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$",
            "/_matrix/client/v3/keys/device_signing/upload",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$",
            "/_matrix/client/v3/keys/signatures/upload",
        ),
        (r"^/_matrix/client/(api/v1|r0|v3|unstable)/login$", "/_matrix/client/v3/login"),
        (r"^/_matrix/client/(r0|v3|unstable)/register$", "/_matrix/client/v3/register"),
        (
            r"^/_matrix/client/(r0|v3|unstable)/register/available$",
            "/_matrix/client/v3/register/available",
        ),
        (
            r"^/_matrix/client/(r0|v3|unstable)/password_policy$",
            "/_matrix/client/v3/password_policy",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/redact",
            "/_matrix/client/v3/rooms/!a:s/redact/$e/t1",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send",
            "/_matrix/client/v3/rooms/!a:s/send/m.room.message/t1",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state/",
            "/_matrix/client/v3/rooms/!a:s/state/m.room.name/",
        ),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(join|invite|leave|ban|unban|kick)$",
            "/_matrix/client/v3/rooms/!a:s/invite",
        ),
        (r"^/_matrix/client/(api/v1|r0|v3|unstable)/join/", "/_matrix/client/v3/join/%23a:s"),
        (r"^/_matrix/client/(api/v1|r0|v3|unstable)/knock/", "/_matrix/client/v3/knock/!a:s"),
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/profile/",
            "/_matrix/client/v3/profile/@u:s/displayname",
        ),
        # the receipts stream's endpoints (its writers are the generic workers)
        (
            r"^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt",
            "/_matrix/client/v3/rooms/!a:s/receipt/m.read/$e",
        ),
        (
            r"^/_matrix/client/(r0|v3|unstable)/rooms/.*/read_markers",
            "/_matrix/client/v3/rooms/!a:s/read_markers",
        ),
    ],
    "typing": [
        (
            r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing",
            "/_matrix/client/v3/rooms/!a:s/typing/@u:s",
        )
    ],
    # the user directory's search: to the worker that updates the directory
    "background": [
        (
            r"^/_matrix/client/(r0|v3|unstable)/user_directory/search$",
            "/_matrix/client/v3/user_directory/search",
        )
    ],
}
UPSTREAMS = {
    "generic": "synapse_generic",
    "typing": "synapse_typing",
    "background": "synapse_background",
}
#: What stays on the main process, or goes to the bridge.
OTHERS = [
    ("/_synapse/admin/v1/register", "synapse_main"),
    ("/_synapse/admin/v2/users/@u:s", "synapse_main"),
    ("/_matrix/client/v3/rooms/!a:s/messages", "synapse_main"),  # pagination: one process
    ("/_matrix/media/v3/upload", "synapse_main"),
    ("/_matrix/client/v1/media/download/s/abc", "synapse_main"),
    ("/_dieuhanh/dang-nhap", "synapse_main"),
    ("/_dieuhanh/api/ma-dang-nhap", "synapse_main"),
    ("/_dieuhanh/service/v1/inbox/join", "synapse_main"),
    ("/_matrix/client/v1/appservice/dieuhanh-bridge/ping", "synapse_main"),
    ("/_dieuhanh/gui-thong-bao", "dieuhanh_bridge_web"),
    ("/_dieuhanh/gui-thong-bao/dang-nhap", "dieuhanh_bridge_web"),
    ("/_dieuhanh/api/tin-tuc", "dieuhanh_bridge_web"),
    ("/health", "synapse_main"),
]


def nginx_route(conf: str, path: str) -> str:
    """The upstream nginx picks for ``path``, by its rules: the longest matching prefix
    location, unless it is ``^~``; otherwise the first matching regex location, in order;
    otherwise that prefix location."""
    locations = re.findall(r"location (\^~ |~ |= )?(\S+) \{ proxy_pass http://(\w+); \}", conf)
    prefixes = [(loc, up, mod) for mod, loc, up in locations if mod in ("", "^~ ")]
    best = max((p for p in prefixes if path.startswith(p[0])), key=lambda p: len(p[0]))
    if best[2] == "^~ ":
        return best[1]
    for mod, loc, up in locations:
        if mod == "~ " and re.search(loc, path):
            return up
    return best[1]


def test_routes_cover_synapses_worker_endpoints(bundle):
    conf = bundle.text(Layout(bundle.answers).nginx_routes)
    for group, endpoints in DOC_ENDPOINTS.items():
        for pattern, path in endpoints:
            assert re.search(pattern, path), (pattern, path)  # the sample is right
            assert nginx_route(conf, path) == UPSTREAMS[group], (pattern, path)
    for path, upstream in OTHERS:
        assert nginx_route(conf, path) == upstream, path


def test_without_generic_workers_everything_goes_to_main(tmp_path):
    made = generate(answers(tmp_path, generic_workers=0, event_persisters=1), Secrets.generate())
    conf = made.text(Layout(made.answers).nginx_routes)
    assert nginx_route(conf, "/_matrix/client/v3/sync") == "synapse_main"
    # but the user directory's search: to the worker that updates the directory
    assert nginx_route(conf, USER_DIRECTORY_SEARCH) == "synapse_background"
    shared = yaml.safe_load(made.text(Layout(made.answers).homeserver_yaml))
    assert shared["stream_writers"] == {"events": ["event_persister1"]}
    assert made.config.homeserver.workers is False  # apply keeps the admin join API


def test_with_generic_workers_apply_joins_people_as_themselves(tmp_path):
    made = generate(answers(tmp_path, generic_workers=1), Secrets.generate())
    assert made.config.homeserver.workers is True  # provisioning.matrix.person_joins


def test_sync_is_balanced_by_user_over_several_generic_workers(tmp_path):
    made = generate(answers(tmp_path, generic_workers=3), Secrets.generate())
    site = made.text(Layout(made.answers).nginx_site)
    generic = re.search(r"upstream synapse_generic \{(.*?)\}", site, re.S).group(1)
    assert "hash $dh_localpart consistent;" in generic
    assert len(re.findall(r"server 127\.0\.0\.1:\d+;", generic)) == 3
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in made.text(
        Layout(made.answers).nginx_routes
    )
    # the public server publishes neither the admin API nor the scoped service API
    public = site.split("listen 443 ssl")[1]
    assert "location ^~ /_synapse/admin { return 404; }" in public
    assert "location ^~ /_dieuhanh/service/ { return 404; }" in public


# --- Synapse's background work -----------------------------------------------------------

USER_DIRECTORY_SEARCH = "/_matrix/client/v3/user_directory/search"
DUTIES = (
    "run_background_tasks_on",
    "update_user_directory_from_worker",
    "notify_appservices_from_worker",
    "pusher_instances",
    "federation_sender_instances",
)


def test_synapses_background_work_runs_on_the_background_worker_only(tmp_path):
    """Synapse's own parser, for each process: the background tasks, the user directory's
    updates, the appservice's notifications, the pushers and the federation sender are the
    background worker's and no other process's (the main one included)."""
    from synapse.config.homeserver import HomeServerConfig

    made = generate(answers(tmp_path, event_persisters=2, generic_workers=2), Secrets.generate())
    write_bundle(made, Path("/"))
    assert [p.name for p in made.processes] == [
        "main",
        "event_persister1",
        "event_persister2",
        "generic_worker1",
        "generic_worker2",
        "background",
    ]
    layout = Layout(made.answers)
    for proc in made.processes:
        worker = HomeServerConfig.load_config("synapse", layout.synapse_command(proc)[3:]).worker
        ours = proc.name == "background"
        assert worker.run_background_tasks is ours, proc.name
        assert worker.should_update_user_directory is ours, proc.name
        assert worker.should_notify_appservices is ours, proc.name
        assert worker.start_pushers is ours, proc.name
        assert worker.send_federation is ours, proc.name  # it finds no remote server


def test_the_background_worker_answers_the_user_directory_search(tmp_path):
    made = generate(answers(tmp_path, generic_workers=2), Secrets.generate())
    layout = Layout(made.answers)
    background = next(p for p in made.processes if p.role == "background")
    site = made.text(layout.nginx_site)
    upstream = re.search(r"upstream synapse_background \{(.*?)\}", site, re.S).group(1)
    assert re.findall(r"server (\S+);", upstream) == [f"127.0.0.1:{background.client_port}"]
    listeners = yaml.safe_load(made.text(layout.worker_yaml("background")))["worker_listeners"]
    assert listeners[0]["port"] == background.client_port
    assert listeners[0]["resources"] == [{"names": ["client"], "compress": False}]
    assert nginx_route(made.text(layout.nginx_routes), USER_DIRECTORY_SEARCH) == (
        "synapse_background"
    )
    shared = yaml.safe_load(made.text(layout.homeserver_yaml))
    assert shared["instance_map"]["background"] == {
        "host": "127.0.0.1",
        "port": background.replication_port,
    }
    target = made.text(Path("/etc/systemd/system/dieuhanh.target"))
    assert "dieuhanh-synapse-worker@background.service" in target


def process_ports(made) -> list[int]:
    return [
        port
        for p in made.processes
        for port in (p.replication_port, p.metrics_port, p.client_port)
        if port is not None
    ]


def test_every_process_has_ports_of_its_own(tmp_path):
    made = generate(answers(tmp_path, event_persisters=4, generic_workers=2), Secrets.generate())
    ports = process_ports(made)
    assert len(ports) == len(set(ports)), ports


def test_a_citys_workers_have_ports_of_their_own(tmp_path):
    # 4 persisters, 6 generic workers and the background worker (README's city): the
    # workers' replication ports once counted up from main's into its metrics port
    made = generate(answers(tmp_path, event_persisters=4, generic_workers=6), Secrets.generate())
    assert len(made.processes) == 12
    ports = process_ports(made)
    assert len(ports) == len(set(ports)), ports


def test_ports_that_would_collide_are_refused(tmp_path):
    clash = Ports(worker_replication=9101)  # the first worker's replication: main's metrics
    with pytest.raises(AnswerError, match="Cổng 9101 bị dùng hai lần"):
        generate(answers(tmp_path, event_persisters=2, ports=clash), Secrets.generate())


def test_without_the_background_worker_main_keeps_synapses_background_work(tmp_path):
    made = generate(answers(tmp_path, background_worker=False), Secrets.generate())
    layout = Layout(made.answers)
    assert "background" not in {p.role for p in made.processes}
    shared = yaml.safe_load(made.text(layout.homeserver_yaml))
    assert not set(DUTIES) & set(shared), shared.keys()
    assert nginx_route(made.text(layout.nginx_routes), USER_DIRECTORY_SEARCH) == "synapse_generic"
    assert "synapse_background" not in made.text(layout.nginx_site)
    # and the answer is kept for a later regeneration
    assert "background_worker: false" in made.text(layout.profile_yaml)


def _self_signed(directory: Path) -> None:
    directory.mkdir(parents=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=matrix.hcm.edu.vn",
            "-keyout",
            str(directory / "privkey.pem"),
            "-out",
            str(directory / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )


@pytest.mark.nginx
@pytest.mark.parametrize("tls", [True, False])
def test_nginx_accepts_the_generated_site(tmp_path, tls):
    made = generate(answers(tmp_path, tls=tls, generic_workers=2), Secrets.generate())
    write_bundle(made, Path("/"))
    layout = Layout(made.answers)
    site = made.text(layout.nginx_site)
    if tls:  # certbot's certificate, stood in for by a self-signed one
        _self_signed(tmp_path / "live")
        site = site.replace("/etc/letsencrypt/live/matrix.hcm.edu.vn", str(tmp_path / "live"))
        site = re.sub(r"listen (\[::\]:)?(80|443)\b", lambda m: m.group(0) + "0", site)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    conf = nginx_conf.standalone_conf(site, str(prefix), "root")
    (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
    done = subprocess.run(
        [
            nginx_binary(),
            "-t",
            "-p",
            str(prefix),
            "-c",
            str(prefix / "nginx.conf"),
            "-e",
            str(prefix / "error.log"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


# --- coturn and systemd --------------------------------------------------------------------


def test_coturn_uses_synapses_shared_secret_and_refuses_internal_peers(bundle):
    layout = Layout(bundle.answers)
    conf = bundle.text(layout.turnserver_conf)
    secret = bundle.text(layout.secret("turn_shared_secret")).strip()
    lines = conf.splitlines()
    assert "use-auth-secret" in lines and f"static-auth-secret={secret}" in lines
    assert f"realm={SERVER}" in lines
    for private in (
        "10.0.0.0-10.255.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
        "172.16.0.0-172.31.255.255",
    ):
        assert f"denied-peer-ip={private}" in lines
    shared = yaml.safe_load(bundle.text(layout.homeserver_yaml))
    assert shared["turn_uris"][0] == "turns:matrix.hcm.edu.vn:5349?transport=udp"
    assert shared["turn_shared_secret_path"] == str(layout.secret("turn_shared_secret"))
    assert "turn_shared_secret" not in shared


def unit(bundle, name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(bundle.text(Path("/etc/systemd/system") / name))
    return parser


def test_systemd_units_run_each_process_and_keep_the_services_apart(bundle):
    layout = Layout(bundle.answers)
    worker = unit(bundle, "dieuhanh-synapse-worker@.service")["Service"]["ExecStart"]
    assert "synapse.app.generic_worker" in worker and "/workers/%i.yaml" in worker
    assert str(layout.modules_yaml) in worker
    wants = unit(bundle, "dieuhanh.target")["Unit"]["Wants"].split()
    for name in ("event_persister1", "event_persister2", "generic_worker1"):
        assert f"dieuhanh-synapse-worker@{name}.service" in wants
    bot = unit(bundle, "dieuhanh-bot.service")["Service"]
    bridge = unit(bundle, "dieuhanh-bridge.service")["Service"]
    assert bot["User"] == "dieuhanh-bot" and bridge["User"] == "dieuhanh-bridge"
    assert bot["EnvironmentFile"] == str(layout.secret("bot.env"))
    assert unit(bundle, "dieuhanh-synapse.service")["Service"]["User"] == "dieuhanh"
    coturn = bundle.text("/etc/systemd/system/dieuhanh-coturn.service").splitlines()
    assert f"LoadCredential=turnserver.conf:{layout.turnserver_conf}" in coturn


def test_the_grafana_dashboard_shows_only_metrics_we_export():
    import json

    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "deploy/grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    sources = "".join(
        (root / f).read_text(encoding="utf-8")
        for f in ("bot/metrics.py", "bridge/metrics.py", "dieuhanh/apply_metrics.py")
    )
    names = {n for e in exprs for n in re.findall(r"\bdieuhanh_[a-z_]+", e)}
    assert len(names) >= 12
    for name in names:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        short = base.removeprefix("dieuhanh_bridge_")  # the bridge's counters: ("posted", …)
        assert f'"{base}"' in sources or f'("{short}",' in sources, name


def test_the_reconcile_loop_runs_as_its_own_service_with_the_admin_token(bundle):
    wants = unit(bundle, "dieuhanh.target")["Unit"]["Wants"].split()
    assert "dieuhanh-apply-watch.service" in wants
    watch = unit(bundle, "dieuhanh-apply-watch.service")["Service"]
    assert watch["Type"] == "simple" and watch["Restart"] == "on-failure"
    assert watch["ExecStart"].endswith("-m dieuhanh apply --watch")
    assert watch["User"] == "dieuhanh"  # the admin's token is in the secrets directory
