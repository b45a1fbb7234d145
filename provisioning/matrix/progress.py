"""The progress of an apply: each plan announced with its counts and estimate, then a bar
(rich, on a terminal) or a line every few seconds (logs, ``dieuhanh up``'s console), with
the time left (``estimate.Eta``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from provisioning.matrix.estimate import Estimate, Eta, say_duration
from provisioning.matrix.plan import KIND_LABEL, Kind, Op, Plan
from provisioning.text import format_number

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def announce_lines(plan: Plan) -> list[str]:
    """What a plan will do, by kind, and how long it should take."""
    kinds = ", ".join(
        f"{KIND_LABEL[Kind(kind)].lower()}: {format_number(n)}" for kind, n in plan.counts().items()
    )
    lines = [f"Sẽ thực hiện {format_number(plan.total)} thao tác ({kinds})."]
    found = plan.estimate
    if found is not None:
        lines.append(f"Ước tính: khoảng {say_duration(found.seconds)} ({basis(found)}).")
        milestones = [
            f"{label} sau khoảng {say_duration(found.tiers_done[tier])}"
            for tier, label in MILESTONES
            if tier in found.tiers_done and found.tiers_done[tier] < found.seconds
        ]
        if milestones:
            lines.append("Trong đó: " + "; ".join(milestones) + ".")
    return lines


#: What people can do once a tier is done (order.Tier names), said in the announcement.
MILESTONES = (
    ("ACCOUNTS", "mọi người đăng nhập được"),
    ("OFFICIALS", "phòng của lãnh đạo và nhóm hiệu trưởng xong"),
)


def basis(estimate: Estimate) -> str:
    """Where an estimate's rates come from, in words."""
    if estimate.measured_at is None:
        return "theo tốc độ mặc định, thận trọng: chưa đo trên máy chủ này"
    when = dt.datetime.fromisoformat(estimate.measured_at).astimezone(VIETNAM)
    return f"theo tốc độ đo được ở lần đồng bộ lúc {when:%H:%M %d/%m/%Y}"


def progress_line(done: int, total: int, left: float | None, kind: Kind) -> str:
    """ "Đồng bộ Matrix: 1.234/5.241 thao tác (23 %), đang thêm vào phòng, còn khoảng 4 phút"."""
    share = done * 100 // max(total, 1)
    line = f"Đồng bộ Matrix: {format_number(done)}/{format_number(total)} thao tác ({share} %)"
    if done >= total:
        return line + "."
    line += f", đang {KIND_LABEL[kind].lower()}"
    return line + (f", còn khoảng {say_duration(left)}." if left is not None else ".")


class _Counter:
    """Operations done and the time left, for one plan."""

    def __init__(self, plan: Plan, clock: Callable[[], float]) -> None:
        self.plan, self.clock = plan, clock
        self.started = clock()
        self.eta = Eta(plan.estimate) if plan.estimate is not None else None
        self.done = 0

    def advance(self, op: Op) -> None:
        self.done += 1
        if self.eta is not None:
            self.eta.advance(op.kind.value)

    def left(self) -> float | None:
        return self.eta.remaining(self.clock() - self.started) if self.eta else None


class PlainProgress:
    """A line every ``every`` seconds and at the end (a console that is not a terminal)."""

    def __init__(
        self,
        say: Callable[[str], None],
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say, self.every, self.clock = say, every, clock

    def __call__(self, plan: Plan) -> Callable[[Op], None]:
        for line in announce_lines(plan):
            self.say(line)
        counter = _Counter(plan, self.clock)
        last = [counter.started]

        def advance(op: Op) -> None:
            counter.advance(op)
            now = self.clock()
            if now - last[0] >= self.every or counter.done == plan.total:
                last[0] = now
                self.say(progress_line(counter.done, plan.total, counter.left(), op.kind))

        return advance


class RichProgress:
    """A progress bar with the time left, for a terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("còn {task.fields[left]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def __call__(self, plan: Plan) -> Callable[[Op], None]:
        for line in announce_lines(plan):
            self._progress.console.print(line)
        counter = _Counter(plan, time.monotonic)
        task = self._progress.add_task("Đang áp dụng", total=plan.total, left="…")

        def advance(op: Op) -> None:
            counter.advance(op)
            left = counter.left()
            self._progress.update(
                task,
                advance=1,
                description=KIND_LABEL[op.kind],
                left=say_duration(left) if left is not None else "?",
            )

        return advance
