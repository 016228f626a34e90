"""Shared bits of the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the sshd/PostgreSQL helpers live in tests/helpers
    sys.path.insert(0, str(ROOT))


def median(values: list[float]) -> float:
    """The median; the machine is small and noisy, so benchmarks quote medians."""
    return statistics.median(values)


def emit(figures: dict[str, Any]) -> None:
    """Print the figures as the last stdout line, one JSON object."""
    print(json.dumps(figures, sort_keys=True))
