"""Backup while everything runs, restore on a "fresh machine" (another data directory):
the bot still knows its directives, people still log in with their phone, and an
encrypted DM with the bot still works both ways (the bot's device and olm sessions came
back with its store)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomMessageNotice
from typer.testing import CliRunner

from dieuhanh.cli import app
from dieuhanh.db import open_database

from ..bot.test_bot_matrix import BotProcess, Setup, keys, open_encrypted_dm, send
from ..bot.test_directives_matrix import open_dm, say
from ..conftest import running_synapse
from ..identity.test_login import code_for, national
from ..waiting import eventually_async, log_tail


def bot_id(s) -> str:
    return f"@{s.config.bot.localpart}:{s.synapse.server_name}"


async def encrypted_dm(s, client: AsyncClient) -> str:
    return await open_encrypted_dm(client, bot_id(s))


async def ask_encrypted(s, client: AsyncClient, room_id: str, body: str) -> dict:
    """Send an encrypted command and return the bot's decrypted answer."""
    await keys(client, room_id)
    event_id = await send(client, room_id, body)

    async def answer() -> dict | None:
        response = await client.sync(timeout=1000)
        await keys(client)
        joined = response.rooms.join.get(room_id)
        for event in joined.timeline.events if joined else []:
            if isinstance(event, RoomMessageNotice) and event.sender == bot_id(s):
                content = event.source["content"]
                if content["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id:
                    assert event.decrypted  # encrypted on the wire
                    return content
        return None

    return await eventually_async(answer, 60, "the bot's decrypted answer", interval=0,
                                  diagnostic=log_tail(s.bot.log_path))  # fmt: skip


def test_backup_while_running_then_restore_on_a_fresh_data_directory(tmp_path):
    old_root, new_root, saved = tmp_path / "old", tmp_path / "new", tmp_path / "backup"
    phone_store = tmp_path / "phone-ht1"  # ht1's phone: not part of the server's backup
    phone_store.mkdir()
    runner = CliRunner()
    with running_synapse(old_root) as synapse:
        s = Setup(synapse, old_root)  # directory.db and bot/ inside the data directory
        s.bot.start(wait_for="initial sync done")

        async def before() -> tuple[str, dict, tuple]:
            director = await s.client("gd")
            try:
                dm = await open_dm(s, director)
                sent = await say(s, director, dm, "!gui THCS HT: Mời họp giao ban hiệu trưởng.")
            finally:
                await director.close()
            phone = s.phone("ht1")
            client = AsyncClient(
                synapse.base_url,
                national(phone),
                store_path=str(phone_store),
                config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
            )
            try:
                await client.login(code_for(synapse, phone), device_name="Element (điện thoại)")
                await client.sync(timeout=0, full_state=True)
                await keys(client)
                room_id = await encrypted_dm(s, client)
                answer = await ask_encrypted(s, client, room_id, "!thống kê THCS")
                session = (client.user_id, client.device_id, client.access_token, room_id)
            finally:
                await client.close()
            return sent["vn.dieuhanh.sent"]["code"], answer, session

        code, first_answer, (user_id, device_id, token, room_id) = asyncio.run(before())
        # the backup, with Synapse and the bot running (SQLite's online backup API)
        done = runner.invoke(app, ["backup", str(saved), "--data-dir", str(old_root)])
        assert done.exit_code == 0, done.output
        s.bot.stop()
    s.engine.dispose()
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["kind"] == "embedded" and manifest["trees"][0]["files"] > 10
    assert not list(saved.rglob("*.log")) and not list(saved.rglob("*-wal"))

    restored = runner.invoke(app, ["restore", str(saved), "--data-dir", str(new_root)])
    assert restored.exit_code == 0, restored.output
    refused = runner.invoke(app, ["restore", str(saved), "--data-dir", str(new_root)])
    assert refused.exit_code == 1 and "trống" in refused.output

    with running_synapse(new_root) as synapse:
        r = SimpleNamespace(
            synapse=synapse,
            config=s.config,
            district=s.district,
            engine=open_database(f"sqlite:///{new_root / 'directory.db'}"),
        )
        env = {
            **s.env,
            "DIEUHANH_DATABASE_URL": f"sqlite:///{new_root / 'directory.db'}",
            "DIEUHANH_BOT_STORE_PATH": str(new_root / "bot"),
            "DIEUHANH_HOMESERVER_URL": synapse.base_url,
        }
        r.bot = BotProcess(env, synapse.config_path, tmp_path / "bot-restored.log")
        r.bot.start(wait_for="restored session")  # its own device, from the restored store

        async def after() -> tuple[dict, str, dict]:
            director = AsyncClient(synapse.base_url, s.sessions["gd"][0])
            director.restore_login(*s.sessions["gd"])  # his token is in the restored DB
            try:
                await director.sync(timeout=0, full_state=True)
                dm = await open_dm(r, director)
                report = await say(r, director, dm, f"!baocao {code}")
            finally:
                await director.close()
            phone = s.phone("ht2")  # a fresh login on the restored server
            fresh = AsyncClient(synapse.base_url, national(phone))
            try:
                await fresh.login(code_for(synapse, phone), device_name="Element")
                logged_in = fresh.user_id
            finally:
                await fresh.close()
            client = AsyncClient(
                synapse.base_url,
                user_id,
                device_id=device_id,
                store_path=str(phone_store),
                config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
            )
            client.restore_login(user_id, device_id, token)
            try:
                await client.sync(timeout=0, full_state=True)
                answer = await ask_encrypted(r, client, room_id, "!thống kê THCS")
            finally:
                await client.close()
            return report, logged_in, answer

        try:
            report, logged_in, answer = asyncio.run(after())
        finally:
            r.bot.stop()
            r.engine.dispose()
    assert report["vn.dieuhanh.report"]["recipients"] == 2, report  # ht1 and ht2
    assert logged_in == s.user_id("ht2")
    assert answer["vn.dieuhanh.stats"] == first_answer["vn.dieuhanh.stats"]
    log = r.bot.log_path.read_text()
    assert "cannot decrypt" not in log and "logging in again" not in log
    assert Path(new_root / "config.yaml").read_text().count(str(old_root)) == 0


@pytest.mark.postgres
def test_a_postgresql_directory_is_dumped_and_restored_into_an_empty_database(tmp_path):
    """pg_dump while the database is in use; pg_restore into a new database on the server."""
    import uuid

    import psycopg

    from dieuhanh.backup import Database, Sources, backup, restore_postgres
    from provisioning.importer import import_paths

    from ..conftest import POSTGRES_URL
    from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
    from ..provisioning.conftest import make_district

    server = POSTGRES_URL.rsplit("/", 1)[0]
    names = [f"dh_bk_{uuid.uuid4().hex[:8]}", f"dh_bk_{uuid.uuid4().hex[:8]}"]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {names[0]}")
    try:
        engine = open_database(f"postgresql+psycopg://{server.split('://', 1)[1]}/{names[0]}")
        d = make_district("bk-")
        import_paths(
            engine,
            [
                write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, d.units),
                write_csv(tmp_path / "nhan_su.csv", STAFF_HEADER, d.staff),
            ],
        )
        with engine.connect() as busy:  # a service holding a connection meanwhile
            busy.exec_driver_sql("SELECT count(*) FROM people").scalar()
            source = Database("directory", "postgresql", f"{server}/{names[0]}")
            manifest = backup(Sources("deploy", databases=[source]), tmp_path / "saved")
        engine.dispose()
        dump = tmp_path / "saved" / manifest["databases"][0]["file"]
        restore_postgres(dump, f"{server}/{names[1]}", synapse=False)
        with psycopg.connect(f"{server}/{names[1]}") as conn:
            people = conn.execute("SELECT count(*) FROM people").fetchone()[0]
        assert people == len(d.staff)
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
