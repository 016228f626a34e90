"""Times on the command line (README *Using it*): ISO 8601 in local time unless they carry an
offset, read as aware UTC and shown in local time; used by the booking and usage commands.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from labgpu.core.i18n import _


def local_zone() -> tzinfo | None:
    """The IANA zone named by ``TZ``, or None to use the system's local time rules."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def parse_time(text: str, zone: tzinfo | None = None) -> datetime:
    """ISO 8601 (``2026-12-01T10:00``, ``... +09:00``, ``...Z``) or ``now``, as aware UTC.

    A naive time is local (``zone``, else ``TZ``, else the system's); one that does not exist
    there (skipped by a daylight-saving jump) is refused rather than guessed.
    """
    text = text.strip()
    zone = zone or local_zone()
    if text.lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            _(
                "{text} is not a time; write ISO 8601 like 2026-12-01T14:00 (local) "
                "or 2026-12-01T14:00+09:00"
            ).format(text=repr(text))
        ) from None
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()
        back = local.astimezone(UTC).astimezone(local.tzinfo if zone else None)
        if back.replace(tzinfo=None) != moment:
            raise argparse.ArgumentTypeError(
                _(
                    "{text} does not exist in local time (the clocks jump forward then); "
                    "choose another time or give an offset"
                ).format(text=text)
            )
        moment = local
    return moment.astimezone(UTC)


def show_time(moment: datetime) -> str:
    """A moment in local time for a person: ``2026-12-01 14:00 KST``."""
    zone = local_zone()
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _time_arg(text: str) -> datetime:
    return parse_time(text)


#: ``parse_time`` as an argparse ``type``. Its name stays ``_time_arg``: argparse shows it in a
#: refusal it words itself ("invalid _time_arg value", a time out of datetime's range).
time_arg = _time_arg
