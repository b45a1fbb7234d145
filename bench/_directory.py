"""Shared by the bot and directive benchmarks: a synthetic directory whose people all
have Matrix accounts (``@<mã định danh>:bench``), as if provisioning had run."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, insert, select

ROOT = Path(__file__).resolve().parent.parent


def user_id(code: str) -> str:
    return f"@{code.lower()}:bench"


def directory_with_accounts(preset: str, database: Path) -> Engine:
    """Import the preset (generated once under bench/out/) into a new SQLite file."""
    from dieuhanh.db import open_database
    from provisioning.db.models import MatrixAccount, Person
    from provisioning.demo import write_demo
    from provisioning.importer import import_paths

    data = ROOT / "bench" / "out" / preset
    if not (data / "nhan_su.csv").exists():
        write_demo(data, preset)
    engine = open_database(f"sqlite:///{database}")
    started = time.perf_counter()
    import_paths(engine, sorted(data.glob("*.csv")))
    print(f"imported {preset} in {time.perf_counter() - started:.1f} s")
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": pid, "user_id": user_id(code), "created": True, "deactivated": False}
                for pid, code in people
            ],
        )
    return engine
