"""Benchmark: how soon a fresh ``dieuhanh up`` (what ``make run`` runs) is usable.

Starts ``dieuhanh up`` on a fresh temporary data directory and a free loopback port, reads
its console, and acts as a newcomer would, printing the seconds since the start at which:

- ``ready``: the banner ("Nhấn Ctrl-C để dừng.");
- ``bot``: the bot logged in (its console line), ``bot synced``: its first sync done;
- ``official``: the Sở's Giám đốc logged in with phone + code (the code requested on the
  module's API, read from the development SMS sink ``data/sms.jsonl``, as tests do);
- ``!gui answered``: the bot answered their ``!gui HT: …`` in a DM with a post code;
- ``delivered``: every delivery of that post sent, and a principal, logged in with phone +
  code, sees the post in their own /sync;
- ``provisioned``: up's line "Đã đồng bộ danh bạ vào Matrix" (the whole demo applied).

Everything stays on 127.0.0.1. The admin token (from the data directory) is used only to
wait for an account to exist before its code is requested (a number gets 5 codes an hour).

    .venv/bin/python bench/first_run.py                       # up's default demo
    .venv/bin/python bench/first_run.py --demo district-lite  # a preset, given as up's --demo
    .venv/bin/python bench/first_run.py --demo demo --demo district-lite --runs 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dieuhanh.config import Config, load_config
from dieuhanh.db import open_database
from dieuhanh.embedded import accounts
from dieuhanh.embedded.ports import LOOPBACK, free_port
from provisioning.view import load_view
from provisioning.vocab import Position

ROOT = Path(__file__).resolve().parent.parent
STEPS = (
    "ready",
    "bot",
    "bot synced",
    "official",
    "!gui answered",
    "delivered",
    "provisioned",
)
#: what the official sends: every principal in their scope (the whole demo for the Sở)
GUI_LINE = "!gui tất cả HT: Mời họp giao ban hiệu trưởng sáng thứ Hai."
#: console lines that mark a step (a substring of the line)
LINE_MARKS = {
    "ready": "Nhấn Ctrl-C để dừng.",
    "bot": "logged in as @",
    "bot synced": "initial sync done",
    "provisioned": "Đã đồng bộ danh bạ vào Matrix",
}


class Console:
    """``dieuhanh up``'s output, each line with the time it arrived."""

    def __init__(self, process: subprocess.Popen[str], started: float) -> None:
        self.process, self.started = process, started
        self.lines: list[tuple[float, str]] = []
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put((time.monotonic() - self.started, line.rstrip("\n")))
        self._queue.put(None)

    def drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                raise RuntimeError("dieuhanh up exited:\n" + self.tail(40))
            self.lines.append(item)

    def first(self, mark: str) -> float | None:
        self.drain()
        return next((t for t, line in self.lines if mark in line), None)

    def drain_quietly(self) -> None:
        """What is left of the output of a process that has stopped."""
        with contextlib.suppress(RuntimeError):
            self.drain()

    def text(self) -> str:
        return "".join(f"{t:8.1f} {line}\n" for t, line in self.lines)

    def tail(self, n: int) -> str:
        return "\n".join(line for _, line in self.lines[-n:])


