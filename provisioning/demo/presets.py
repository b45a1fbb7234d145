"""The demo's sizes: ``mini`` for tests of the whole stack, ``demo`` for a first
``dieuhanh up`` (usable within a minute, provisioned within three), ``district-lite`` (the
first run's demo until then: dozens of schools of each level, 8 minutes to provision) and
``district``, ``city`` for trials and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.vocab import Level


@dataclass(frozen=True)
class Preset:
    """Default sizes of a preset; ``clusters`` lists each cụm's communes (None: all, 16 cụm)."""

    schools: int
    staff: int
    clusters: tuple[tuple[str, ...], ...] | None
    level_weights: tuple[tuple[Level, float], ...]


_CITY_MIX = (
    (Level.MN, 0.42),
    (Level.TH, 0.22),
    (Level.THCS, 0.16),
    (Level.THPT, 0.09),
    (Level.LC, 0.08),
    (Level.GDTX, 0.03),
)

PRESETS: dict[str, Preset] = {
    "demo": Preset(
        # one xã/phường with its Mầm non, Tiểu học and THCS schools, and a THPT and a GDTX
        # centre under the Sở: every kind of unit, few enough rooms that a newcomer's first
        # `dieuhanh up` is provisioned into Matrix in a couple of minutes
        schools=12,
        staff=120,
        clusters=(("Tân Định",),),
        level_weights=(
            (Level.MN, 4),
            (Level.TH, 3),
            (Level.THCS, 3),
            (Level.THPT, 1),
            (Level.GDTX, 1),
        ),
    ),
    "district-lite": Preset(
        # dozens of schools of each main level, but few people per school: the first run's
        # demo until it had to be usable within a minute (`dieuhanh up --demo district-lite`)
        schools=76,
        staff=640,
        clusters=(("Sài Gòn", "Tân Định", "Bến Thành"), ("Gia Định", "Bình Thạnh", "Thạnh Mỹ Tây")),
        level_weights=(
            (Level.MN, 20),
            (Level.TH, 20),
            (Level.THCS, 20),
            (Level.THPT, 10),
            (Level.LC, 3),
            (Level.GDTX, 3),
        ),
    ),
    # the smallest tree with every kind of unit: for tests of the whole stack
    "mini": Preset(
        schools=6,
        staff=48,
        clusters=(("Tân Định", "Bến Thành"),),
        level_weights=((Level.MN, 2), (Level.TH, 1), (Level.THCS, 2), (Level.THPT, 1)),
    ),
    "district": Preset(
        schools=70,
        staff=2000,
        clusters=(
            ("Hạnh Thông", "An Nhơn", "Gò Vấp", "An Hội Đông", "Thông Tây Hội", "An Hội Tây"),
        ),
        level_weights=_CITY_MIX,
    ),
    "city": Preset(schools=3600, staff=150_000, clusters=None, level_weights=_CITY_MIX),
}
