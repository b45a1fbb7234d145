"""How many classes, students and parents the directory holds (``dieuhanh status``)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from provisioning.db.models import Parent, SchoolClass, Student


def family_counts(engine: Engine) -> dict[str, int]:
    """Open classes, active students and active parents (those following an active child)."""
    with engine.connect() as conn:
        return {
            "classes": conn.scalar(
                select(func.count()).select_from(SchoolClass).where(SchoolClass.active.is_(True))
            ),
            "students": conn.scalar(
                select(func.count()).select_from(Student).where(Student.active.is_(True))
            ),
            "parents": conn.scalar(
                select(func.count()).select_from(Parent).where(Parent.active.is_(True))
            ),
        }