@dataclass
class Run:
    demo: str | None
    data_dir: Path
    port: int
    started: float = 0.0
    times: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    console: Console | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def now(self) -> float:
        return time.monotonic() - self.started

    def mark(self, step: str, at: float | None = None) -> None:
        self.times.setdefault(step, self.now() if at is None else at)
        print(f"  {self.times[step]:7.1f} s  {step}", flush=True)

    def wait(self, what: str, check, timeout: float, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll_lines()
            found = check()
            if found:
                return found
            time.sleep(interval)
        raise TimeoutError(f"{what} not within {timeout:.0f} s")

    def poll_lines(self) -> None:
        assert self.console is not None
        for step, mark in LINE_MARKS.items():
            if step not in self.times and (at := self.console.first(mark)) is not None:
                self.mark(step, at)


# ------------------------------------------------------------------------------ people


@dataclass(frozen=True)
class Person:
    code: str
    name: str
    phone: str  # E.164


def official_and_principal(config: Config) -> tuple[Person, Person]:
    """The Sở's Giám đốc and one school's Hiệu trưởng, from the directory."""
    engine = open_database(config.database.url)
    try:
        view = load_view(engine)
    finally:
        engine.dispose()
    roots = {u.id for u in view.roots()}
    found: dict[Position, Person] = {}
    for person in sorted(view.people.values(), key=lambda p: p.code):
        phone = view.login_phone(person)
        for unit_id, position in person.positions:
            wanted = position is Position.DIRECTOR and unit_id in roots
            wanted = wanted or position is Position.PRINCIPAL
            if phone and wanted and position not in found:
                found[position] = Person(person.code, person.full_name, phone)
    return found[Position.DIRECTOR], found[Position.PRINCIPAL]


def known(config: Config, person: Person) -> bool:
    """Whether the person's account is in the directory's mirror, where the bot looks
    people up (an account Synapse has but the mirror not yet would be a stranger to it)."""
    engine = open_database(config.database.url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.scalar(
                    text(
                        "SELECT a.created FROM matrix_accounts a JOIN people p"
                        " ON p.id = a.person_id WHERE p.code = :c"
                    ),
                    {"c": person.code},
                )
            )
    finally:
        engine.dispose()


def account_exists(run: Run, admin_token: str, phone: str) -> bool:
    path = f"/_synapse/admin/v1/threepid/msisdn/users/{phone.lstrip('+')}"
    try:
        accounts.call(run.base_url, "GET", path, token=admin_token)
    except accounts.MatrixError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def sms_codes(config: Config, phone: str) -> list[str]:
    path = Path(config.sms.file_path)
    if not path.exists():
        return []
    texts = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [re.search(r"\b(\d{6})\b", t["text"]).group(1) for t in texts if t["to"] == phone]


def phone_login(run: Run, config: Config, person: Person) -> str:
    """Request a code on the module's API, read it from the SMS sink, log in: a token."""
    before = len(sms_codes(config, person.phone))
    accounts.call(run.base_url, "POST", "/_dieuhanh/api/ma-dang-nhap", {"phone": person.phone})
    codes = run.wait(
        f"an SMS to {person.phone}", lambda: sms_codes(config, person.phone)[before:], 30
    )
    national = "0" + person.phone[3:]
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.phone", "country": "VN", "number": national},
        "password": codes[-1],
    }
    return accounts.call(run.base_url, "POST", "/_matrix/client/v3/login", body)["access_token"]


# ------------------------------------------------------------------------------ the bot


def sync(run: Run, token: str, since: str | None, timeout_ms: int = 1000) -> dict[str, Any]:
    query = f"?timeout={timeout_ms}" + (f"&since={since}" if since else "")
    return accounts.call(run.base_url, "GET", f"/_matrix/client/v3/sync{query}", token=token)


def gui(run: Run, token: str, bot: str, line: str, timeout: float) -> dict[str, Any]:
    """Open a DM with the bot, wait for it to join, send ``line``: the bot's answer."""
    room = accounts.call(
        run.base_url,
        "POST",
        "/_matrix/client/v3/createRoom",
        {"is_direct": True, "invite": [bot], "preset": "trusted_private_chat"},
        token=token,
    )["room_id"]
    member = f"/_matrix/client/v3/rooms/{accounts.quote(room)}/state/m.room.member/{bot}"

    def joined() -> bool:
        membership = accounts.call(run.base_url, "GET", member, token=token)["membership"]
        if membership == "leave":
            raise RuntimeError("the bot declined the DM (it did not know the official yet)")
        return membership == "join"

    run.wait("the bot to join the DM", joined, timeout, interval=1.0)
    since = sync(run, token, None, 0)["next_batch"]
    txn = f"bench{time.monotonic_ns()}"
    sent = accounts.call(
        run.base_url,
        "PUT",
        f"/_matrix/client/v3/rooms/{accounts.quote(room)}/send/m.room.message/{txn}",
        {"msgtype": "m.text", "body": line},
        token=token,
    )["event_id"]
    state = {"since": since}

    def answer() -> dict[str, Any] | None:
        response = sync(run, token, state["since"])
        state["since"] = response["next_batch"]
        timeline = response.get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {})
        for event in timeline.get("events", []):
            content = event.get("content", {})
            replied = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if event["sender"] == bot and replied == sent:
                return content
        return None

    return run.wait("the bot's answer", answer, timeout, interval=0)


def deliveries_left(config: Config, code: str) -> int | None:
    """Deliveries of post ``code`` not sent yet (None before the post is stored)."""
    engine = open_database(config.database.url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT count(d.id), sum(CASE WHEN d.sent_at IS NULL THEN 1 ELSE 0 END)"
                    " FROM directive_deliveries d JOIN directives x ON x.id = d.directive_id"
                    " WHERE x.code = :c"
                ),
                {"c": code},
            ).one()
    finally:
        engine.dispose()
    return None if not found[0] else int(found[1] or 0)


def sees_post(run: Run, token: str, code: str) -> bool:
    """Whether the post ``code`` is in this person's own initial /sync."""
    # a filter of its own each time: Synapse caches identical sync requests for two minutes
    unique = f"x.nocache.{time.monotonic_ns()}"
    filters = json.dumps({"room": {"timeline": {"limit": 50, "not_types": [unique]}}})
    query = f"?full_state=true&filter={accounts.quote(filters)}"
    synced = accounts.call(run.base_url, "GET", f"/_matrix/client/v3/sync{query}", token=token)
    return any(
        event.get("content", {}).get("vn.dieuhanh.directive", {}).get("code") == code
        for room in synced.get("rooms", {}).get("join", {}).values()
        for event in room["timeline"]["events"]
    )


