"""``python -m provisioning.demo OUT_DIR [--preset city] [--xlsx] [--seed N]``."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from provisioning.demo.generator import generate
from provisioning.demo.presets import PRESETS
from provisioning.demo.writers import write_data


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m provisioning.demo OUT_DIR [--preset P] [--xlsx]``: write and time."""
    parser = argparse.ArgumentParser(
        prog="python -m provisioning.demo", description="Write a synthetic school directory."
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    parser.add_argument("--schools", type=int)
    parser.add_argument("--staff", type=int)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--xlsx", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate(args.preset, schools=args.schools, staff=args.staff, seed=args.seed)
    generated = time.perf_counter()
    paths = write_data(data, args.out_dir, xlsx=args.xlsx)
    done = time.perf_counter()
    print(data.summary())
    print(f"generate {generated - start:.2f}s, write {done - generated:.2f}s, "
          f"total {done - start:.2f}s: {', '.join(map(str, paths))}")  # fmt: skip


if __name__ == "__main__":
    main()
