"""A progress bar with ETA for `dieuhanh apply` (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from provisioning.matrix.plan import KIND_LABEL, Op, Plan


class RichProgress:
    """Call with a plan to get the per-operation callback the executor expects."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("còn"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def __call__(self, plan: Plan):
        task = self._progress.add_task("Đang áp dụng", total=plan.total)

        def advance(op: Op) -> None:
            self._progress.update(task, advance=1, description=KIND_LABEL[op.kind])

        return advance
