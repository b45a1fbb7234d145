"""The synthetic families' tables import without a report, and a second time unchanged."""

from __future__ import annotations

from provisioning.demo.families import generate_families, write_families
from provisioning.importer import import_paths

from .conftest import UNIT_HEADER, write_csv

UNITS = [
    ["so", "Sở Giáo dục và Đào tạo", "", "Sở", "", "", "", ""],
    ["thcs-1", "Trường THCS Một", "so", "Trường", "THCS", "CL", "", ""],
    ["thcs-2", "Trường THCS Hai", "so", "Trường", "THCS", "CL", "", ""],
]


def test_demo_families_import_cleanly_and_idempotently(engine, tmp_path):
    tables = generate_families(["thcs-1", "thcs-2"], 60, seed=3)
    assert generate_families(["thcs-1", "thcs-2"], 60, seed=3) == tables  # deterministic
    paths = [write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, UNITS)]
    paths += write_families(tables, tmp_path / "families")
    result = import_paths(engine, paths)
    assert result.reports == [], result.report_lines()[:5]
    assert result.students.added == 120
    assert result.parents.added < 2 * 120  # siblings share their parents
    assert result.marks.added == len(tables.marks) == 120 * 2 * (8 * 6 + 2 * 3)
    again = import_paths(engine, paths)
    assert again.reports == [] and not again.changed and not again.records_changed