# ------------------------------------------------------------------------------ one run


def start_up(run: Run) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "dieuhanh", "up", "--data-dir", str(run.data_dir)]
    argv += ["--port", str(run.port)] + (["--demo", run.demo] if run.demo else [])
    run.started = time.monotonic()
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def measure(run: Run, timeout: float) -> None:
    """Every step of the module docstring, in order (the console's lines as they come);
    a refused or failed ``!gui`` is noted, and the whole apply still timed."""
    assert run.console is not None
    run.wait("the banner", lambda: "ready" in run.times, timeout)
    config = load_config(run.data_dir / "config.yaml", environ={})
    official, principal = official_and_principal(config)
    run.notes.append(f"official {official.name}, principal {principal.name}")
    try:
        official_sends(run, config, official, principal, timeout)
    except (RuntimeError, TimeoutError, accounts.MatrixError) as exc:
        run.notes.append(f"!gui failed: {exc}")
    run.wait("the whole demo applied", lambda: "provisioned" in run.times, timeout * 4)
    for _, line in run.console.lines:
        if "Ước tính" in line or "Trong đó" in line or "Đã đồng bộ danh bạ" in line:
            run.notes.append(line.strip())


def official_sends(
    run: Run, config: Config, official: Person, principal: Person, timeout: float
) -> None:
    """The official logs in and sends !gui to the principals; one of them sees it."""
    admin_token = config.homeserver.resolve_admin_token()
    run.wait(
        "the official's account",
        lambda: account_exists(run, admin_token, official.phone) and known(config, official),
        timeout,
    )
    token = phone_login(run, config, official)
    run.mark("official")
    bot = f"@{config.bot.localpart}:{config.homeserver.server_name}"
    reply = gui(run, token, bot, GUI_LINE, timeout)
    code = (reply.get("vn.dieuhanh.sent") or {}).get("code")
    if not code:
        raise RuntimeError(f"!gui was not sent: {reply.get('body')}")
    run.mark("!gui answered")
    run.notes.append(f"!gui: {reply['body'].splitlines()[0]}")
    run.wait("every delivery sent", lambda: deliveries_left(config, code) == 0, timeout)
    run.wait(
        "the principal's account",
        lambda: account_exists(run, admin_token, principal.phone),
        timeout,
    )
    principal_token = phone_login(run, config, principal)
    run.wait(
        "the post in the principal's sync",
        lambda: sees_post(run, principal_token, code),
        timeout,
    )
    run.mark("delivered")


@contextlib.contextmanager
def scratch_dir(keep: bool) -> Iterator[Path]:
    """A temporary directory, removed afterwards unless ``keep`` (to read Synapse's log)."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix="first-run-"))
        print(f"  data kept in {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="first-run-") as scratch:
        yield Path(scratch)


def one_run(demo: str | None, args: argparse.Namespace) -> Run:
    with scratch_dir(args.keep) as scratch:
        run = Run(demo, scratch / "data", free_port())
        print(f"dieuhanh up --demo {demo or '(default)'} on {run.base_url}", flush=True)
        process = start_up(run)
        run.console = Console(process, run.started)
        try:
            measure(run, args.timeout)
        except Exception as exc:  # report what was measured until then
            run.notes.append(f"stopped: {exc!r}")
            print(run.console.tail(30), file=sys.stderr)
        finally:
            stop(process)
            if args.log_dir is not None:
                run.console.drain_quietly()
                name = f"up-{demo or 'default'}-{int(time.time())}.log"
                (args.log_dir / name).write_text(run.console.text(), encoding="utf-8")
        return run


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C to up (it stops its children), then a kill of its session if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def report(runs: list[Run]) -> None:
    print()
    width = max(len(s) for s in STEPS)
    header = " " * width + "".join(f"  {r.demo or 'default':>14}" for r in runs)
    print(header)
    for step in STEPS:
        cells = "".join(
            f"  {r.times[step]:>12.1f} s" if step in r.times else f"  {'—':>14}" for r in runs
        )
        print(f"{step:<{width}}{cells}")
    for r in runs:
        print(f"\n{r.demo or 'default'}: " + "\n  ".join(r.notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="append", help="up's --demo (repeatable)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each demo")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for each step")
    parser.add_argument("--log-dir", type=Path, help="keep each run's console there")
    parser.add_argument("--keep", action="store_true", help="keep each run's data directory")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    demos = args.demo or [None]
    runs = [one_run(demo, args) for _ in range(args.runs) for demo in demos]
    report(runs)


if __name__ == "__main__":
    main()
