"""The worker profile on this machine: every process under the embedded stack's supervisor.

``dieuhanh deploy run DIR`` lays the profile out under DIR (etc/, var/, log/, with free
loopback ports), then starts Synapse's main process, its workers, nginx in front, the
bot and the bridge, and writes DIR/ready.json once the homeserver answers through nginx.
PostgreSQL and Redis must answer already (developer and CI machines have both; a user's
machine may install them from Debian). Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from dieuhanh.deploy import bootstrap, nginx
from dieuhanh.deploy.answers import Answers, Layout, Process, local_ports
from dieuhanh.deploy.generate import Bundle, generate, load_answers, write_bundle
from dieuhanh.deploy.secrets import load_or_create_secrets
from dieuhanh.embedded.ports import LOOPBACK, free_port
from dieuhanh.embedded.supervisor import Child, ChildSpec, Supervisor

log = logging.getLogger(__name__)

#: What `dieuhanh up` also keeps out of its children (the admin's credentials) and sets.
ADMIN_ENV = ("DIEUHANH_HOMESERVER_ADMIN_TOKEN", "DIEUHANH_HOMESERVER_REGISTRATION_SHARED_SECRET")
CHILD_ENV = {"PYTHONUNBUFFERED": "1", "DIEUHANH_HOMESERVER_ADMIN_TOKEN_FILE": ""}

START_TIMEOUT = 180.0


class RunError(RuntimeError):
    """The profile cannot start here (the message is in Vietnamese)."""


@dataclass(frozen=True)
class LocalProfile:
    """A profile laid out under one directory."""

    root: Path
    bundle: Bundle

    @property
    def answers(self) -> Answers:
        return self.bundle.answers

    @property
    def layout(self) -> Layout:
        return Layout(self.answers)

    @property
    def nginx_prefix(self) -> Path:
        return self.answers.var_dir / "nginx"

    @property
    def ready_path(self) -> Path:
        return self.root / "ready.json"


def port_allocator() -> Callable[[], int]:
    """Free loopback ports, never the same one twice."""
    taken: set[int] = set()

    def allocate() -> int:
        while (port := free_port(LOOPBACK)) in taken:
            continue
        taken.add(port)
        return port

    return allocate


def local_answers(root: Path, answers: Answers, allocate: Callable[[], int]) -> Answers:
    """``answers`` moved under ``root`` with free ports, plain HTTP, this Python and user."""
    root = root.resolve()
    moved = replace(
        answers,
        etc_dir=root / "etc",
        var_dir=root / "var",
        log_dir=root / "log",
        python=sys.executable,
        user=getpass.getuser(),
        bind_host=LOOPBACK,
        tls=False,
    )
    moved = local_ports(moved, allocate)
    url = moved.internal_url
    turn = replace(moved.turn, host=moved.turn.host or LOOPBACK)
    return replace(moved, public_url=url, turn=turn)


def prepare(root: Path, answers: Answers | None = None) -> LocalProfile:
    """Lay the profile out under ``root`` (reusing its answers and secrets, if any)."""
    root = root.resolve()
    kept = root / "etc" / "deploy.yaml"
    if answers is None:
        if not kept.exists():
            raise RunError(f"Chưa có cấu hình triển khai trong {root}.")
        answers = load_answers(kept)
    allocate = port_allocator()
    answers = local_answers(root, answers, allocate)
    secrets = load_or_create_secrets(answers.etc_dir / "secrets")
    bundle = generate(
        answers, secrets, existing_config=_existing(answers), allocate=allocate, system=False
    )
    write_bundle(bundle)
    profile = LocalProfile(root, bundle)
    _write_nginx(profile)
    return profile


def _existing(answers: Answers) -> dict | None:
    import yaml

    path = Layout(answers).config_yaml
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None


def _write_nginx(profile: LocalProfile) -> None:
    prefix = profile.nginx_prefix
    prefix.mkdir(parents=True, exist_ok=True)
    site = profile.bundle.text(profile.layout.nginx_site)
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    user = getpass.getuser() if os.geteuid() == 0 else None
    text = nginx.standalone_conf(site, str(prefix), user)
    (prefix / "nginx.conf").write_text(text, encoding="utf-8")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise RunError("Không tìm thấy nginx: hãy cài từ Debian (apt-get install nginx-light).")
    return found


def nginx_command(profile: LocalProfile) -> list[str]:
    prefix = str(profile.nginx_prefix)
    return [
        nginx_binary(),
        "-p",
        prefix,
        "-c",
        f"{prefix}/nginx.conf",
        "-e",
        f"{prefix}/error.log",
        "-g",
        "daemon off;",
    ]


# --- starting ------------------------------------------------------------------------


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


async def wait_http(
    url: str, child: Child | None, what: str, timeout: float = START_TIMEOUT
) -> None:
    """Until ``url`` answers 200; fail at once if ``child`` gave up, with its output."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(_http_ok, url):
        if child is not None and (child.failed or (child.exit_codes and not child.running)):
            raise RunError(f"{what} đã dừng trước khi sẵn sàng:\n{child.tail()}")
        if time.monotonic() > deadline:
            tail = child.tail() if child else ""
            raise RunError(f"{what} không trả lời ở {url} sau {timeout:.0f} giây.\n{tail}")
        await asyncio.sleep(0.2)


