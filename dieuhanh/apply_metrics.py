"""Prometheus metrics of ``dieuhanh apply``, a batch job: written to a text file that
node_exporter's textfile collector publishes (``--metrics-file``, or
``DIEUHANH_APPLY_METRICS_FILE``), every few seconds while it runs and at the end.

- ``dieuhanh_apply_operations_total{kind}``: operations done, by kind (create_user, join…);
- ``dieuhanh_apply_errors_total{kind}``: operations that failed, by kind;
- ``dieuhanh_apply_runs_total{result}``: ok, failures, refused (mass removal), locked;
- ``dieuhanh_apply_rate_ops_per_second``, ``…_duration_seconds``,
  ``…_last_end_timestamp_seconds``: of the run (rate() of the operations counter gives
  the live rate too).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

WRITE_EVERY = 5.0


class ApplyMetrics:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.registry = CollectorRegistry()
        r = self.registry
        self.operations = Counter(
            "dieuhanh_apply_operations", "Operations done, by kind.", ["kind"], registry=r
        )
        self.errors = Counter(
            "dieuhanh_apply_errors", "Operations that failed, by kind.", ["kind"], registry=r
        )
        self.runs = Counter("dieuhanh_apply_runs", "Runs by result.", ["result"], registry=r)
        self.rate = Gauge(
            "dieuhanh_apply_rate_ops_per_second", "Operations per second so far.", registry=r
        )
        self.duration = Gauge("dieuhanh_apply_duration_seconds", "Run time so far.", registry=r)
        self.ended = Gauge(
            "dieuhanh_apply_last_end_timestamp_seconds", "When the last run ended.", registry=r
        )
        self.started = time.monotonic()
        self.done = 0
        self._written = 0.0

    def wrap(self, progress: Callable[[Any], Callable[[Any], None]] | None):
        """A progress factory (as ``apply`` takes) that also counts each operation."""

        def factory(plan: Any) -> Callable[[Any], None]:
            inner = progress(plan) if progress else None

            def advance(op: Any) -> None:
                self.operations.labels(op.kind.value).inc()
                self.done += 1
                if time.monotonic() - self._written >= WRITE_EVERY:
                    self.write()
                if inner is not None:
                    inner(op)

            return advance

        return factory

    def finish(self, result: Any, outcome: str) -> None:
        """Record the run's failures and result, and write the file."""
        if result is not None:
            for failure in result.failures:
                self.errors.labels(failure.op.kind.value).inc()
        self.runs.labels(outcome).inc()
        self.ended.set(time.time())
        self.write()

    def write(self) -> None:
        self._written = time.monotonic()
        elapsed = max(self._written - self.started, 1e-6)
        self.duration.set(elapsed)
        self.rate.set(self.done / elapsed)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_to_textfile(str(self.path), self.registry)
