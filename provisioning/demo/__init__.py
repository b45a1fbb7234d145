"""Synthetic but realistic directory of a city's school system, for demos, tests and benchmarks.

Files follow /work/shared/DATA-FORMAT.md, with the importer's own column and sheet names:
``don_vi.csv``, ``nhan_su.csv``, ``thong_ke.csv`` (UTF-8 with BOM) or one ``danh_ba.xlsx``
with the same tables as sheets. A seed always gives byte-identical files.

    python -m provisioning.demo OUT_DIR [--preset city] [--xlsx] [--seed N]

Modules: ``names`` and ``geography`` (the words names are made of; the city's communes),
``distributions`` and ``presets`` (how people and schools are spread; the sizes),
``generator`` (the rows), ``tables`` (the tables' columns and rows), ``writers`` (CSV, XLSX).
"""

from provisioning.demo.generator import PORTAL_DOMAIN, SCHOOL_YEARS, generate
from provisioning.demo.geography import COMMUNES, Commune
from provisioning.demo.presets import PRESETS, Preset
from provisioning.demo.tables import (
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
    STAFF_COLUMNS,
    STATS_COLUMNS,
    TABLES,
    U_CODE,
    U_KIND,
    U_LEVEL,
    U_NAME,
    U_OWNERSHIP,
    U_PARENT,
    U_PORTAL,
    U_RSS,
    UNIT_COLUMNS,
    XLSX_NAME,
    Cell,
    DemoData,
    Row,
)
from provisioning.demo.writers import write_data, write_demo

__all__ = [
    "COMMUNES",
    "PORTAL_DOMAIN",
    "PRESETS",
    "SCHOOL_YEARS",
    "STAFF_COLUMNS",
    "STATS_COLUMNS",
    "S_BIRTH",
    "S_EMAIL",
    "S_GENDER",
    "S_ID",
    "S_NAME",
    "S_PHONE",
    "S_POSITION",
    "S_SUBJECT",
    "S_TRAINING",
    "S_UNIT",
    "TABLES",
    "UNIT_COLUMNS",
    "U_CODE",
    "U_KIND",
    "U_LEVEL",
    "U_NAME",
    "U_OWNERSHIP",
    "U_PARENT",
    "U_PORTAL",
    "U_RSS",
    "XLSX_NAME",
    "Cell",
    "Commune",
    "DemoData",
    "Preset",
    "Row",
    "generate",
    "write_data",
    "write_demo",
]
