"""Benchmark: ``looks_like_mojibake`` on correct Vietnamese and on its legacy encodings.

Inputs: the names and words of tests/test_mojibake.py (each as written, upper- and
lower-case), the same in TCVN3, VNI and UTF-8 read as cp1252/Latin-1 (that test's
encoders), and the staff and unit names of the ``district`` demo (what an import checks).
Prints microseconds per call next to a baseline measured in the same run on the same
texts: one NFC normalisation, the least any check of a text costs (the function makes
one itself). The ratio travels between machines; the absolute figures do not (the test
suite asserted "< 20 µs a call" until issue 12: timing does not belong in a parallel
test run).

    .venv/bin/python bench/mojibake.py
    .venv/bin/python bench/mojibake.py --repeat 10
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def inputs() -> dict[str, list[str]]:
    """The three sets of texts, by name."""
    from provisioning.demo import generate
    from tests.test_mojibake import CORRECT, ENCODERS, spellings

    correct = [text for name in CORRECT for text in spellings(name)]
    legacy = [encode(text) for text in correct for encode in ENCODERS.values()]
    demo = generate("district")
    names = [str(row[1]) for row in demo.staff] + [str(row[1]) for row in demo.units]
    return {"correct": correct, "legacy": legacy, "district": names}


def per_call(function: Callable[[str], object], texts: list[str], repeat: int) -> float:
    """Best of ``repeat`` runs over ``texts``, in microseconds per call."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            function(text)
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best counts")
    args = parser.parse_args()

    from provisioning.mojibake import looks_like_mojibake

    print(f"best of {args.repeat} runs")
    print(f"{'texts':9} {'count':>6} {'NFC µs':>7} {'looks_like_mojibake µs':>23} {'× NFC':>6}")
    for name, texts in inputs().items():
        baseline = per_call(nfc, texts, args.repeat)
        ours = per_call(looks_like_mojibake, texts, args.repeat)
        print(f"{name:9} {len(texts):>6} {baseline:>7.2f} {ours:>23.2f} {ours / baseline:>6.1f}")


if __name__ == "__main__":
    main()
