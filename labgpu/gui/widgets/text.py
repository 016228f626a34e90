"""Turning values into the short texts the window shows (units, states, local times)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QCoreApplication

from labgpu.core.inventory.servers import GpuProcess, ServerState

DASH = "—"


def state_label(state: ServerState) -> str:
    """A server state in words."""
    labels = {
        ServerState.UNKNOWN: QCoreApplication.translate("text", "waiting for first contact"),
        ServerState.ONLINE: QCoreApplication.translate("text", "online"),
        ServerState.OFFLINE: QCoreApplication.translate("text", "offline"),
        ServerState.AUTH_FAILED: QCoreApplication.translate("text", "login failed"),
        ServerState.HOST_KEY_UNKNOWN: QCoreApplication.translate("text", "host key not trusted"),
        ServerState.HOST_KEY_CHANGED: QCoreApplication.translate("text", "host key changed"),
        ServerState.PROBE_ERROR: QCoreApplication.translate("text", "nvidia-smi failed"),
    }
    return labels[state]


def gib(mb: int | None) -> str:
    """MiB as GiB with one decimal, or a dash."""
    return DASH if mb is None else f"{mb / 1024:.1f}"


def memory(used_mb: int | None, total_mb: int | None) -> str:
    """``12.3 / 16.0 GiB``."""
    return QCoreApplication.translate("text", "{used} / {total} GiB").format(
        used=gib(used_mb), total=gib(total_mb)
    )


def percent(value: float | None) -> str:
    """``73 %`` or ``n/a`` (MIG-enabled GPUs report no utilisation)."""
    return QCoreApplication.translate("text", "n/a") if value is None else f"{value:.0f} %"


def celsius(value: float | None) -> str:
    """``54 °C`` or a dash."""
    return DASH if value is None else f"{value:.0f} °C"


def watts(value: float | None) -> str:
    """``120 W`` or a dash."""
    return DASH if value is None else f"{value:.0f} W"


def local_time(ts: datetime | None) -> str:
    """A stored UTC time shown in local time; today's as ``HH:MM:SS``, older with the date."""
    if ts is None:
        return QCoreApplication.translate("text", "never")
    local = ts.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def dated_time(ts: datetime | None) -> str:
    """A stored UTC time in local time, always with its date (``2026-12-01 14:03``)."""
    if ts is None:
        return QCoreApplication.translate("text", "never")
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


def owner(proc: GpuProcess) -> str:
    """``kim.minjun``, ``kim.minjun (container vit-train)``, ``owner unknown (container
    vit-train)``, or ``(exited)`` for a process gone before ``ps`` saw it."""
    if proc.container is None:
        return proc.user or QCoreApplication.translate("text", "(exited)")
    if proc.user is None:
        return QCoreApplication.translate("text", "owner unknown (container {name})").format(
            name=proc.container
        )
    return QCoreApplication.translate("text", "{user} (container {name})").format(
        user=proc.user, name=proc.container
    )


def owners(processes: Sequence[GpuProcess]) -> str:
    """The distinct owners of a GPU's processes, in order (exited ones left out)."""
    seen = dict.fromkeys(owner(p) for p in processes if p.user or p.container)
    return ", ".join(seen)


def process_line(proc: GpuProcess) -> str:
    """``alice  pid 4242  3.1 GiB  python train.py`` (the command may be long; views elide)."""
    user = owner(proc)
    command = proc.command or proc.process_name
    return QCoreApplication.translate("text", "{user}  pid {pid}  {mem} GiB  {command}").format(
        user=user, pid=proc.pid, mem=gib(proc.used_memory_mb), command=command
    )


def safe_url(url: str) -> str:
    """A database URL fit to show: the password, if any, replaced by ``***``."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


def short_db(url: str) -> str:
    """A short name for a database: ``SQLite labgpu.db`` or ``PostgreSQL host/lab``."""
    if url.startswith("sqlite"):
        return f"SQLite {url.rsplit('/', 1)[-1]}"
    match = re.match(r"[a-z0-9+]+://(?:[^@/]*@)?([^/?]*)/?([^?]*)", url)
    return f"PostgreSQL {match.group(1)}/{match.group(2)}" if match else safe_url(url)


def rule_label(rule: str) -> str:
    """A rule's name as the Rules page calls it."""
    labels = {
        "max_hours": QCoreApplication.translate("DemandPanel", "longest booking"),
        "horizon_days": QCoreApplication.translate("DemandPanel", "how far ahead"),
        "max_gpus_at_once": QCoreApplication.translate("DemandPanel", "GPUs at once"),
        "weekly_quota_gpu_hours": QCoreApplication.translate("DemandPanel", "weekly quota"),
        "bookable": QCoreApplication.translate("DemandPanel", "bookable GPUs"),
        "model": QCoreApplication.translate("DemandPanel", "bookable models"),
        "count": QCoreApplication.translate("DemandPanel", "GPUs in one request"),
    }
    return labels.get(rule, rule)
