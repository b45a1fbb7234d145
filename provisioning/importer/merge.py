"""Merge validated rows into the directory, in one transaction, reporting what changed.

The staff table is a snapshot: a person absent from it is marked departed (kept, never
deleted). A person with a rejected row keeps every position the file could not vouch
for. ``scope`` limits the snapshot to one unit's subtree, so an office can import its own
staff file without touching the rest of the city.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from provisioning.contacts import imports as contact_imports
from provisioning.db.models import DirectoryState, Person, PersonPosition, SchoolFigures, Unit
from provisioning.importer.report import Report, UnusableInput
from provisioning.importer.rows import FigureRecord, StaffRecord, UnitRecord
from provisioning.importer.sources import Table
from provisioning.text import fold, format_number
from provisioning.view import UNIT_COLUMNS
from provisioning.vocab import UnitKind


@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    returned: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.returned)


@dataclass
class MergeOutcome:
    units: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    positions: Counts = field(default_factory=Counts)
    figures: Counts = field(default_factory=Counts)
    reports: list[Report] = field(default_factory=list)
    #: active people the staff snapshot spoke for (the scope's), before the import
    people_covered: int = 0
    classes: Counts = field(default_factory=Counts)
    students: Counts = field(default_factory=Counts)
    parents: Counts = field(default_factory=Counts)
    marks: Counts = field(default_factory=Counts)
    absences: Counts = field(default_factory=Counts)
    term_results: Counts = field(default_factory=Counts)
    #: active students the student snapshot spoke for (its schools'), before the import
    students_covered: int = 0
    #: students whose marks, absences or term results this import changed (for the
    #: parents' "new marks" summaries)
    records_changed: set[int] = field(default_factory=set)
    #: the families' tables this import held (their summary lines are printed)
    family_tables: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the directory changed in a way provisioning has to apply."""
        counts = (self.units, self.people, self.positions, self.figures)
        return any(c.touched for c in (*counts, self.classes, self.students, self.parents))

    def summary_lines(self) -> list[str]:
        n = format_number
        u, p, q, f = self.units, self.people, self.positions, self.figures
        lines = [
            f"Đơn vị: {n(u.added)} thêm mới, {n(u.changed)} thay đổi, {n(u.unchanged)} không đổi, "
            f"{n(u.removed)} ngừng hoạt động",
            f"Nhân sự: {n(p.added)} thêm mới, {n(p.changed)} thay đổi, {n(p.unchanged)} không đổi, "
            f"{n(p.removed)} nghỉ việc" + (f", {n(p.returned)} trở lại" if p.returned else ""),
            f"Chức vụ: {n(q.added)} thêm mới, {n(q.removed)} bỏ, {n(q.unchanged)} không đổi",
            f"Số liệu thống kê: {n(f.added)} thêm mới, {n(f.changed)} thay đổi, "
            f"{n(f.unchanged)} không đổi",
        ]
        lines += self.family_lines()
        rejected = sum(r.rejected for r in self.reports)
        if self.reports:
            lines.append(
                f"Dòng cần xem lại: {n(len(self.reports))} ({n(rejected)} bị loại, "
                f"{n(len(self.reports) - rejected)} đã nhập nhưng cần sửa)"
            )
        else:
            lines.append("Không có dòng nào cần xem lại.")
        return lines

    def family_lines(self) -> list[str]:
        """One summary line per families' table the import held."""
        n = format_number
        shown = {
            "classes": ("Lớp", self.classes, "đóng"),
            "students": ("Học sinh", self.students, "đã chuyển đi/thôi học"),
            "marks": ("Điểm", self.marks, "bỏ"),
            "attendance": ("Chuyên cần", self.absences, "bỏ"),
            "term_results": ("Rèn luyện", self.term_results, "bỏ"),
        }
        lines = []
        for kind in self.family_tables:
            label, c, removed = shown[kind]
            back = f", {n(c.returned)} trở lại" if c.returned else ""
            lines.append(
                f"{label}: {n(c.added)} thêm mới, {n(c.changed)} thay đổi, "
                f"{n(c.unchanged)} không đổi, {n(c.removed)} {removed}{back}"
            )
            if kind == "students":
                p = self.parents
                lines.append(
                    f"Phụ huynh: {n(p.added)} thêm mới, {n(p.changed)} thay đổi, "
                    f"{n(p.removed)} không còn con đang học"
                    + (f", {n(p.returned)} trở lại" if p.returned else "")
                )
        return lines


