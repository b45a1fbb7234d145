"""What an admin answers for a deployment, and what follows from it: paths, processes, ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Synapse's instance name of the main process.
MAIN = "main"


class AnswerError(ValueError):
    """An answer that cannot be used (the message is in Vietnamese)."""


@dataclass(frozen=True)
class TurnAnswers:
    """coturn, for Element's 1:1 voice and video calls."""

    enabled: bool = True
    host: str = ""  # default: the public URL's host
    port: int = 3478  # STUN/TURN over UDP and TCP
    tls_port: int = 5349  # TURN over TLS (and DTLS)
    min_relay_port: int = 49152
    max_relay_port: int = 65535
    external_ip: str = ""  # the public address, when the machine sits behind NAT
    user_lifetime: str = "1h"  # how long the credentials Synapse hands out stay valid


@dataclass(frozen=True)
class Ports:
    """Listening ports of the default layout (all on ``bind_host`` except nginx's public)."""

    internal_http: int = 8080  # nginx for our own services (plain HTTP, loopback)
    public_http: int = 80
    public_https: int = 443
    main_client: int = 8008
    replication: int = 9093  # main
    worker_replication: int = 9301  # first worker; the others count up (up to 99 apart
    # from the others' bases: a city's 4 persisters, 6 workers and the background worker)
    worker_client: int = 8083  # first worker; the others count up
    metrics: int = 9101  # main; workers count up from here
    bot_metrics: int = 9201
    bridge_metrics: int = 9202
    appservice: int = 29340
    web: int = 29341


