"""How long a plan will take, and how long is left while it runs (pure, but for the two
functions at the end that read and write the measured rates).

A plan runs stage after stage (``order.stages``), each stage's operations all at once. A
stage takes its operations' count over their rate, kind by kind; a stage of joins at
least its longest room's joins over the rate of one room, since Synapse serialises the
joins into a room. The rates are those the last apply on this homeserver measured (kept
in ``directory_state``), kind by kind; until one has, conservative defaults.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from provisioning.matrix.mirror import get_state, set_state
from provisioning.matrix.order import Priority, room_queues, stages
from provisioning.matrix.plan import Kind, Op, Phase

#: Operations per second at apply's default concurrency (16) until a rate is measured on
#: the homeserver: below what the embedded Synapse did on a busy shared 2-core machine.
DEFAULT_RATES: dict[Kind, float] = {
    Kind.CREATE_SPACE: 4.0,
    Kind.CREATE_ROOM: 4.0,
    Kind.LINK_SPACE_CHILD: 8.0,
    Kind.RENAME_ROOM: 15.0,
    Kind.CREATE_BOT: 5.0,
    Kind.CREATE_USER: 40.0,
    Kind.REACTIVATE_USER: 20.0,
    Kind.UPDATE_DISPLAYNAME: 5.0,  # a member event in each of the person's rooms
    Kind.REMOVE_PHONE: 30.0,
    Kind.SET_PHONE: 30.0,
    Kind.JOIN: 12.0,
    Kind.SET_POWER_LEVELS: 15.0,
    Kind.LEAVE: 12.0,
    Kind.RETIRE_ROOM: 3.0,  # five events: a notice, power, tombstone, a topic, a space link
    Kind.DEACTIVATE_USER: 5.0,
}
#: Joins into one room per second (Synapse serialises them; DESIGN.md measured ≈ 7).
ONE_ROOM_JOINS = 5.0
#: A kind's rate is recorded only from this many operations of a stage (smaller samples
#: are noise: the reconcile loop's applies of one change).
MIN_SAMPLE = 20
RATES_KEY = "matrix.apply_rates"


@dataclass(frozen=True)
class Rates:
    """Operations per second by kind (``Kind`` values); ``measured_at`` None: defaults."""

    per_kind: dict[str, float] = field(default_factory=dict)
    measured_at: str | None = None

    def of(self, kind: Kind) -> float:
        return self.per_kind.get(kind.value) or DEFAULT_RATES[kind]


@dataclass(frozen=True)
class Estimate:
    seconds: float
    counts: dict[str, int]  # operations by kind
    seconds_by_kind: dict[str, float]  # each stage's time shared among its kinds
    measured_at: str | None  # when the rates were measured; None: the default rates
    #: seconds from the start until each tier present is done (``order.Tier`` names)
    tiers_done: dict[str, float] = field(default_factory=dict)

    def cost(self, kind: str) -> float:
        """Estimated seconds of one operation of ``kind`` (their share of the total)."""
        return self.seconds_by_kind.get(kind, 0.0) / max(self.counts.get(kind, 0), 1)


@dataclass(frozen=True)
class StageTiming:
    """What one stage of an apply did, and in how long."""

    counts: dict[str, int]
    seconds: float

    @classmethod
    def of(cls, ops: Iterable[Op], seconds: float) -> StageTiming:
        return cls(dict(Counter(op.kind.value for op in ops)), seconds)


def estimate(ops: list[Op], priority: Priority, bot_user_id: str, rates: Rates) -> Estimate:
    """How long ``ops`` (a plan's, in its order) take at ``rates``."""
    total, by_kind, counts = 0.0, Counter[str](), Counter[str]()
    tiers_done: dict[str, float] = {}
    for (tier, phase), group in stages(ops, priority):
        kinds = Counter(op.kind for op in group)
        shares = {kind: n / rates.of(kind) for kind, n in kinds.items()}
        seconds = sum(shares.values())
        if phase is Phase.JOINS:
            longest = len(room_queues(group, bot_user_id)[0])
            seconds = max(seconds, longest / ONE_ROOM_JOINS)
        weight = seconds / (sum(shares.values()) or 1)
        for kind, share in shares.items():
            by_kind[kind.value] += share * weight
            counts[kind.value] += kinds[kind]
        total += seconds
        tiers_done[tier.name] = total
    return Estimate(total, dict(counts), dict(by_kind), rates.measured_at, tiers_done)


def measured_rates(timings: Iterable[StageTiming]) -> dict[str, float]:
    """Rates by kind from an apply's stages: a stage's time shared among its kinds in
    proportion to their default cost; kinds with fewer than MIN_SAMPLE operations left out."""
    seconds, counts = Counter[str](), Counter[str]()
    for timing in timings:
        shares = {k: n / DEFAULT_RATES[Kind(k)] for k, n in timing.counts.items()}
        whole = sum(shares.values()) or 1
        for kind, n in timing.counts.items():
            if n >= MIN_SAMPLE:
                seconds[kind] += timing.seconds * shares[kind] / whole
                counts[kind] += n
    return {k: counts[k] / seconds[k] for k in counts if seconds[k] > 0}


def merged(old: Rates, new: dict[str, float], at: dt.datetime) -> Rates:
    """The rates after an apply: the kinds it measured replace the old ones."""
    if not new:
        return old
    return Rates({**old.per_kind, **new}, at.isoformat(timespec="seconds"))


class Eta:
    """Time left while a plan runs: the estimated work left over the speed of the last
    minute (estimated seconds of work done per second), so that it follows the kind of work
    under way — a city's accounts go faster than its joins; before WARMUP seconds, what
    the estimate leaves."""

    WINDOW = 60.0
    WARMUP = 10.0

    def __init__(self, estimate: Estimate) -> None:
        self.estimate = estimate
        self.costs = {k: estimate.cost(k) for k in estimate.counts}
        self.done_cost = 0.0
        self.done = 0
        self.samples: deque[tuple[float, float]] = deque([(0.0, 0.0)])  # (elapsed, done_cost)

    def advance(self, kind: str, elapsed: float) -> None:
        self.done += 1
        self.done_cost += self.costs.get(kind, 0.0)
        if elapsed - self.samples[-1][0] >= 1.0:
            self.samples.append((elapsed, self.done_cost))
        self._trim(elapsed)

    def _trim(self, elapsed: float) -> None:
        """Keep the samples of the last WINDOW seconds, and the one just before."""
        while len(self.samples) > 2 and elapsed - self.samples[1][0] >= self.WINDOW:
            self.samples.popleft()

    def remaining(self, elapsed: float) -> float:
        left = max(self.estimate.seconds - self.done_cost, 0.0)
        if elapsed < self.WARMUP or self.done_cost <= 0:
            return max(self.estimate.seconds - elapsed, 0.0)
        self._trim(elapsed)
        since, cost_then = self.samples[0]
        speed = (self.done_cost - cost_then) / max(elapsed - since, 1e-9)
        if speed <= 0:  # nothing done for a minute: the pace of the whole run
            speed = self.done_cost / elapsed
        return left / speed


def say_duration(seconds: float) -> str:
    """ "40 giây", "4 phút", "7 giờ 20 phút" (rounded as people say it)."""
    if seconds < 90:
        return f"{max(round(seconds / 5) * 5, 5):.0f} giây"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} phút"
    hours, minutes = divmod(round(seconds / 600) * 10, 60)
    return f"{hours} giờ" + (f" {minutes} phút" if minutes else "")


# ---------------------------------------------------------------------- stored rates


def load_rates(engine: Engine, server_name: str) -> Rates:
    """The rates the last apply measured on this homeserver, else the defaults."""
    raw = get_state(engine, RATES_KEY)
    try:
        stored = json.loads(raw) if raw else {}
        if stored.get("server") != server_name:
            return Rates()
        kinds = {kind.value for kind in Kind}
        per_kind = {k: float(v) for k, v in stored["rates"].items() if k in kinds and v > 0}
        return Rates(per_kind, str(stored["at"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return Rates()  # unreadable: as if never measured


def save_rates(engine: Engine, server_name: str, rates: Rates) -> None:
    if rates.measured_at is None:
        return
    value = {"server": server_name, "at": rates.measured_at, "rates": rates.per_kind}
    set_state(engine, RATES_KEY, json.dumps(value, sort_keys=True))
