"""The demo generator: a city's school system as rows of the three tables.

The tree follows the organisation since 7/2025: the Sở GD&ĐT at the root, its cụm chuyên môn
grouping xã/phường, the xã/phường managing Mầm non, Tiểu học and THCS schools, and the Sở
managing THPT, Liên cấp and GDTX directly; some schools have tổ chuyên môn. Everything is
drawn from one ``random.Random(seed)``, so a seed always gives byte-identical files.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from phonenumbers import PhoneMetadata

from provisioning.demo.distributions import (
    CLASSES,
    COMMUNE_LEVELS,
    COMMUNE_TRAINING,
    DEPARTMENT_TRAINING,
    FEMALE,
    LEADER_TRAINING,
    LEVEL_ORDER,
    MANAGER_TRAINING,
    MOBILE_PREFIXES,
    OWNERSHIP,
    PHONE_FORM_WEIGHTS,
    STAFF_PER_CLASS,
    SUBJECTS,
    SUPPORT,
    SUPPORT_DEFAULT,
    SUPPORT_TRAINING,
    TEACHER_TRAINING,
    TEAM_SHARE,
    TEAMS,
)
from provisioning.demo.geography import COMMUNE_BY_NAME, COMMUNES, Commune
from provisioning.demo.names import (
    FAMILY,
    FEMALE_GIVEN,
    FEMALE_MIDDLE,
    FIGURES,
    GDTX_NAMES,
    LC_FORMS,
    LEVEL_PREFIX,
    LEVEL_SLUG,
    MALE_GIVEN,
    MALE_MIDDLE,
    MN_NAMES,
    MN_PRIVATE_NAMES,
    PRIVATE_NAMES,
)
from provisioning.demo.presets import PRESETS, Preset
from provisioning.demo.tables import (
    F_CLASSES,
    F_PUPILS,
    F_UNIT,
    F_YEAR,
    S_BIRTH,
    S_EMAIL,
    S_GENDER,
    S_ID,
    S_NAME,
    S_PHONE,
    S_POSITION,
    S_SUBJECT,
    S_TRAINING,
    S_UNIT,
    U_CODE,
    U_KIND,
    U_LEVEL,
    U_NAME,
    U_OWNERSHIP,
    U_PARENT,
    U_PORTAL,
    U_RSS,
    Cell,
    DemoData,
    Row,
    blank_row,
)
from provisioning.importer.sources import TableKind
from provisioning.text import fold
from provisioning.vocab import Level, Ownership, Position, UnitKind, label

T = TypeVar("T")

SCHOOL_YEARS = ("2024-2025", "2025-2026")
# Demo portals live under the reserved .invalid TLD (RFC 6761): realistic, yet never
# polled — a demo must not hit real schools' sites.
PORTAL_DOMAIN = "hcm-edu.invalid"
_REFERENCE_ORDINAL = dt.date(2025, 9, 5).toordinal()  # opening day of 2025-2026

# --------------------------------------------------------------------------- helpers

#: libphonenumber's own pattern for a Vietnamese mobile national number.
_VN_MOBILE = re.compile(PhoneMetadata.metadata_for_region("VN").mobile.national_number_pattern)


def _phone_form(n: str, form: int) -> Cell:
    """Spreadsheet spelling number ``form`` (see PHONE_FORM_WEIGHTS) of 9-digit number ``n``."""
    if form == 0:
        return f"0{n}"  # 0912345678
    if form == 1:
        return f"0{n[:3]}.{n[3:6]}.{n[6:]}"  # 0912.345.678
    if form == 2:
        return f"0{n[:3]} {n[3:6]} {n[6:]}"  # 0912 345 678
    if form == 3:
        return f"+84{n}"
    if form == 4:
        return f"84{n}"
    return int(n)  # Excel turned 0912345678 into the number 912345678


class _Weighted(Generic[T]):
    """Fast weighted choice: one ``rng.random()`` and a bisect."""

    def __init__(self, weights: dict[T, float] | Iterable[tuple[T, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _choice(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` in one ``random()`` call (faster; the stream differs from choice)."""
    return seq[int(rng.random() * len(seq))]


