"""Finding (low): a departed person keeps a usable Matrix account.

A person removed from the staff file kept their sessions and could still log in with a
code until someone ran ``dieuhanh apply``, and not at all while the mass-removal guard
refused the plan. Now ``dieuhanh import`` deactivates departures at once (deactivation
deletes every device and access token), ``apply`` deactivates them even when its guard
refuses the rest, and the guard against a truncated staff file moved to the import.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning.importer import UnusableInput, import_paths
from provisioning.matrix.apply import MassRemovalRefused, apply

from ..directory.conftest import BASE_STAFF, BASE_UNITS, STAFF_HEADER, UNIT_HEADER, snapshot
from ..directory.conftest import write_csv as write_rows
from ..directory.test_import_rules import base, run, staff_row
from ..identity.test_login import SHAPES, code_for, fake_ip, http, login

_runs = itertools.count()


def e164(national: str) -> str:
    return "+84" + national[1:]


def sign_in(synapse, phone: str) -> str:
    """Log in with a code, as Element Android does; the access token."""
    typed = SHAPES["element-android m.id.user typed"](phone)
    status, body = login(synapse, typed, code_for(synapse, phone))
    assert status == 200, body
    return body["access_token"]


def token_works(synapse, token: str) -> bool:
    status, body = http(
        synapse,
        "GET",
        "/_matrix/client/v3/account/whoami",
        None,
        {"Authorization": f"Bearer {token}", "X-Forwarded-For": fake_ip()},
    )
    assert status in (200, 401), (status, body)
    return status == 200


def cli(world, monkeypatch, *args: str):
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", str(world.engine.url))
    monkeypatch.setenv("DIEUHANH_HOMESERVER_URL", world.config.homeserver.url)
    monkeypatch.setenv("DIEUHANH_HOMESERVER_ADMIN_TOKEN", world.config.homeserver.admin_token)
    return CliRunner().invoke(app, [*args, "--config", str(world.synapse.config_path)])


def cli_import(world, monkeypatch, *options: str):
    folder = world.folder / f"cli{next(_runs)}"
    files = [
        write_rows(folder / "don_vi.csv", UNIT_HEADER, world.district.units),
        write_rows(folder / "nhan_su.csv", STAFF_HEADER, world.district.staff),
    ]
    return cli(world, monkeypatch, "import", *map(str, files), *options)


def test_a_departure_ends_sessions_and_codes_when_it_is_imported(world, monkeypatch):
    d = world.district
    world.load()
    world.apply()
    phone = e164(d.row("gv2")[2])
    token = sign_in(world.synapse, phone)
    spare = code_for(world.synapse, phone)  # asked for before leaving, still unused
    assert token_works(world.synapse, token)
    d.staff.remove(d.row("gv2"))
    imported = cli_import(world, monkeypatch)  # no apply is run
    assert imported.exit_code == 0, imported.output
    assert not token_works(world.synapse, token)
    status, _ = login(world.synapse, SHAPES["element-android m.id.user typed"](phone), spare)
    assert status == 403
    assert world.user(world.user_id("gv2"))["deactivated"] is True
    assert "Đã khoá 1 tài khoản Matrix của người nghỉ việc" in imported.output


def test_apply_deactivates_departures_even_when_its_guard_refuses_the_rest(world, monkeypatch):
    d = world.district
    world.load()
    world.apply()
    token = sign_in(world.synapse, e164(d.row("gv2")[2]))
    d.staff.remove(d.row("gv2"))
    for code in ("gv1", "nv1", "gv3", "gv4", "gv5"):  # many moves: many memberships removed
        d.row(code)[4] = d.u("thcs2") if code != "gv3" else d.u("thcs1")
    world.load()  # through the library: nothing deactivated yet
    assert world.plan().mass_removal(world.config.provisioning.max_removal_share)
    with pytest.raises(MassRemovalRefused) as refused:
        asyncio.run(apply(world.engine, world.config))
    assert not token_works(world.synapse, token)
    assert refused.value.result.counts == {"deactivate_user": 1}
    assert world.user(world.user_id("gv2"))["deactivated"] is True
    gv1 = world.user_id("gv1")
    assert world.unit_room("thcs1", "announcements") in world.joined_rooms(gv1)  # rest held back
    # the command line says both
    d.staff.remove(d.row("gv1"))
    world.load()
    applied = cli(world, monkeypatch, "apply")
    assert applied.exit_code == 2, applied.output
    assert "Đã khoá 1 tài khoản Matrix của người nghỉ việc" in applied.output
    assert "--allow-mass-removal" in applied.output
    assert world.user(gv1)["deactivated"] is True


def test_a_truncated_staff_file_is_refused_at_import(world, monkeypatch):
    d = world.district
    world.load()
    world.apply()
    before = snapshot(world.engine)
    d.staff = d.staff[:3]
    refused = cli_import(world, monkeypatch)
    assert refused.exit_code == 2, refused.output
    assert "11 trên 14 người" in refused.output and "--allow-mass-removal" in refused.output
    assert snapshot(world.engine) == before  # nothing imported
    assert world.user(world.user_id("gv5"))["deactivated"] is False
    accepted = cli_import(world, monkeypatch, "--allow-mass-removal")
    assert accepted.exit_code == 0, accepted.output
    assert world.user(world.user_id("gv5"))["deactivated"] is True
    assert "Đã khoá 11 tài khoản Matrix của người nghỉ việc" in accepted.output


def test_the_departure_share_is_counted_within_the_scope(engine, tmp_path):
    extra = [
        staff_row(code=f"P2{i:02}", phone=f"09110002{i:02}", unit="thcs-tt") for i in range(20)
    ]
    staff = [*BASE_STAFF, *extra]
    run(engine, tmp_path, units=BASE_UNITS, staff=staff)
    before = snapshot(engine)
    only_principal = [r for r in BASE_STAFF if r[0] == "P004"]
    with pytest.raises(UnusableInput, match="21 trên 22 người") as refused:
        run(engine, tmp_path, staff=only_principal, scope="thcs-tt")
    assert "10%" in str(refused.value) and "--allow-mass-removal" in str(refused.value)
    assert snapshot(engine) == before
    # another school's one departure is within the limit: the city is not counted
    dvd = [r for r in BASE_STAFF if r[4] == "thcs-dvd" and r[0] != "P003"]
    assert run(engine, tmp_path, staff=dvd, scope="thcs-dvd").people.removed == 1


def test_mass_departures_are_imported_when_allowed(engine, tmp_path):
    base(engine, tmp_path)
    folder = tmp_path / "few"
    files = [write_rows(folder / "nhan_su.csv", STAFF_HEADER, BASE_STAFF[:1])]
    with pytest.raises(UnusableInput, match="7 trên 8 người"):
        import_paths(engine, files)
    result = import_paths(engine, files, allow_mass_removal=True)
    assert result.people.removed == 7
    assert json.dumps(result.summary_lines(), ensure_ascii=False).count("7 nghỉ việc") == 1
