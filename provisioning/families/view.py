"""An in-memory, read-only view of classes, students and parents, for provisioning.

Loaded with four queries; only what the Matrix layout needs (no marks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from provisioning.db.models import Parent, SchoolClass, Student, StudentParent


@dataclass(slots=True)
class ClassView:
    id: int
    unit_id: int
    school_year: str
    name: str
    homeroom_person_id: int | None
    active: bool


@dataclass(slots=True)
class StudentView:
    id: int
    code: str
    full_name: str
    unit_id: int
    class_id: int | None
    phone: str | None  # the student's own number as stored (may be in conflict)
    active: bool


@dataclass(slots=True)
class ParentView:
    id: int
    phone: str
    full_name: str | None
    active: bool
    children: list[int] = field(default_factory=list)  # student ids, in link order


@dataclass
class FamilyView:
    classes: dict[int, ClassView] = field(default_factory=dict)
    students: dict[int, StudentView] = field(default_factory=dict)
    parents: dict[int, ParentView] = field(default_factory=dict)

    def active_children(self, parent: ParentView) -> list[StudentView]:
        """The parent's active children, each once, in a stable order (by student id)."""
        kids = {self.students[s].id: self.students[s] for s in parent.children}
        return [kids[i] for i in sorted(kids) if kids[i].active]

    def current_classes(self) -> dict[int, ClassView]:
        """Open classes of each school's latest school year (among its open classes):
        last year's classes keep their history but get no room."""
        latest: dict[int, str] = {}
        for klass in self.classes.values():
            if klass.active and klass.school_year > latest.get(klass.unit_id, ""):
                latest[klass.unit_id] = klass.school_year
        return {
            c.id: c
            for c in self.classes.values()
            if c.active and c.school_year == latest[c.unit_id]
        }


def load_families(engine: Engine) -> FamilyView:
    """Read classes, students, parents and their links."""
    view = FamilyView()
    with engine.connect() as conn:
        for row in conn.execute(
            select(
                SchoolClass.id,
                SchoolClass.unit_id,
                SchoolClass.school_year,
                SchoolClass.name,
                SchoolClass.homeroom_person_id,
                SchoolClass.active,
            )
        ):
            view.classes[row[0]] = ClassView(*row[:5], bool(row[5]))
        for row in conn.execute(
            select(
                Student.id,
                Student.code,
                Student.full_name,
                Student.unit_id,
                Student.class_id,
                Student.phone,
                Student.active,
            )
        ):
            view.students[row[0]] = StudentView(*row[:6], bool(row[6]))
        for pid, phone, name, active in conn.execute(
            select(Parent.id, Parent.phone, Parent.full_name, Parent.active)
        ):
            view.parents[pid] = ParentView(pid, phone, name, bool(active))
        for student_id, parent_id in conn.execute(
            select(StudentParent.student_id, StudentParent.parent_id).order_by(
                StudentParent.student_id
            )
        ):
            if parent_id in view.parents and student_id in view.students:
                view.parents[parent_id].children.append(student_id)
    return view