UNITS = Unit.__table__
PEOPLE = Person.__table__
POSITIONS = PersonPosition.__table__
FIGURES = SchoolFigures.__table__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- units


@dataclass
class _UnitState:
    id: int
    code: str
    name: str
    parent_id: int | None
    kind: str
    level: str | None
    ownership: str | None
    portal_url: str | None
    rss_url: str | None
    active: bool


class Directory:
    """The units of the directory as the merge sees them (loaded once, updated in place)."""

    def __init__(self, conn: Connection) -> None:
        self.units: dict[str, _UnitState] = {}
        for row in conn.execute(select(*UNIT_COLUMNS)):
            self.units[row.code] = _UnitState(*row)
        self.code_of = {u.id: u.code for u in self.units.values()}
        self.rejected_unit_rows: dict[str, Report] = {}

    def parent_code(self, code: str) -> str | None:
        parent_id = self.units[code].parent_id
        return None if parent_id is None else self.code_of[parent_id]

    def within(self, code: str, scope: str | None) -> bool:
        """True when ``code`` is ``scope`` or below it (always true without a scope)."""
        if scope is None:
            return True
        seen = set()
        current: str | None = code
        while current is not None and current not in seen:
            if current == scope:
                return True
            seen.add(current)
            current = self.parent_code(current) if current in self.units else None
        return False


def _unit_values(rec: UnitRecord, parent_id: int | None) -> dict[str, Any]:
    return {
        "name": rec.name,
        "parent_id": parent_id,
        "kind": rec.kind.value,
        "level": rec.level.value if rec.level else None,
        "ownership": rec.ownership.value if rec.ownership else None,
        "portal_url": rec.portal_url,
        "rss_url": rec.rss_url,
    }


def _settle_tree(
    records: dict[str, UnitRecord], directory: Directory, table: Table, reports: list[Report]
) -> dict[str, UnitRecord]:
    """Drop records whose parent is unknown or whose parent chain loops; report each."""
    accepted = dict(records)
    while True:
        parent_of: dict[str, str | None] = {c: directory.parent_code(c) for c in directory.units}
        parent_of.update({c: r.parent_code for c, r in accepted.items()})
        bad: dict[str, str] = {}
        for code, rec in accepted.items():
            parent = rec.parent_code
            if parent is None or parent in parent_of:
                continue
            if parent in directory.rejected_unit_rows:
                row = directory.rejected_unit_rows[parent].row
                bad[code] = f'đơn vị cấp trên "{parent}" bị loại (dòng {row})'
            else:
                bad[code] = f'không tìm thấy đơn vị cấp trên "{parent}"'
        # cycles: follow parents with a three-colour walk
        state: dict[str, int] = {}
        for start in accepted:
            path: list[str] = []
            node: str | None = start
            while node is not None and node in parent_of and state.get(node, 0) == 0:
                state[node] = 1
                path.append(node)
                node = parent_of[node]
            if node is not None and state.get(node) == 1:
                loop = path[path.index(node) :]
                shown = " → ".join([*loop, node])
                # blame the rows that moved a unit; the directory itself never loops
                moved = [
                    m
                    for m in loop
                    if m in accepted
                    and (m not in directory.units or directory.parent_code(m) != parent_of[m])
                ]
                for member in moved or [m for m in loop if m in accepted]:
                    bad.setdefault(member, f"Mã đơn vị cấp trên tạo vòng lặp: {shown}")
            for visited in path:
                state[visited] = 2
        if not bad:
            return accepted
        for code, reason in bad.items():
            rec = accepted.pop(code)
            report = Report(table.source, rec.row, table.header("parent"), reason, True)
            reports.append(report)
            if code not in directory.units:
                directory.rejected_unit_rows[code] = report