def synapse_spec(profile: LocalProfile, proc: Process) -> ChildSpec:
    return ChildSpec(
        f"synapse-{proc.name}",
        profile.layout.synapse_command(proc),
        cwd=profile.answers.var_dir,
        env=CHILD_ENV,
        unset_env=ADMIN_ENV,
        log_path=profile.answers.log_dir / f"synapse-{proc.name}.out",
    )


def service_spec(profile: LocalProfile, service: str) -> ChildSpec:
    """The bot or the bridge: config.yaml plus its own env file, no admin credentials."""
    layout = profile.layout
    env = {**CHILD_ENV, **read_env_file(layout.secret(f"{service}.env"))}
    argv = [sys.executable, "-m", "dieuhanh", service, "--config", str(layout.config_yaml)]
    return ChildSpec(
        service,
        argv,
        cwd=profile.answers.var_dir,
        env=env,
        unset_env=ADMIN_ENV,
        log_path=profile.answers.log_dir / f"{service}.log",
    )


def read_env_file(path: Path) -> dict[str, str]:
    """A systemd EnvironmentFile as written by the generator (KEY="value" lines)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.lstrip().startswith("#"):
            continue
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        values[key.strip()] = value
    return values


async def start_profile(
    supervisor: Supervisor, profile: LocalProfile, *, services: bool = True
) -> dict:
    """Synapse's processes, nginx, the first-start jobs, then (``services``) the bot and
    the bridge."""
    answers, procs = profile.answers, profile.bundle.processes
    host = answers.bind_host
    main = await supervisor.start(synapse_spec(profile, procs[0]))
    await wait_http(f"http://{host}:{procs[0].client_port}/health", main, "Synapse (main)")
    workers = [(p, await supervisor.start(synapse_spec(profile, p))) for p in procs[1:]]
    for proc, child in workers:
        await wait_http(f"http://{host}:{proc.replication_port}/health", child, proc.name)
    proxy = await supervisor.start(
        ChildSpec("nginx", nginx_command(profile), log_path=answers.log_dir / "nginx.out")
    )
    await wait_http(f"{answers.internal_url}/_matrix/client/versions", proxy, "nginx")
    await asyncio.to_thread(bootstrap.bootstrap, answers)
    if not services:
        return ready_info(profile)
    for service in ("bot", "bridge"):
        await supervisor.start(service_spec(profile, service))
    bridge_health = f"http://{host}:{answers.ports.bridge_metrics}/health"
    await wait_http(bridge_health, None, "bridge")
    return ready_info(profile)


def ready_info(profile: LocalProfile) -> dict:
    answers = profile.answers
    return {
        "url": answers.internal_url,
        "server_name": answers.server_name,
        "config": str(profile.layout.config_yaml),
        "pgpassfile": str(profile.layout.pgpass) if profile.layout.pgpass.exists() else None,
        "bot_metrics": f"http://{answers.bind_host}:{answers.ports.bot_metrics}",
        "bridge_metrics": f"http://{answers.bind_host}:{answers.ports.bridge_metrics}",
        "synapse_metrics": {
            p.name: f"http://{answers.bind_host}:{p.metrics_port}/_synapse/metrics"
            for p in profile.bundle.processes
        },
        "pids": {},
    }


async def _supervise(profile: LocalProfile, services: bool) -> int:
    supervisor = Supervisor(console=sys.stderr)

    async def startup() -> None:
        info = await start_profile(supervisor, profile, services=services)
        info["pids"] = {c.name: c.pid for c in supervisor.children}
        tmp = profile.ready_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
        tmp.replace(profile.ready_path)
        print(f"Điều hành (nhiều tiến trình) đã sẵn sàng: {info['url']}", flush=True)
        await supervisor.wait()

    try:
        return await supervisor.run(startup)
    finally:
        profile.ready_path.unlink(missing_ok=True)


def run_local(
    root: Path, answers: Answers | None, *, create_databases: bool = True, services: bool = True
) -> int:
    """Prepare and run the profile under ``root`` until stopped; an exit status.
    ``services=False``: Synapse and nginx only (benchmarks drive the homeserver themselves)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    profile = prepare(root, answers)
    if create_databases:
        bootstrap.ensure_databases(profile.answers)
    return asyncio.run(_supervise(profile, services))
