"""Writing the demo's tables: three CSV files (UTF-8 with BOM) or one XLSX workbook whose
bytes depend on the rows only (every zip member stamped with one fixed time)."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from pathlib import Path

from provisioning.demo.generator import generate
from provisioning.demo.tables import XLSX_NAME, DemoData

_FIXED_ZIP_TIME = (2025, 9, 5, 0, 0, 0)


def write_demo(
    out_dir: Path,
    preset: str = "demo",
    *,
    schools: int | None = None,
    staff: int | None = None,
    seed: int = 2025,
    xlsx: bool = False,
) -> list[Path]:
    """Write don_vi.csv, nhan_su.csv, thong_ke.csv (or danh_ba.xlsx) into ``out_dir``."""
    data = generate(preset, schools=schools, staff=staff, seed=seed)
    return write_data(data, out_dir, xlsx=xlsx)


def write_data(data: DemoData, out_dir: Path, *, xlsx: bool = False) -> list[Path]:
    """Write already generated tables as CSV files or one workbook; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if xlsx:
        path = out_dir / XLSX_NAME
        _write_xlsx(data, path)
        return [path]
    paths = []
    for file_name, _, header, rows in data.tables():
        path = out_dir / file_name
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile stamping every member with one fixed time, so workbooks are reproducible."""

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=_FIXED_ZIP_TIME)
            zinfo_or_arcname.compress_type = self.compression
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: str | Path,
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        self.writestr(arcname or str(filename), Path(filename).read_bytes(), compress_type)


def _write_xlsx(data: DemoData, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    fixed = dt.datetime(*_FIXED_ZIP_TIME)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "Điều hành"
    for _, sheet, header, rows in data.tables():
        ws = wb.create_sheet(sheet)
        ws.append(header)
        for row in rows:
            ws.append([None if cell == "" else cell for cell in row])  # blank, as Excel keeps it
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