@dataclass(frozen=True)
class Answers:
    """The few answers a deployment is generated from."""

    server_name: str
    public_url: str
    postgres_url: str  # the server: postgresql://user[:password]@host[:port]
    redis_url: str = "redis://127.0.0.1:6379/0"
    event_persisters: int = 2
    generic_workers: int = 1
    #: a worker for Synapse's background work (user directory, appservice notifications,
    #: pushers, background tasks), off the main process
    background_worker: bool = True
    synapse_database: str = "synapse"
    directory_database: str = "dieuhanh"
    etc_dir: Path = Path("/etc/dieuhanh")
    var_dir: Path = Path("/var/lib/dieuhanh")
    log_dir: Path = Path("/var/log/dieuhanh")
    python: str = "/opt/dieuhanh/venv/bin/python"
    user: str = "dieuhanh"
    bind_host: str = "127.0.0.1"
    tls: bool = True  # the public nginx server speaks HTTPS (certificates from certbot)
    ports: Ports = field(default_factory=Ports)
    turn: TurnAnswers = field(default_factory=TurnAnswers)

    def check(self) -> Answers:
        """Self, once every answer is usable; AnswerError otherwise."""
        if not self.server_name or "/" in self.server_name or ":" in self.server_name:
            raise AnswerError(f"Tên máy chủ không hợp lệ: {self.server_name!r}.")
        url = urlsplit(self.public_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise AnswerError(
                f"Địa chỉ công khai phải là https://…, nhận được {self.public_url!r}."
            )
        if urlsplit(self.postgres_url).scheme not in ("postgresql", "postgres"):
            raise AnswerError("Địa chỉ PostgreSQL phải có dạng postgresql://người_dùng@máy:cổng.")
        if urlsplit(self.redis_url).scheme != "redis":
            raise AnswerError("Địa chỉ Redis phải có dạng redis://máy:cổng/số_csdl.")
        if not 0 <= self.event_persisters <= 32 or not 0 <= self.generic_workers <= 32:
            raise AnswerError("Số event persister và generic worker phải từ 0 đến 32.")
        if len(self.activity_role) > 63:  # PostgreSQL would cut the role's name short
            raise AnswerError("Tên cơ sở dữ liệu thư mục dài quá 54 ký tự.")
        return self

    @property
    def activity_role(self) -> str:
        """The PostgreSQL role of Synapse's login module: ``account_activity`` only (one
        per directory database, so deployments sharing a server stay apart)."""
        return f"{self.directory_database}_activity"

    @property
    def public_host(self) -> str:
        return urlsplit(self.public_url).hostname or self.server_name

    @property
    def turn_host(self) -> str:
        return self.turn.host or self.public_host

    @property
    def internal_url(self) -> str:
        """Where our services and admin commands reach the homeserver (through nginx)."""
        return f"http://{self.bind_host}:{self.ports.internal_http}"

    def with_ports(self, ports: Ports) -> Answers:
        return replace(self, ports=ports)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str | None

    @classmethod
    def parse(cls, url: str) -> PostgresServer:
        parts = urlsplit(url)
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 5432,
            unquote(parts.username or "postgres"),
            unquote(parts.password) if parts.password else None,
        )

    def sqlalchemy_url(self, database: str) -> str:
        """Our services' URL (no password: it comes from the pgpass file)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    dbid: int
    password: str | None

    @classmethod
    def parse(cls, url: str) -> RedisServer:
        parts = urlsplit(url)
        path = parts.path.strip("/")
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 6379,
            int(path) if path.isdigit() else 0,
            unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class Process:
    """One Synapse process: its instance name, role and ports."""

    name: str
    role: str  # main | event_persister | generic_worker | background
    replication_port: int
    metrics_port: int
    client_port: int | None  # None: serves no client API

    @property
    def is_main(self) -> bool:
        return self.role == "main"


#: Synapse's instance name of the background worker.
BACKGROUND = "background"


def processes(answers: Answers) -> list[Process]:
    """The main process, then the event persisters, the generic workers, and the
    background worker (it answers the user directory's search, so it has a client port)."""
    p = answers.ports
    found = [Process(MAIN, "main", p.replication, p.metrics, p.main_client)]
    roles = [
        ("event_persister", answers.event_persisters),
        ("generic_worker", answers.generic_workers),
        ("background", 1 if answers.background_worker else 0),
    ]
    index = 0
    for role, count in roles:
        for n in range(1, count + 1):
            index += 1
            client = p.worker_client + index - 1 if role != "event_persister" else None
            name = BACKGROUND if role == "background" else f"{role}{n}"
            replication = p.worker_replication + index - 1
            found.append(Process(name, role, replication, p.metrics + index, client))
    return found


def local_ports(answers: Answers, allocate: Callable[[], int]) -> Answers:
    """The answers with every port taken from ``allocate`` (free loopback ports), for a run
    on a machine where the default ports may be taken. Workers' ports are set per process
    by ``processes_with``."""
    names = [n for n in Ports.__dataclass_fields__ if not n.startswith("public")]
    ports = Ports(**{n: allocate() for n in names}, public_http=0, public_https=0)
    return answers.with_ports(ports)


def processes_with(answers: Answers, allocate: Callable[[], int] | None) -> list[Process]:
    """``processes(answers)``, with each worker's ports from ``allocate`` when given."""
    planned = processes(answers)
    if allocate is None:
        return planned
    out = [planned[0]]
    for proc in planned[1:]:
        client = allocate() if proc.client_port is not None else None
        out.append(
            replace(proc, replication_port=allocate(), metrics_port=allocate(), client_port=client)
        )
    return out


def check_ports(answers: Answers, procs: list[Process]) -> None:
    """AnswerError if two listeners would share a port (workers' ports count up from the
    bases: with many workers the replication ports reach the metrics ones)."""
    p = answers.ports
    named = [
        ("nginx", p.internal_http),
        ("nginx", p.public_http),
        ("nginx", p.public_https),
        ("bot", p.bot_metrics),
        ("bridge", p.bridge_metrics),
        ("bridge", p.appservice),
        ("web", p.web),
    ]
    for proc in procs:
        ports = (proc.client_port, proc.replication_port, proc.metrics_port)
        named += [(proc.name, port) for port in ports if port is not None]
    seen: dict[int, str] = {}
    for name, port in named:
        if port and port in seen:
            raise AnswerError(
                f"Cổng {port} bị dùng hai lần ({seen[port]}, {name}): hãy bớt worker "
                "hoặc đổi cổng gốc (ports) trong deploy.yaml."
            )
        seen[port] = name


@dataclass(frozen=True)
class Layout:
    """Where each file of a deployment lives."""

    answers: Answers

    @property
    def etc(self) -> Path:
        return self.answers.etc_dir

    @property
    def var(self) -> Path:
        return self.answers.var_dir

    @property
    def secrets(self) -> Path:
        return self.etc / "secrets"

    def secret(self, name: str) -> Path:
        return self.secrets / name

    @property
    def synapse_etc(self) -> Path:
        return self.etc / "synapse"

    @property
    def homeserver_yaml(self) -> Path:
        return self.synapse_etc / "homeserver.yaml"

    @property
    def conf_d(self) -> Path:
        return self.synapse_etc / "conf.d"

    def worker_yaml(self, name: str) -> Path:
        return self.synapse_etc / "workers" / f"{name}.yaml"

    def log_config(self, name: str) -> Path:
        return self.synapse_etc / "log" / f"{name}.yaml"

    @property
    def modules_yaml(self) -> Path:
        """Synapse's modules section: it holds the login module's secret."""
        return self.secret("synapse-modules.yaml")

    @property
    def appservice_yaml(self) -> Path:
        return self.secret("appservice-bridge.yaml")

    @property
    def media(self) -> Path:
        return self.var / "synapse" / "media"

    @property
    def config_yaml(self) -> Path:
        return self.etc / "config.yaml"

    @property
    def bot_store(self) -> Path:
        return self.var / "bot"

    @property
    def pgpass(self) -> Path:
        return self.secret("pgpass")

    @property
    def nginx_site(self) -> Path:
        return self.etc / "nginx" / "dieuhanh.conf"

    @property
    def nginx_routes(self) -> Path:
        return self.etc / "nginx" / "dieuhanh-routes.conf"

    @property
    def turnserver_conf(self) -> Path:
        return self.secret("turnserver.conf")

    @property
    def profile_yaml(self) -> Path:
        """The answers themselves: what `dieuhanh backup` and a later regeneration read."""
        return self.etc / "deploy.yaml"

    def synapse_command(self, proc: Process) -> list[str]:
        """The command line of one Synapse process."""
        app = "synapse.app.homeserver" if proc.is_main else "synapse.app.generic_worker"
        argv = [self.answers.python, "-m", app, "-c", str(self.homeserver_yaml)]
        argv += ["-c", str(self.conf_d), "-c", str(self.modules_yaml)]
        if not proc.is_main:
            argv += ["-c", str(self.worker_yaml(proc.name))]
        return argv
