"""An asyncio supervisor for the embedded stack's child processes.

Each child runs in its own session, so a terminal's Ctrl-C reaches only the
supervisor, which then stops the children in reverse order (SIGTERM to the
child's process group, SIGKILL after a grace period). A child that dies on
its own is restarted with exponential backoff; after repeated fast crashes
the supervisor gives up on it and, if it is critical, stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dieuhanh.embedded.process import die_with_parent, signal_group

log = logging.getLogger(__name__)

_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class ChildSpec:
    """How to run one child process."""

    name: str
    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None  # added to the supervisor's environment
    unset_env: Sequence[str] = ()  # taken out of the environment it inherits
    log_path: Path | None = None  # write its output there instead of to the console
    critical: bool = True  # giving up on it stops the whole stack


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a child that exited on its own, and when to give up."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    fast_crash: float = 10.0  # a run shorter than this counts as a fast crash
    max_fast_crashes: int = 5  # consecutive fast crashes before giving up


class Child:
    """A supervised child: its current process and its history."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.starts = 0
        self.exit_codes: list[int] = []
        self.failed = False
        self.output: deque[str] = deque(maxlen=200)
        self.stopping = False
        self._changed = asyncio.Condition()  # notified on each start, output line and exit
        self._halt = asyncio.Event()  # cuts a restart backoff short
        self._watcher: asyncio.Task[None] | None = None
        self._spawning: asyncio.Future[None] | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def tail(self, lines: int = 40) -> str:
        """The last lines the child printed."""
        return "\n".join(list(self.output)[-lines:])

    async def wait_until(self, predicate: Callable[[Child], bool]) -> None:
        """Until ``predicate(child)`` holds; checked after each start, output line and exit."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class Supervisor:
    """Starts children in order, restarts crashed ones, stops them in reverse order."""

    def __init__(
        self,
        *,
        grace: float = 10.0,
        policy: RestartPolicy | None = None,
        console: IO[str] | None = None,
    ) -> None:
        self.grace = grace
        self.policy = policy or RestartPolicy()
        self.console = console or sys.stdout
        self.children: list[Child] = []
        self.failure: str | None = None
        self.failed_child: Child | None = None
        self._stop = asyncio.Event()
        self._signals = 0

    # --- starting and watching ---------------------------------------------

    async def start(self, spec: ChildSpec) -> Child:
        """Start a child and keep it running until the supervisor stops.

        Raises OSError if it cannot be started at all.
        """
        child = Child(spec)
        self.children.append(child)
        child._spawning = asyncio.ensure_future(self._spawn(child))
        child._watcher = asyncio.create_task(self._watch(child), name=f"watch-{spec.name}")
        await asyncio.shield(child._spawning)
        return child

    async def _spawn(self, child: Child) -> None:
        spec = child.spec
        env = None
        if spec.env or spec.unset_env:
            env = {**os.environ, **(spec.env or {})}
            for name in spec.unset_env:
                env.pop(name, None)
        child.process = await asyncio.create_subprocess_exec(
            *spec.argv,
            cwd=spec.cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
            limit=_LINE_LIMIT,
        )
        child.started_at = time.monotonic()
        child.starts += 1
        child._pump = asyncio.create_task(self._forward(child, child.process))
        log.info("started %s (pid %d)", spec.name, child.process.pid)
        await child._notify()

    async def _forward(self, child: Child, process: asyncio.subprocess.Process) -> None:
        """Copy the child's output lines to its log file or, prefixed, to the console."""
        assert process.stdout is not None
        sink = child.spec.log_path.open("a", encoding="utf-8") if child.spec.log_path else None
        try:
            while True:
                try:
                    raw = await process.stdout.readline()
                except ValueError:  # a line longer than the limit: take what is there
                    raw = await process.stdout.read(_LINE_LIMIT)
                if not raw:
                    return
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                child.output.append(line)
                await child._notify()
                if sink:
                    sink.write(line + "\n")
                    sink.flush()
                else:
                    with contextlib.suppress(OSError):  # keep draining if our console is gone
                        self.console.write(f"{child.name} | {line}\n")
                        self.console.flush()
        finally:
            if sink:
                sink.close()

    async def _watch(self, child: Child) -> None:
        """Wait for each exit; restart with backoff unless stopping or given up."""
        fast_crashes = 0
        while True:
            assert child._spawning is not None
            try:
                await child._spawning
            except Exception as exc:
                if child.starts == 0:
                    return  # start() reports it
                log.error("cannot restart %s: %s", child.name, exc)
                self._give_up(child, None, fast_crashes)
                return
            assert child.process is not None
            code = await child.process.wait()
            await self._finish_exit(child, code)
            if child.stopping:
                return
            ran = time.monotonic() - child.started_at
            fast_crashes = fast_crashes + 1 if ran < self.policy.fast_crash else 0
            if fast_crashes >= self.policy.max_fast_crashes:
                self._give_up(child, code, fast_crashes)
                return
            delay = min(
                self.policy.max_delay, self.policy.initial_delay * 2 ** max(0, fast_crashes - 1)
            )
            log.warning("%s exited with code %s after %.1f s", child.name, code, ran)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child._halt.wait(), delay)
            if child.stopping or self._stop.is_set():
                return
            log.info("restarting %s after %.1f s", child.name, delay)
            child._spawning = asyncio.ensure_future(self._spawn(child))

    async def _finish_exit(self, child: Child, code: int) -> None:
        assert child.process is not None
        signal_group(child.process.pid, signal.SIGKILL)  # stragglers left in its group
        # Let the last lines through, unless something outside the group holds the pipe.
        if child._pump is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child._pump), 2.0)
            child._pump.cancel()
        child.exit_codes.append(code)
        await child._notify()

    def _give_up(self, child: Child, code: int | None, crashes: int) -> None:
        child.failed = True
        log.error(
            "%s crashed %d times in a row (last exit code %s); giving up on it",
            child.name,
            crashes,
            code,
        )
        if child.spec.critical and self.failed_child is None:
            self.failed_child = child
            self.failure = f"{child.name} crashed {crashes} times in a row (exit code {code})"
            self._stop.set()

    # --- stopping ------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask ``run``/``wait`` to return and the children to stop."""
        self._stop.set()

    async def wait(self) -> None:
        """Until a stop is requested (signal, ``request_stop``) or a critical child fails."""
        await self._stop.wait()

    async def stop_child(self, child: Child) -> None:
        """SIGTERM the child's process group; SIGKILL it after the grace period."""
        child.stopping = True
        child._halt.set()
        if child._spawning is not None and not child._spawning.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(child._spawning)
        if child.running and child.pid is not None:
            log.info("stopping %s (pid %d)", child.name, child.pid)
            signal_group(child.pid, signal.SIGTERM)
        if child._watcher is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(child._watcher), self.grace)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s; killing it", child.name, self.grace)
            if child.pid is not None:
                signal_group(child.pid, signal.SIGKILL)
            await child._watcher

    async def stop_all(self) -> None:
        """Stop every child, in the reverse order of their start."""
        self._stop.set()
        for child in reversed(self.children):
            await self.stop_child(child)

    def kill_all(self) -> None:
        """SIGKILL every running child at once (a second Ctrl-C)."""
        for child in self.children:
            if child.running and child.pid is not None:
                signal_group(child.pid, signal.SIGKILL)

    # --- running ---------------------------------------------------------------

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("received %s; stopping (again to force)", signal.Signals(signum).name)
            self.request_stop()
        else:
            log.warning("received %s again; killing every child", signal.Signals(signum).name)
            self.kill_all()

    async def run(self, startup: Callable[[], Awaitable[None]]) -> int:
        """Run ``startup``, then supervise until SIGINT/SIGTERM or a critical failure.

        The children are always stopped before returning. Returns 0 after a
        requested stop, 1 if a critical child was given up. An exception from
        ``startup`` is raised again once the children are stopped.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)
        main = asyncio.create_task(startup(), name="startup")
        stopper = asyncio.create_task(self._stop.wait(), name="stop")
        try:
            await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if main.done():
                main.result()
                await stopper
            else:
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await main
        finally:
            stopper.cancel()
            await self.stop_all()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        return 1 if self.failure else 0