def merge_units(
    conn: Connection,
    table: Table,
    records: list[UnitRecord],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    by_code, mentioned = _first_rows(table, records, out.reports)
    accepted = _settle_tree(by_code, directory, table, out.reports)
    if scope is not None:
        _drop_out_of_scope(accepted, directory, scope, table, out.reports)
    now = _now()
    _write_units(conn, accepted, directory, now, out.units)
    _close_unlisted(conn, directory, mentioned, scope, now, out.units)


def _first_rows(
    table: Table, records: list[UnitRecord], reports: list[Report]
) -> tuple[dict[str, UnitRecord], set[str]]:
    """The first row of every unit code (later ones reported), and every code mentioned."""
    by_code: dict[str, UnitRecord] = {}
    mentioned: set[str] = set()
    for rec in records:
        mentioned.add(rec.code)
        if rec.code in by_code:
            first = by_code[rec.code].row
            reports.append(
                Report(
                    table.source,
                    rec.row,
                    table.header("code"),
                    f'Mã đơn vị "{rec.code}" trùng với dòng {first}',
                    True,
                )
            )
            continue
        by_code[rec.code] = rec
    return by_code, mentioned


def _drop_out_of_scope(
    accepted: dict[str, UnitRecord],
    directory: Directory,
    scope: str,
    table: Table,
    reports: list[Report],
) -> None:
    """Drop the rows outside ``scope``; report those that would change something."""
    # judge scope on the tree as the file describes it
    parent_of = {c: directory.parent_code(c) for c in directory.units}
    parent_of.update({c: r.parent_code for c, r in accepted.items()})
    for code in list(accepted):
        node: str | None = code
        seen: set[str] = set()
        while node is not None and node != scope and node not in seen:
            seen.add(node)
            node = parent_of.get(node)
        if node == scope:
            continue
        rec = accepted.pop(code)
        existing = directory.units.get(code)
        parent_id = (
            directory.units[rec.parent_code].id if (rec.parent_code in directory.units) else None
        )
        if existing is not None and existing.active and _same_unit(existing, rec, parent_id):
            continue  # context rows outside the scope, identical to what we hold
        reports.append(
            Report(
                table.source,
                rec.row,
                table.header("code"),
                f'đơn vị "{code}" nằm ngoài phạm vi nhập "{scope}"',
                True,
            )
        )


def _by_depth(accepted: dict[str, UnitRecord]) -> list[list[str]]:
    """The accepted codes level by level of the tree they describe, parents first."""
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        if code not in depth:
            parent = accepted[code].parent_code if code in accepted else None
            depth[code] = 0 if parent is None or parent not in accepted else depth_of(parent) + 1
        return depth[code]

    by_depth: dict[int, list[str]] = defaultdict(list)
    for code in accepted:
        by_depth[depth_of(code)].append(code)
    return [by_depth[level] for level in sorted(by_depth)]


def _write_units(
    conn: Connection,
    accepted: dict[str, UnitRecord],
    directory: Directory,
    now: dt.datetime,
    counts: Counts,
) -> None:
    """Insert new units parents first; update the others."""
    for codes in _by_depth(accepted):
        new_rows: list[dict[str, Any]] = []
        for code in codes:
            rec = accepted[code]
            parent_id = directory.units[rec.parent_code].id if rec.parent_code else None
            existing = directory.units.get(code)
            if existing is None:
                values = _unit_values(rec, parent_id)
                new_rows.append(
                    {"code": code, "active": True, "created_at": now, "updated_at": now, **values}
                )
            else:
                _update_unit(conn, existing, rec, parent_id, now, counts)
        if new_rows:
            _insert_units(conn, new_rows, accepted, directory)
            counts.added += len(new_rows)


def _update_unit(
    conn: Connection,
    existing: _UnitState,
    rec: UnitRecord,
    parent_id: int | None,
    now: dt.datetime,
    counts: Counts,
) -> None:
    if _same_unit(existing, rec, parent_id) and existing.active:
        counts.unchanged += 1
        return
    values = _unit_values(rec, parent_id)
    conn.execute(
        update(UNITS).where(UNITS.c.id == existing.id).values(active=True, updated_at=now, **values)
    )
    if not existing.active:
        counts.returned += 1
    else:
        counts.changed += 1
    for key, value in values.items():
        setattr(existing, key, value)
    existing.active = True


def _insert_units(
    conn: Connection,
    new_rows: list[dict[str, Any]],
    accepted: dict[str, UnitRecord],
    directory: Directory,
) -> None:
    """One statement per tree level: parents get their ids before their children."""
    inserted = conn.execute(
        insert(UNITS).returning(UNITS.c.id, UNITS.c.code, sort_by_parameter_order=True),
        new_rows,
    )
    for (new_id, code), row in zip(inserted, new_rows, strict=True):
        values = {k: row[k] for k in _unit_values(accepted[code], None)}
        directory.units[code] = _UnitState(new_id, code, active=True, **values)
        directory.code_of[new_id] = code


def _close_unlisted(
    conn: Connection,
    directory: Directory,
    mentioned: set[str],
    scope: str | None,
    now: dt.datetime,
    counts: Counts,
) -> None:
    """Close units the file no longer lists, unless something still active hangs below them."""
    active_children: dict[int, int] = defaultdict(int)
    for unit in directory.units.values():
        if unit.active and unit.parent_id is not None:
            active_children[unit.parent_id] += 1
    to_close = [
        u
        for u in directory.units.values()
        if u.active
        and u.code not in mentioned
        and u.code != scope
        and directory.within(u.code, scope)
    ]
    # leaves first, so that a closed subtree closes completely
    to_close.sort(key=lambda u: -_depth(directory, u.code))
    for unit in to_close:
        if active_children[unit.id]:
            continue
        conn.execute(
            update(UNITS).where(UNITS.c.id == unit.id).values(active=False, updated_at=now)
        )
        unit.active = False
        counts.removed += 1
        if unit.parent_id is not None:
            active_children[unit.parent_id] -= 1


def _depth(directory: Directory, code: str) -> int:
    depth, node, seen = 0, directory.parent_code(code), {code}
    while node is not None and node not in seen:
        seen.add(node)
        depth += 1
        node = directory.parent_code(node)
    return depth


def _same_unit(existing: _UnitState, rec: UnitRecord, parent_id: int | None) -> bool:
    values = _unit_values(rec, parent_id)
    return all(getattr(existing, k) == v for k, v in values.items())


# --------------------------------------------------------------------------- staff

_PERSON_FIELDS = (
    "full_name",
    "phone",
    "phone_raw",
    "email",
    "training_level",
    "subject",
    "gender",
    "birth_date",
)


@dataclass
class _PersonDraft:
    code: str
    first_row: int
    values: dict[str, Any]
    value_rows: dict[str, int]
    positions: dict[tuple[int, str], int]  # (unit id, position) -> row
    # first row whose phone cell was unusable: (row, problem or None when blank, raw text)
    phone_problem: tuple[int, str | None, str | None] | None = None


def merge_staff(
    conn: Connection,
    table: Table,
    records: list[StaffRecord],
    codes_with_rejected_rows: set[str],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    mentioned = {r.code for r in records} | codes_with_rejected_rows
    partial = set(codes_with_rejected_rows)  # people whose positions the file cannot vouch for
    drafts, row_of_phone = _draft_people(table, records, directory, scope, partial, out.reports)
    people = _people_rows(conn)
    held = _held_positions(conn)
    in_scope = {u.id for u in directory.units.values() if directory.within(u.code, scope)}
    if scope is not None:
        for code in _foreign_phones(drafts, people, held, in_scope, scope, table, out.reports):
            del drafts[code]
            partial.add(code)
    digests = _keep_chat_corrections(conn, drafts, people, scope, partial, out.people)
    now = _now()
    person_id = _write_people(conn, drafts, people, table, now, out)
    _write_positions(conn, drafts, person_id, held, partial, in_scope, out.positions)
    _mark_departed(conn, people, held, mentioned, scope, in_scope, now, out)
    kept = {phone: [r for r in rows if r[0] in drafts] for phone, rows in row_of_phone.items()}
    _report_shared_phones(conn, table, kept, out.reports)
    revision = _revision(conn)
    contact_imports.save_digests(conn, digests, person_id, scope or "", now, revision)
    p, q = out.people, out.positions
    if people and (p.changed or p.removed or p.returned or q.added or q.removed):
        after, held_after = _contact_rows(conn), _held_positions(conn)
        contact_imports.record_import(
            conn, people, held, after, held_after, table.source, now, revision + 1
        )


def _contact_rows(conn: Connection) -> dict[str, Any]:
    """person code -> the person's id, phone and standing (what their history tracks)."""
    query = select(Person.id, Person.code, Person.phone, Person.active)
    return {row.code: row for row in conn.execute(query)}


def _revision(conn: Connection) -> int:
    """The directory's revision before this import bumps it."""
    value = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
    return int(value or 0)


def _keep_chat_corrections(
    conn: Connection,
    drafts: dict[str, _PersonDraft],
    people: dict[str, Any],
    scope: str | None,
    partial: set[str],
    counts: Counts,
) -> dict[str, str]:
    """Leave out the people corrected in chat whose rows did not change since the last
    import (``provisioning.contacts.imports``); the digests of the new or changed rows."""
    digests = {code: contact_imports.digest(d.values, d.positions) for code, d in drafts.items()}
    known = {code: row.id for code, row in people.items()}
    unchanged, kept = contact_imports.kept_from_chat(conn, digests, known, scope or "")
    for code in kept:
        del drafts[code]
        partial.add(code)
        counts.unchanged += 1
    return {code: d for code, d in digests.items() if code not in unchanged}


def _draft_people(
    table: Table,
    records: list[StaffRecord],
    directory: Directory,
    scope: str | None,
    partial: set[str],
    reports: list[Report],
) -> tuple[dict[str, _PersonDraft], dict[str, list[tuple[str, int]]]]:
    """One draft per person from their rows, and the rows of every phone.

    A row whose unit cannot take it is reported and its person added to ``partial``.
    """
    drafts: dict[str, _PersonDraft] = {}
    row_of_phone: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for rec in records:
        reason = _unit_problem(rec.unit_code, directory, scope)
        if reason is not None:
            reports.append(Report(table.source, rec.row, table.header("unit"), reason, True))
            partial.add(rec.code)
            continue
        draft = _add_row(drafts, rec, table, reports)
        key = (directory.units[rec.unit_code].id, rec.position.value)
        if key in draft.positions:
            reports.append(
                Report(
                    table.source,
                    rec.row,
                    table.header("position"),
                    f"trùng với dòng {draft.positions[key]}",
                    False,
                )
            )
        else:
            draft.positions[key] = rec.row
        if rec.phone:
            row_of_phone[rec.phone].append((rec.code, rec.row))
    return drafts, row_of_phone


def _unit_problem(unit_code: str, directory: Directory, scope: str | None) -> str | None:
    """Why a staff row cannot be placed in ``unit_code``, or None."""
    unit = directory.units.get(unit_code)
    if unit is None:
        if unit_code in directory.rejected_unit_rows:
            bad = directory.rejected_unit_rows[unit_code]
            return f'đơn vị "{unit_code}" bị loại ở {bad.source}:{bad.row}'
        return f'không tìm thấy đơn vị "{unit_code}"'
    if not unit.active:
        return f'đơn vị "{unit_code}" đã ngừng hoạt động'
    if not directory.within(unit_code, scope):
        return f'đơn vị "{unit_code}" nằm ngoài phạm vi nhập "{scope}"'
    return None


def _add_row(
    drafts: dict[str, _PersonDraft], rec: StaffRecord, table: Table, reports: list[Report]
) -> _PersonDraft:
    """The person's draft with this row's values: a first row starts it, a later one
    fills its blanks (a different name or phone is reported; the first row's stays)."""
    values = {
        "full_name": rec.name,
        "phone": rec.phone,
        "phone_raw": None,  # kept only for a number that could not be used
        "email": rec.email,
        "training_level": rec.training_level.value if rec.training_level else None,
        "subject": rec.subject,
        "gender": rec.gender,
        "birth_date": rec.birth_date,
    }
    draft = drafts.get(rec.code)
    if draft is None:
        draft = drafts[rec.code] = _PersonDraft(
            rec.code, rec.row, values, dict.fromkeys(values, rec.row), {}
        )
        if rec.phone is None:
            draft.phone_problem = (rec.row, rec.phone_problem, rec.phone_raw)
        return draft
    if (
        rec.phone is None
        and rec.phone_problem
        and (draft.phone_problem is None or draft.phone_problem[1] is None)
    ):
        draft.phone_problem = (rec.row, rec.phone_problem, rec.phone_raw)
    for key, value in values.items():
        if key == "phone_raw":
            continue
        held = draft.values[key]
        if held is None and value is not None:
            draft.values[key] = value
            draft.value_rows[key] = rec.row
        elif value is not None and held != value and key in ("full_name", "phone"):
            reports.append(
                Report(
                    table.source,
                    rec.row,
                    table.header("name" if key == "full_name" else "phone"),
                    f"khác với dòng {draft.value_rows[key]} của cùng Mã định danh "
                    f'"{rec.code}" ("{held}"); '
                    f"dùng giá trị của dòng {draft.value_rows[key]}",
                    False,
                )
            )
    return draft


def _people_rows(conn: Connection) -> dict[str, Any]:
    """person code -> the person's row as the directory holds it."""
    return {
        row.code: row
        for row in conn.execute(
            select(
                Person.id, Person.code, Person.active, *[getattr(Person, f) for f in _PERSON_FIELDS]
            )
        )
    }


def _write_people(
    conn: Connection,
    drafts: dict[str, _PersonDraft],
    people: dict[str, Any],
    table: Table,
    now: dt.datetime,
    out: MergeOutcome,
) -> dict[str, int]:
    """Insert the new people, update the changed and returning ones; person code -> id."""
    new_rows: list[dict[str, Any]] = []
    for code, draft in drafts.items():
        values = draft.values
        existing = people.get(code)
        _settle_phone(draft, existing, table, out.reports)
        values["name_key"] = fold(values["full_name"])
        if existing is None:
            new_rows.append(
                {"code": code, "active": True, "created_at": now, "updated_at": now, **values}
            )
            out.people.added += 1
        else:
            _update_person(conn, existing, values, now, out.people)
    person_id = {code: row.id for code, row in people.items()}
    if new_rows:
        conn.execute(insert(PEOPLE), new_rows)  # executemany; ids are read back in one query
        new_codes = {row["code"] for row in new_rows}
        person_id.update(
            (code, pid)
            for pid, code in conn.execute(select(PEOPLE.c.id, PEOPLE.c.code))
            if code in new_codes
        )
    return person_id


def _update_person(
    conn: Connection, existing: Any, values: dict[str, Any], now: dt.datetime, counts: Counts
) -> None:
    changed = {k: values[k] for k in _PERSON_FIELDS if getattr(existing, k) != values[k]}
    if not existing.active:
        counts.returned += 1
        changed.update(active=True, departed_at=None)
    elif changed:
        counts.changed += 1
    else:
        counts.unchanged += 1
    if changed:
        changed["name_key"] = values["name_key"]
        conn.execute(
            update(PEOPLE).where(PEOPLE.c.id == existing.id).values(updated_at=now, **changed)
        )


def _write_positions(
    conn: Connection,
    drafts: dict[str, _PersonDraft],
    person_id: dict[str, int],
    held: dict[int, dict[tuple[int, str], int]],
    partial: set[str],
    in_scope: set[int],
    counts: Counts,
) -> None:
    """Add the positions the file lists; remove the in-scope ones it no longer lists
    (never for a person in ``partial``)."""
    to_add: list[dict[str, Any]] = []
    to_remove: list[int] = []
    for code, draft in drafts.items():
        pid = person_id[code]
        current = held.get(pid, {})
        for key in draft.positions:
            if key in current:
                counts.unchanged += 1
            else:
                to_add.append({"person_id": pid, "unit_id": key[0], "position": key[1]})
        if code in partial:
            continue
        for key, position_id in current.items():
            if key not in draft.positions and key[0] in in_scope:
                to_remove.append(position_id)
    if to_add:
        conn.execute(insert(POSITIONS), to_add)
    for start in range(0, len(to_remove), 500):
        conn.execute(delete(POSITIONS).where(POSITIONS.c.id.in_(to_remove[start : start + 500])))
    counts.added += len(to_add)
    counts.removed += len(to_remove)


def _mark_departed(
    conn: Connection,
    people: dict[str, Any],
    held: dict[int, dict[tuple[int, str], int]],
    mentioned: set[str],
    scope: str | None,
    in_scope: set[int],
    now: dt.datetime,
    out: MergeOutcome,
) -> None:
    """Departures: active people the snapshot no longer lists, all of whose positions
    are in scope."""
    departed: list[int] = []
    for code, row in people.items():
        if not row.active:
            continue
        units_held = {unit_id for unit_id, _ in held.get(row.id, {})}
        if scope is None or units_held <= in_scope:
            out.people_covered += 1
            if code not in mentioned:
                departed.append(row.id)
    for start in range(0, len(departed), 500):
        conn.execute(
            update(PEOPLE)
            .where(PEOPLE.c.id.in_(departed[start : start + 500]))
            .values(active=False, departed_at=now, updated_at=now)
        )
    out.people.removed += len(departed)


def _held_positions(conn: Connection) -> dict[int, dict[tuple[int, str], int]]:
    """person id -> {(unit id, position): position row id}, as the directory holds them."""
    held: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    for row in conn.execute(
        select(
            PersonPosition.id,
            PersonPosition.person_id,
            PersonPosition.unit_id,
            PersonPosition.position,
        )
    ):
        held[row.person_id][(row.unit_id, row.position)] = row.id
    return held


def _foreign_phones(
    drafts: dict[str, _PersonDraft],
    people: dict[str, Any],
    held: dict[int, dict[tuple[int, str], int]],
    in_scope: set[int],
    scope: str,
    table: Table,
    reports: list[Report],
) -> list[str]:
    """People of a scoped file whose phone would take someone else's login; reported.

    A scoped file speaks only for its subtree: it may not give anyone the number of an
    active person who works outside the scope, nor change the number of someone who
    works outside it (their Mã định danh on an in-scope row). Such rows are rejected.
    """
    outside = {
        code
        for code, row in people.items()
        if any(unit_id not in in_scope for unit_id, _ in held.get(row.id, {}))
    }
    holder = {people[c].phone: c for c in outside if people[c].active and people[c].phone}
    rejected = []
    for code, draft in drafts.items():
        phone, existing = draft.values["phone"], people.get(code)
        if phone is None:
            continue
        if holder.get(phone, code) != code:
            other = people[holder[phone]]
            reason = (
                f"số điện thoại {phone} là của Mã định danh {other.code} ({other.full_name}), "
                f'người đang công tác ngoài phạm vi nhập "{scope}": tệp này không được '
                "giao số đó cho người khác"
            )
        elif code in outside and existing is not None and existing.phone != phone:
            reason = (
                f'Mã định danh "{code}" còn công tác ở đơn vị ngoài phạm vi nhập "{scope}": '
                "tệp này không được đổi số điện thoại của người đó"
            )
        else:
            continue
        rejected.append(code)
        phone_row = draft.value_rows["phone"]
        reports.append(Report(table.source, phone_row, table.header("phone"), reason, True))
        for row in sorted(set(draft.positions.values()) - {phone_row}):
            reports.append(
                Report(
                    table.source,
                    row,
                    table.header("code"),
                    f'Mã định danh "{code}" có dòng {phone_row} bị loại',
                    True,
                )
            )
    return rejected


def _settle_phone(draft: _PersonDraft, existing: Any, table: Table, reports: list[Report]) -> None:
    """Report an unusable phone cell; a missing or broken number never replaces a working one."""
    if draft.phone_problem is None:
        return
    row, problem, raw = draft.phone_problem
    values = draft.values
    what = f'{problem}: "{raw}"' if problem else "thiếu số điện thoại"
    if values["phone"] is not None:
        if problem is None:
            return  # a blank cell on a second row: the person's number is on another row
        outcome = f"dùng số {values['phone']} ở dòng {draft.value_rows['phone']}"
    elif existing is not None and existing.phone is not None:
        values["phone"], values["phone_raw"] = existing.phone, existing.phone_raw
        outcome = f"giữ số đang có {existing.phone}"
    else:
        values["phone_raw"] = raw
        outcome = "người này chưa thể đăng nhập cho đến khi bổ sung hoặc sửa"
    reports.append(Report(table.source, row, table.header("phone"), f"{what}; {outcome}", False))


def _report_shared_phones(
    conn: Connection,
    table: Table,
    row_of_phone: dict[str, list[tuple[str, int]]],
    reports: list[Report],
) -> None:
    """Report every row whose phone another active person also has (neither gets a login)."""
    holders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in conn.execute(
        select(Person.phone, Person.code, Person.full_name).where(
            Person.active.is_(True), Person.phone.is_not(None)
        )
    ):
        holders[row.phone].append((row.code, row.full_name))
    for phone, rows in row_of_phone.items():
        owners = holders.get(phone, [])
        if len(owners) < 2:
            continue
        reported: set[str] = set()
        for code, row in rows:
            if code in reported:
                continue
            reported.add(code)
            others = ", ".join(f"{c} ({name})" for c, name in owners if c != code)
            reports.append(
                Report(
                    table.source,
                    row,
                    table.header("phone"),
                    f"số điện thoại {phone} trùng với Mã định danh {others}; "
                    "chưa ai được đăng nhập bằng số này cho đến khi sửa",
                    False,
                )
            )


# --------------------------------------------------------------------------- figures


def merge_figures(
    conn: Connection,
    table: Table,
    records: list[FigureRecord],
    directory: Directory,
    scope: str | None,
    out: MergeOutcome,
) -> None:
    existing = {
        (row.unit_id, row.school_year): row
        for row in conn.execute(
            select(
                SchoolFigures.id,
                SchoolFigures.unit_id,
                SchoolFigures.school_year,
                SchoolFigures.classes,
                SchoolFigures.pupils,
            )
        )
    }
    seen: dict[tuple[str, str], int] = {}
    to_add: list[dict[str, Any]] = []
    for rec in records:
        reason = _figures_problem(rec, directory, scope, seen)
        if reason is not None:
            reports_column = table.header("year" if "năm học" in reason else "unit")
            out.reports.append(Report(table.source, rec.row, reports_column, reason, True))
            continue
        unit = directory.units[rec.unit_code]
        seen[(rec.unit_code, rec.school_year)] = rec.row
        held = existing.get((unit.id, rec.school_year))
        if held is None:
            to_add.append(
                {
                    "unit_id": unit.id,
                    "school_year": rec.school_year,
                    "classes": rec.classes,
                    "pupils": rec.pupils,
                }
            )
            out.figures.added += 1
        elif (held.classes, held.pupils) == (rec.classes, rec.pupils):
            out.figures.unchanged += 1
        else:
            conn.execute(
                update(FIGURES)
                .where(FIGURES.c.id == held.id)
                .values(classes=rec.classes, pupils=rec.pupils)
            )
            out.figures.changed += 1
    if to_add:
        conn.execute(insert(FIGURES), to_add)


def _figures_problem(
    rec: FigureRecord, directory: Directory, scope: str | None, seen: dict[tuple[str, str], int]
) -> str | None:
    """Why a figures row cannot be taken (``seen``: rows already taken), or None."""
    unit = directory.units.get(rec.unit_code)
    if unit is None:
        return f'không tìm thấy đơn vị "{rec.unit_code}"'
    if unit.kind != UnitKind.SCHOOL:
        return f'đơn vị "{rec.unit_code}" không phải là trường học'
    if not directory.within(rec.unit_code, scope):
        return f'đơn vị "{rec.unit_code}" nằm ngoài phạm vi nhập "{scope}"'
    if (rec.unit_code, rec.school_year) in seen:
        return f"trùng đơn vị và năm học với dòng {seen[(rec.unit_code, rec.school_year)]}"
    return None


# --------------------------------------------------------------------------- state


def check_scope(directory: Directory, scope: str | None, unit_codes: set[str]) -> None:
    if scope is not None and scope not in directory.units and scope not in unit_codes:
        raise UnusableInput(f'phạm vi nhập "{scope}" không phải là Mã đơn vị nào trong danh bạ')


def bump_revision(conn: Connection, key: str = "revision") -> int:
    """Increase the directory's revision (read by provisioning to know when to apply), or
    another counter of ``directory_state`` (``learning_revision``: marks and records)."""
    current = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == key))
    revision = int(current or 0) + 1
    if current is None:
        conn.execute(insert(DirectoryState).values(key=key, value=str(revision)))
    else:
        conn.execute(
            update(DirectoryState).where(DirectoryState.key == key).values(value=str(revision))
        )
    return revision
