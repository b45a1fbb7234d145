"""Benchmark: ``normalize_phone`` on ordinary mobile numbers, plain and spaced.

Prints microseconds per call next to a baseline measured in the same run on the same
numbers: a plain ``phonenumbers`` parse, validity and type check, what every call would
cost without the memoised fast path. The ratio travels between machines; the absolute
figures do not (the test suite asserted "< 10 µs a call" here until issue 12: timing does
not belong in a parallel test run).

    .venv/bin/python bench/phone.py
    .venv/bin/python bench/phone.py --numbers 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def plain_parse(raw: str) -> str | None:
    """The baseline: what ``phonenumbers`` alone says (E.164 of a valid mobile, or None)."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def ordinary_numbers(count: int, seed: int) -> list[str]:
    """``count`` valid mobile numbers in national form ("0912345678")."""
    rng = random.Random(seed)
    numbers: list[str] = []
    while len(numbers) < count:
        candidate = "0" + rng.choice("35789") + "".join(rng.choices("0123456789", k=8))
        if plain_parse(candidate):
            numbers.append(candidate)
    return numbers


def per_call(function: Callable[[str], object], inputs: list[str], repeat: int) -> float:
    """Best of ``repeat`` runs over ``inputs``, in microseconds per call."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for raw in inputs:
            function(raw)
        best = min(best, time.perf_counter() - started)
    return best / len(inputs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from provisioning.phone import normalize_phone

    numbers = ordinary_numbers(args.numbers, args.seed)
    spaced = [f"{n[:4]} {n[4:7]} {n[7:]}" for n in numbers]
    for raw in numbers[:100]:  # the memo's first entries, as after a few rows of a file
        normalize_phone(raw)
    print(f"{args.numbers:,} ordinary mobile numbers, best of {args.repeat} runs")
    print(f"{'input':8} {'phonenumbers µs':>16} {'normalize_phone µs':>19} {'× faster':>9}")
    for name, inputs in (("plain", numbers), ("spaced", spaced)):
        baseline = per_call(plain_parse, inputs, args.repeat)
        ours = per_call(normalize_phone, inputs, args.repeat)
        print(f"{name:8} {baseline:>16.2f} {ours:>19.2f} {baseline / ours:>9.1f}")


if __name__ == "__main__":
    main()
