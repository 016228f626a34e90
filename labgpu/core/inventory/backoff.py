"""How long to wait before trying a failing server again."""

from __future__ import annotations


def retry_delay(interval_s: float, failures: int, max_delay_s: float = 300.0) -> float:
    """Delay before the next probe after ``failures`` consecutive failures.

    No failure: the normal interval. Then it doubles each time, capped at ``max_delay_s``
    (never below the interval), so a dead host costs little and recovers within minutes.
    """
    if failures <= 0:
        return interval_s
    return max(interval_s, min(max_delay_s, interval_s * 2.0 ** min(failures, 30)))
