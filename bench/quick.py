"""Every benchmark that finishes within about two minutes, in one table.

Runs each script below in a fresh process (in turn: the machine is small and noisy), reads the
JSON object it prints last, and prints one row per figure: the figure, its target, the value
measured now, and the ratio to the baseline that script measured in the same run (``-`` where
the figure is not a ratio of its own). A script that fails or runs past its limit gets a row
saying so, and the others still run. Put the table in the closing note of any change that
touches what a benchmark measures.

Usage: .venv/bin/python bench/quick.py [--only NAME ...] [--limit SECONDS]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass

from _common import ROOT


@dataclass(frozen=True, slots=True)
class Figure:
    """One row: ``key`` of a script's JSON, shown as ``label``; ``ratio_key`` the script's own
    ratio to its baseline; ``target`` as the issue states it."""

    label: str
    key: str
    target: str
    ratio_key: str | None = None


@dataclass(frozen=True, slots=True)
class Bench:
    name: str
    argv: tuple[str, ...]
    figures: tuple[Figure, ...]


BENCHES = (
    Bench(
        "startup",
        ("--rounds", "5"),
        (
            Figure("window shown, ms", "labgpu_ms", "<= 1.5x a bare window", "startup_ratio"),
            Figure("database ready, ms", "labgpu_db_ready_ms", "-", "db_ready_ratio"),
        ),
    ),
    Bench(
        "slots",
        ("--bookings", "10000", "--searches", "30"),
        (
            Figure("earliest slot (SQLite), ms", "earliest_slot_ms", "<= 10 ms"),
            Figure("earliest slot (PostgreSQL), ms", "earliest_slot_ms_postgresql", "<= 10 ms"),
            Figure("earliest slot, search only, ms", "earliest_slot_core_ms", "-"),
            Figure("bookings/s (SQLite)", "book_per_s_sqlite", "-"),
            Figure("bookings/s (PostgreSQL)", "book_per_s_postgresql", "-"),
        ),
    ),
    Bench(
        "rls_overhead",
        ("--runs", "3"),
        (Figure("bookings/s as a student under RLS", "book_per_s_student", "-", "rls_ratio"),),
    ),
    Bench(
        "poll_sweep",
        ("--rounds", "5"),
        (Figure("sweep of 13 hosts, s", "sweep_s", "<= 1.5x one probe", "ratio"),),
    ),
)


def run(bench: Bench, limit: float) -> tuple[dict[str, object] | None, str, float]:
    """The script's figures (None: it failed), why not, and its wall time."""
    began = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / f"{bench.name}.py"), *bench.argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"ran past {limit:.0f} s", time.monotonic() - began
    took = time.monotonic() - began
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"exit {done.returncode}: {last}", took
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1]), "", took
    except (IndexError, json.JSONDecodeError):
        return None, "printed no figures", took


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "-" if value is None else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--limit", type=float, default=180.0, help="seconds per script")
    args = parser.parse_args()
    rows = [("figure", "target", "value", "ratio to baseline", "script (s)")]
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        print(f"running bench/{bench.name}.py {' '.join(bench.argv)} ...", file=sys.stderr)
        figures, why, took = run(bench, args.limit)
        for figure in bench.figures:
            if figures is None:
                rows.append((figure.label, figure.target, why, "-", f"{took:.0f}"))
                continue
            ratio = figures.get(figure.ratio_key) if figure.ratio_key else None
            value = figures.get(figure.key)
            rows.append((figure.label, figure.target, cell(value), cell(ratio), f"{took:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
