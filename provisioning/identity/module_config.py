"""Reading a Synapse module's configuration into its dataclass, failing at start-up with
a clear message (the way Synapse's module API expects ``parse_config`` to behave)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from synapse.module_api.errors import ConfigError

T = TypeVar("T")


def parse_dataclass(cls: type[T], config: Any, module: str) -> T:
    """``cls(**config)``; ConfigError naming ``module`` for a non-mapping, unknown keys or
    missing ones."""
    if not isinstance(config, dict):
        raise ConfigError(f"{module}: the module config must be a mapping")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(f"{module}: unknown settings {', '.join(unknown)}")
    try:
        return cls(**config)
    except TypeError as exc:
        raise ConfigError(f"{module}: {exc}") from None
