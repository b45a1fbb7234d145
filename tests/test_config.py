"""Configuration: the example documents every setting; the environment overrides the file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from dieuhanh.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"


def _paths(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            out.extend(_paths(type(default), (*prefix, f.name)))
        else:
            out.append((*prefix, f.name))
    return out


def test_example_holds_every_setting_each_with_a_comment():
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for path in _paths(Config):
        node = data
        for key in path:
            assert key in node, f"config.example.yaml lacks {'.'.join(path)}"
            node = node[key]
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{path[-1]}:"))
        # a comment right above the key, or above the small group it belongs to
        assert any(line.strip().startswith("#") for line in lines[max(0, index - 3) : index]), (
            f"{'.'.join(path)} has no comment"
        )
    assert load_config(EXAMPLE) == Config()  # the example shows the defaults


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("bot:\n  password: from-file\nweb:\n  listen_port: 1\n", encoding="utf-8")
    env = {
        "DIEUHANH_BOT_PASSWORD": "from-env",
        "DIEUHANH_SMS_HTTP_HEADERS": '{"X-Key": "k"}',
        "DIEUHANH_WEB_LISTEN_PORT": "8080",
    }
    config = load_config(path, environ=env)
    assert config.bot.password == "from-env"
    assert config.sms.http.headers == {"X-Key": "k"}
    assert config.web.listen_port == 8080


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("bot:\n  passwd: x\n", {}, "bot: khoá không được hỗ trợ: passwd"),
        ("web:\n  listen_port: abc\n", {}, "web.listen_port: phải là số nguyên"),
        ("", {"DIEUHANH_WEB_LISTEN_PORT": "x"}, "DIEUHANH_WEB_LISTEN_PORT: phải là số nguyên"),
        ("- a\n- b\n", {}, "bảng khoá: giá trị"),
        ("bot: [1\n", {}, "không đọc được YAML"),
    ],
)
def test_bad_configuration_is_named(tmp_path, text, env, message):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path, environ=env)