@functools.cache
def _fold_word(word: str) -> str:
    return fold(word)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(text))


# --------------------------------------------------------------------------- generator


@dataclass
class _School:
    code: str
    name: str
    level: Level
    ownership: Ownership
    parent: str
    commune: Commune
    classes: int
    people: int = 0
    rows: list[Row] = field(default_factory=list)  # its staff rows, in file order


class _Generator:
    def __init__(self, preset: Preset, schools: int, staff: int, seed: int) -> None:
        self.preset = preset
        self.n_schools = schools
        self.n_staff = staff
        self.rng = random.Random(seed)
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.portals: set[str] = set()
        self.names: set[str] = set()
        self.person_seq = 0
        self.dual: set[str] = set()  # ids of people already holding two positions
        self.family = _Weighted(FAMILY)
        self.prefixes = _Weighted(MOBILE_PREFIXES)
        self.phone_form = _Weighted(enumerate(PHONE_FORM_WEIGHTS))
        self.subjects = {lvl: _Weighted(w) for lvl, w in SUBJECTS.items()}
        self.teacher_training = {lvl: _Weighted(w) for lvl, w in TEACHER_TRAINING.items()}
        self.manager_training = {lvl: _Weighted(w) for lvl, w in MANAGER_TRAINING.items()}
        self.support_training = _Weighted(SUPPORT_TRAINING)
        self.data = DemoData()

    # ---- people

    def person(self, female: bool, age: tuple[int, int, int], training: _Weighted[str],
               email: float = 0.45) -> Row:  # fmt: skip
        """A new person as a staff row whose unit, position and subject are still blank."""
        rng = self.rng
        low, mode, high = age
        if female:
            high = min(high, 56)  # retirement age of women in 2025
            mode = min(mode, high - 1)
        years = rng.triangular(low, high, mode)
        birth = dt.date.fromordinal(_REFERENCE_ORDINAL - int(years * 365.25))
        name = self.full_name(female, birth.year)
        self.person_seq += 1
        row = blank_row(TableKind.STAFF)  # cells drawn in the same order as ever
        row[S_ID] = f"NS{self.person_seq:07d}"
        row[S_NAME] = name
        row[S_PHONE] = self.phone()
        row[S_EMAIL] = self.email(name, birth.year) if rng.random() < email else ""
        row[S_TRAINING] = training.pick(rng)
        row[S_GENDER] = "Nữ" if female else "Nam"
        row[S_BIRTH] = f"{birth.day:02d}/{birth.month:02d}/{birth.year}"
        return row

    def full_name(self, female: bool, born: int) -> str:
        rng = self.rng
        family = self.family.pick(rng)
        old = born < 1985
        if female:
            if rng.random() < (0.6 if old else 0.3):
                middle = ["Thị"]
                if rng.random() < 0.3:
                    middle.append(_choice(rng, FEMALE_MIDDLE))
            else:
                middle = [_choice(rng, FEMALE_MIDDLE)]
                if rng.random() < 0.15:
                    middle.insert(0, _choice(rng, FEMALE_MIDDLE))
            given_pool = FEMALE_GIVEN
        else:
            if rng.random() < (0.45 if old else 0.2):
                middle = ["Văn"]
            else:
                middle = [_choice(rng, MALE_MIDDLE)]
                if rng.random() < 0.05:
                    middle.insert(0, _choice(rng, MALE_MIDDLE))
            given_pool = MALE_GIVEN
        given = _choice(rng, given_pool)
        while given in middle:
            given = _choice(rng, given_pool)
        if len(middle) == 2 and middle[0] == middle[1]:
            middle.pop()
        return " ".join((family, *middle, given))

    def phone(self) -> Cell:
        rng = self.rng
        while True:
            national = f"{self.prefixes.pick(rng)}{int(rng.random() * 10_000_000):07d}"
            if national not in self.phones and _VN_MOBILE.fullmatch(national):
                self.phones.add(national)
                return _phone_form(national, self.phone_form.pick(rng))

    def email(self, name: str, born: int, domain: str | None = None) -> str:
        rng = self.rng
        words = [_fold_word(w) for w in name.split()]
        style = rng.random()
        if style < 0.4:
            local = words[-1] + "".join(w[0] for w in words[:-1])  # huongntt
        elif style < 0.7:
            local = "".join(words)  # nguyenthithanhhuong
        else:
            local = words[-1] + "." + words[0]  # huong.nguyen
        if domain is None:
            domain = "gmail.com" if rng.random() < 0.65 else PORTAL_DOMAIN
            if domain == "gmail.com" and rng.random() < 0.6:
                local += str(born % 100).zfill(2)
        email = f"{local}@{domain}"
        k = 1
        while email in self.emails:
            k += 1
            email = f"{local}{k}@{domain}"
        self.emails.add(email)
        return email

    # ---- units

    def unit(self, code: str, name: str, parent: str, kind: UnitKind, level: Level | None = None,
             ownership: Ownership | None = None, slug: str | None = None,
             portal_share: float = 0.0) -> Row:  # fmt: skip
        assert name not in self.names, name
        self.names.add(name)
        portal = rss = ""
        if slug is not None and self.rng.random() < portal_share:
            base, k = slug, 1
            while slug in self.portals:
                k += 1
                slug = f"{base}{k}"
            self.portals.add(slug)
            portal = f"https://{slug}.{PORTAL_DOMAIN}" if slug else f"https://{PORTAL_DOMAIN}"
            if self.rng.random() < 0.9:
                rss = f"{portal}/rss"
        row = blank_row(TableKind.UNITS)
        row[U_CODE], row[U_NAME], row[U_PARENT], row[U_KIND] = code, name, parent, label(kind)
        row[U_PORTAL], row[U_RSS] = portal, rss
        if level is not None:
            row[U_LEVEL] = label(level)
        if ownership is not None:
            row[U_OWNERSHIP] = label(ownership)
        self.data.units.append(row)
        return row

    def office_staff(self, code: str, positions: Sequence[tuple[Position, int]],
                     training: _Weighted[str], female: float) -> None:  # fmt: skip
        for position, count in positions:
            for _ in range(count):
                senior = position is not Position.SPECIALIST
                age = (40, 50, 60) if senior else (25, 38, 58)
                row = self.person(self.rng.random() < female, age, training, email=0.0)
                if self.rng.random() < 0.9:
                    born = int(str(row[S_BIRTH])[-4:])
                    row[S_EMAIL] = self.email(str(row[S_NAME]), born, PORTAL_DOMAIN)
                row[S_UNIT] = code
                row[S_POSITION] = label(position)
                self.data.staff.append(row)

    def run(self) -> DemoData:
        rng = self.rng
        clusters = self.clusters()
        communes = [c for cluster in clusters for c in cluster]
        n_specialists = max(6, min(80, self.n_staff // 2000))
        dept_leaders = [
            (Position.DIRECTOR, 1),
            (Position.DEPUTY_DIRECTOR, 3 if self.n_staff < 20_000 else 5),
        ]
        dept_staff = [(Position.SPECIALIST, n_specialists)]
        commune_staff = [
            [(Position.HEAD, 1), (Position.DEPUTY_HEAD, int(rng.random() < 0.7)),
             (Position.SPECIALIST, rng.randint(1, 3))]
            for _ in communes
        ]  # fmt: skip
        office_people = sum(n for _, n in [*dept_leaders, *dept_staff]) + sum(
            n for staff in commune_staff for _, n in staff
        )

        self.unit("so", "Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh", "", UnitKind.DEPARTMENT,
                  slug="", portal_share=1.0)  # fmt: skip
        self.office_staff("so", dept_leaders, _Weighted(LEADER_TRAINING), 0.35)
        self.office_staff("so", dept_staff, _Weighted(DEPARTMENT_TRAINING), 0.55)
        commune_training = _Weighted(COMMUNE_TRAINING)
        for k, cluster in enumerate(clusters, 1):
            self.unit(f"cum-{k}", f"Cụm chuyên môn {k}", "so", UnitKind.CLUSTER)
            for commune in cluster:
                self.unit(commune.code, commune.title, f"cum-{k}", UnitKind.COMMUNE,
                          slug=commune.slug, portal_share=0.8)  # fmt: skip
                staff = commune_staff[communes.index(commune)]
                self.office_staff(commune.code, staff, commune_training, 0.6)

        schools = self.plan_schools(communes)
        self.plan_staff(schools, self.n_staff - office_people)
        by_level: dict[tuple[Level, str], list[_School]] = {}
        for school in schools:
            by_level.setdefault((school.level, school.parent), []).append(school)
        for school in schools:
            self.school_unit(school)
            self.school_staff(school)
            self.school_stats(school)
        self.second_schools(schools, by_level)
        for school in schools:
            self.data.staff.extend(school.rows)
        return self.data

    def clusters(self) -> list[list[Commune]]:
        if self.preset.clusters is not None:
            return [[COMMUNE_BY_NAME[n] for n in names] for names in self.preset.clusters]
        sizes = _apportion(len(COMMUNES), [1.0] * 16)
        it = iter(COMMUNES)
        return [[next(it) for _ in range(size)] for size in sizes]

    def plan_schools(self, communes: list[Commune]) -> list[_School]:
        """Levels, ownership, parents, sizes, codes and names of every school."""
        rng = self.rng
        levels, weights = zip(*self.preset.level_weights, strict=True)
        per_level = dict(zip(levels, _apportion(self.n_schools, weights), strict=True))
        commune_weight = [rng.uniform(0.6, 1.4) for _ in communes]
        planned: list[tuple[Level, Ownership, Commune | None]] = []
        for level in LEVEL_ORDER:
            count = per_level.get(level, 0)
            kinds, shares = zip(*OWNERSHIP[level], strict=True)
            owners = [o for o, n in zip(kinds, _apportion(count, shares), strict=True)
                      for _ in range(n)]  # fmt: skip
            rng.shuffle(owners)
            if level in COMMUNE_LEVELS:
                homes = [c for c, n in zip(communes, _apportion(count, commune_weight),
                                           strict=True) for _ in range(n)]  # fmt: skip
            else:
                homes = [None] * count
            planned.extend(zip([level] * count, owners, homes, strict=True))
        # Group by parent: commune schools in commune order, then the Sở's schools.
        order = {c.code: i for i, c in enumerate(communes)}
        planned.sort(key=lambda p: order[p[2].code] if p[2] else len(order))
        serial: dict[str, int] = {}
        width = 3 if max([*_count_by_parent(planned).values(), 0]) < 1000 else 4
        schools = []
        for level, ownership, home in planned:
            parent = home.code if home else "so"
            serial[parent] = serial.get(parent, 0) + 1
            number = home.number if home else 0
            located = home or rng.choice(communes)
            lo, hi, *_ = CLASSES[level][not ownership.is_public]
            schools.append(
                _School(
                    code=f"79{number:03d}{serial[parent]:0{width}d}",
                    name="",
                    level=level,
                    ownership=ownership,
                    parent=parent,
                    commune=located,
                    classes=rng.randint(lo, hi),
                )
            )
        return schools

    def plan_staff(self, schools: list[_School], budget: int) -> None:
        """People per school: a minimum, plus the budget's rest in proportion to classes."""
        minimum = [6 if s.level in (Level.TH, Level.THCS, Level.LC) else 5 for s in schools]
        weights = [s.classes * STAFF_PER_CLASS[s.level] for s in schools]
        extra = _apportion(budget - sum(minimum), weights)
        for school, low, more in zip(schools, minimum, extra, strict=True):
            school.people = low + more

    def school_name(self, school: _School) -> tuple[str, str]:
        """A unique name and a portal slug for the school."""
        rng = self.rng
        level, commune, public = school.level, school.commune, school.ownership.is_public
        for _ in range(1000):
            prefix = LEVEL_PREFIX.get(level, "")
            slug_prefix = LEVEL_SLUG[level]
            if level is Level.GDTX:
                if rng.random() < 0.4:
                    head, base = "Trung tâm GDTX", rng.choice(GDTX_NAMES)
                else:
                    head, base = "Trung tâm GDNN-GDTX", commune.name
                name = f"{head} {base}"
            elif level is Level.LC:
                form = LC_FORMS[rng.randrange(len(LC_FORMS))][0]
                base = commune.name if public else rng.choice(PRIVATE_NAMES)
                name = f"Trường {form} {base}"
            elif level is Level.MN:
                roll = rng.random()
                if not public:
                    base = rng.choice(MN_PRIVATE_NAMES if roll < 0.7 else MN_NAMES)
                    tag = label(school.ownership) if rng.random() < 0.5 else ""
                    name = " ".join(filter(None, ("Trường Mầm non", tag, base)))
                else:
                    base = commune.name if roll < 0.15 else rng.choice(MN_NAMES)
                    name = f"Trường Mầm non {base}"
            else:
                roll = rng.random()
                if not public:
                    base = rng.choice(PRIVATE_NAMES)
                elif roll < 0.2:
                    base = commune.name
                else:
                    base = rng.choice(FIGURES)
                name = f"Trường {prefix} {base}"
            slug = slug_prefix + _slug(base)
            if name in self.names:
                if base == commune.name:
                    continue  # another school named after the commune: draw again
                name = f"{name} ({commune.lower})"
                slug = f"{slug}-{commune.slug}"
            if name not in self.names:
                return name, slug
        raise RuntimeError(f"no free name for a {level} school in {commune.title}")

    def school_unit(self, school: _School) -> None:
        school.name, slug = self.school_name(school)
        share = 0.92 if school.ownership.is_public else 0.75
        self.unit(school.code, school.name, school.parent, UnitKind.SCHOOL, school.level,
                  school.ownership, slug=slug, portal_share=share)  # fmt: skip

    def school_staff(self, school: _School) -> None:
        rng = self.rng
        level, n = school.level, school.people
        f_teacher, f_manager, f_support = FEMALE[level]
        pioneer = int(level in (Level.TH, Level.THCS, Level.LC))
        vice = 1 + (n >= 14) + (n >= 40)
        support = max(1, round(n * 0.14))
        teachers = n - 1 - vice - pioneer - support
        while teachers < 2 and (support > 1 or vice > 1):
            if support > 1:
                support -= 1
            else:
                vice -= 1
            teachers += 1
        head, deputy = (
            (Position.DIRECTOR, Position.DEPUTY_DIRECTOR)
            if level is Level.GDTX
            else (Position.PRINCIPAL, Position.VICE_PRINCIPAL)
        )
        manager_training = self.manager_training[level]
        teacher_training = self.teacher_training[level]
        subjects = self.subjects[level]
        rows = school.rows

        def add(row: Row, position: Position, subject: str = "") -> Row:
            row[S_UNIT], row[S_POSITION], row[S_SUBJECT] = school.code, label(position), subject
            rows.append(row)
            return row

        add(self.person(rng.random() < f_manager, (38, 48, 60), manager_training), head)
        for _ in range(vice):
            row = add(self.person(rng.random() < f_manager, (33, 45, 60), manager_training),
                      deputy)  # fmt: skip
            if rng.random() < 0.15 and level is not Level.GDTX:
                rows.append(self.second_position(row, school.code, Position.TEACHER,
                                                 str(subjects.pick(rng))))  # fmt: skip
        if pioneer:
            add(self.person(rng.random() < 0.6, (23, 30, 45), teacher_training),
                Position.PIONEER_LEADER)  # fmt: skip
        first_teacher = len(rows)
        for _ in range(teachers):
            add(self.person(rng.random() < f_teacher, (22, 38, 60), teacher_training),
                Position.TEACHER, str(subjects.pick(rng)))  # fmt: skip
        kinds = SUPPORT.get(level, SUPPORT_DEFAULT)
        for i in range(support):
            position = kinds[i] if i < len(kinds) else Position.STAFF
            row = add(self.person(rng.random() < f_support, (20, 36, 58), self.support_training),
                      position)  # fmt: skip
            if position is Position.ACCOUNTANT and support < 3 and rng.random() < 0.3:
                rows.append(self.second_position(row, school.code, Position.CLERK))
        self.school_teams(school, rows[first_teacher : first_teacher + teachers])

    def second_position(self, row: Row, unit: str, position: Position, subject: str = "") -> Row:
        self.dual.add(str(row[S_ID]))
        second = list(row)
        second[S_UNIT], second[S_POSITION], second[S_SUBJECT] = unit, label(position), subject
        return second

    def school_teams(self, school: _School, teachers: list[Row]) -> None:
        """Tổ chuyên môn under some schools, each led by one of the school's teachers."""
        rng = self.rng
        if rng.random() >= TEAM_SHARE[school.level] or len(teachers) < 6:
            return
        templates = TEAMS[school.level]
        count = min(rng.randint(2, 4), len(templates), len(teachers) // 3)
        free = list(teachers)
        rng.shuffle(free)
        short = school.name.removeprefix("Trường ")
        for k in sorted(rng.sample(range(len(templates)), count)):
            title, subjects = templates[k]
            code = f"{school.code}-{fold(title).removeprefix('to ').replace(' ', '-')}"
            self.unit(code, f"{title} – {short}", school.code, UnitKind.TEAM)
            roles = [Position.TEAM_LEADER]
            if len(free) > 3 and rng.random() < 0.3:
                roles.append(Position.TEAM_DEPUTY)
            for role in roles:
                match = next((r for r in free if r[S_SUBJECT] in subjects), free[0])
                free.remove(match)
                match[S_UNIT], match[S_POSITION] = code, label(role)
                if match[S_SUBJECT] not in subjects:
                    match[S_SUBJECT] = subjects[0]

    def second_schools(self, schools: list[_School],
                       by_level: dict[tuple[Level, str], list[_School]]) -> None:  # fmt: skip
        """About 1.2% of teachers also teach at a second school of the same level."""
        rng = self.rng
        teacher = label(Position.TEACHER)
        same_level: dict[Level, list[_School]] = {}
        for school in schools:
            same_level.setdefault(school.level, []).append(school)
        for school in schools:
            for row in list(school.rows):
                if row[S_POSITION] != teacher or row[S_ID] in self.dual:
                    continue
                if rng.random() >= 0.012 or school.level is Level.MN:
                    continue
                nearby = by_level[(school.level, school.parent)]
                pool = nearby if len(nearby) > 1 else same_level[school.level]
                if len(pool) < 2:
                    continue
                other = rng.choice(pool)
                while other is school:
                    other = rng.choice(pool)
                other.rows.append(self.second_position(row, other.code, Position.TEACHER,
                                                       str(row[S_SUBJECT])))  # fmt: skip

    def school_stats(self, school: _School) -> None:
        """Số lớp and Số học sinh for both years: the school's class size drifts a little."""
        rng = self.rng
        _, _, size_lo, size_hi = CLASSES[school.level][not school.ownership.is_public]
        size = rng.uniform(size_lo, size_hi)
        classes = school.classes
        previous = max(1, classes + rng.randint(-2, 2))
        for year, n in zip(SCHOOL_YEARS, (previous, classes), strict=True):
            pupils = round(n * size * rng.uniform(0.97, 1.03))
            row = blank_row(TableKind.FIGURES)
            row[F_UNIT], row[F_YEAR], row[F_CLASSES], row[F_PUPILS] = school.code, year, n, pupils
            self.data.stats.append(row)


def _count_by_parent(planned: list[tuple[Level, Ownership, Commune | None]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, home in planned:
        key = home.code if home else "so"
        counts[key] = counts.get(key, 0) + 1
    return counts


# --------------------------------------------------------------------------- API


def generate(
    preset: str = "demo", *, schools: int | None = None, staff: int | None = None, seed: int = 2025
) -> DemoData:
    """The demo directory as rows; ``schools`` and ``staff`` (people) override the preset.

    ``staff`` counts distinct people, offices included; it is met exactly unless it is too
    small for the schools' minimum (head, deputy, two teachers, one support staff).
    """
    try:
        chosen = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}") from None
    n_schools = chosen.schools if schools is None else schools
    n_staff = chosen.staff if staff is None else staff
    if n_schools < 0 or n_staff < 0:
        raise ValueError("schools and staff must be ≥ 0")
    return _Generator(chosen, n_schools, n_staff, seed).run()
