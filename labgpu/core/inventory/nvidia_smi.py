"""Parse the output of labgpu's probe script (nvidia-smi CSV queries + ps), as pure functions.

The probe script (``labgpu.remote.probe``) prints marked sections::

    @@labgpu-probe 1
    @@gpus
    <nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,
     temperature.gpu,power.draw --format=csv,noheader,nounits>
    @@apps
    <nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory,process_name --format=csv,...>
    @@ps
    <ps -o pid=,user:32=,etimes=,args= -p PIDS>
    @@containers                     (only when there are pids)
    <PID UID-MAP-LINE CGROUP-LINE per pid, see core/inventory/containers.py>
    @@labels                         (only where docker or podman is on PATH)
    <ID NAME LABEL per container, from one inspect>
    @@accounts                       (only when a label or a rootless uid needs a name)
    <getent passwd lines>
    @@nvidia-smi-exit N
    @@end

Values may carry units (``16376 MiB``, ``35 %``, ``69.85 W``) or not, and any value may be
``[N/A]``/``[Not Supported]`` (read as ``None``). Anything else malformed raises
:class:`ProbeParseError` naming the line: a sweep is stored whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from labgpu.core.errors import ProbeError, ProbeParseError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory import containers
from labgpu.core.inventory.servers import GpuProcess, GpuReading, ProbeResult

HEADER = "@@labgpu-probe 1"
GPUS = "@@gpus"
APPS = "@@apps"
PS = "@@ps"
CONTAINERS = "@@containers"
LABELS = "@@labels"
ACCOUNTS = "@@accounts"
#: Sections after ``@@ps`` that a probe prints only when it has something to say.
OPTIONAL = (CONTAINERS, LABELS, ACCOUNTS)
EXIT_PREFIX = "@@nvidia-smi-exit "
END = "@@end"

GPU_FIELDS = 8
APP_FIELDS = 4

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_INTEGER = re.compile(r"[0-9]+", re.ASCII)
_NOT_AVAILABLE = {"n/a", "not supported", "[n/a]", "[not supported]"}
# Lines nvidia-smi may print in place of an empty compute-apps list on some drivers.
_NO_PROCESSES = {"no running processes found"}


@dataclass(frozen=True, slots=True)
class ProbeSections:
    """The raw lines of each section of one probe's output."""

    gpu_lines: tuple[str, ...]
    app_lines: tuple[str, ...]
    ps_lines: tuple[str, ...]
    nvidia_smi_exit: int
    optional: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PsEntry:
    """One line of ``ps -o pid=,user:32=,etimes=,args=``."""

    pid: int
    user: str
    elapsed_s: int
    command: str


def _is_not_available(value: str) -> bool:
    low = value.lower()
    return low in _NOT_AVAILABLE or (low.startswith("[") and low.endswith("]"))


def _number(host: str, line: str, value: str, unit: str, what: str) -> str | None:
    """Strip ``unit`` from ``value``; return the digits or ``None`` for N/A."""
    value = value.strip()
    if _is_not_available(value):
        return None
    if unit and value.endswith(unit):
        value = value[: -len(unit)].rstrip()
    if not _NUMBER.fullmatch(value):
        raise ProbeParseError(
            host, line, _("{what} is not a number: {value}").format(what=what, value=repr(value))
        )
    return value


def _opt_int(host: str, line: str, value: str, unit: str, what: str) -> int | None:
    digits = _number(host, line, value, unit, what)
    if digits is None:
        return None
    if not _INTEGER.fullmatch(digits):
        raise ProbeParseError(host, line, _not_whole(what, digits))
    return int(digits)


def _opt_float(host: str, line: str, value: str, unit: str, what: str) -> float | None:
    digits = _number(host, line, value, unit, what)
    return None if digits is None else float(digits)


def _not_whole(what: str, value: str) -> str:
    return _("{what} is not a whole number: {value}").format(what=what, value=repr(value))


def _req_int(host: str, line: str, value: str, what: str) -> int:
    value = value.strip()
    if not _INTEGER.fullmatch(value):
        raise ProbeParseError(host, line, _not_whole(_(what), value))
    return int(value)


def _req_text(host: str, line: str, value: str, what: str) -> str:
    value = value.strip()
    if not value or _is_not_available(value):
        raise ProbeParseError(host, line, _("{what} is missing").format(what=_(what)))
    return value


def parse_gpu_line(host: str, line: str) -> GpuReading:
    """Parse one ``--query-gpu`` CSV row (the eight fields of the probe, in order)."""
    fields = line.split(",")
    if len(fields) != GPU_FIELDS:
        raise ProbeParseError(
            host,
            line,
            _("expected {count} GPU fields, got {got}").format(count=GPU_FIELDS, got=len(fields)),
        )
    index, uuid, name, total, used, util, temp, power = fields
    return GpuReading(
        index=_req_int(host, line, index, N_("GPU index")),
        uuid=_req_text(host, line, uuid, "GPU uuid"),
        name=_req_text(host, line, name, N_("GPU name")),
        memory_total_mb=_opt_int(host, line, total, "MiB", "memory.total"),
        memory_used_mb=_opt_int(host, line, used, "MiB", "memory.used"),
        utilization_pct=_opt_float(host, line, util, "%", "utilization.gpu"),
        temperature_c=_opt_float(host, line, temp, "C", "temperature.gpu"),
        power_w=_opt_float(host, line, power, "W", "power.draw"),
    )


def parse_app_line(host: str, line: str) -> GpuProcess:
    """Parse one ``--query-compute-apps`` CSV row (gpu_uuid, pid, used_memory, process_name).

    The process name is the last field and may itself contain commas.
    """
    fields = line.split(",", APP_FIELDS - 1)
    if len(fields) != APP_FIELDS:
        raise ProbeParseError(
            host,
            line,
            _("expected {count} process fields, got {got}").format(
                count=APP_FIELDS, got=len(fields)
            ),
        )
    uuid, pid, used, name = fields
    return GpuProcess(
        gpu_uuid=_req_text(host, line, uuid, "GPU uuid"),
        pid=_req_int(host, line, pid, "pid"),
        used_memory_mb=_opt_int(host, line, used, "MiB", "used_memory"),
        process_name=name.strip(),
    )


def parse_ps_line(host: str, line: str) -> PsEntry:
    """Parse one ``ps -o pid=,user:32=,etimes=,args=`` line; args keep their spaces."""
    parts = line.split(None, 3)
    if len(parts) < 3:
        raise ProbeParseError(
            host,
            line,
            _("expected pid, user, elapsed and command, got {parts}").format(parts=parts),
        )
    command = parts[3].rstrip() if len(parts) == 4 else ""
    return PsEntry(
        pid=_req_int(host, line, parts[0], "pid"),
        user=parts[1],
        elapsed_s=_req_int(host, line, parts[2], N_("elapsed seconds")),
        command=command,
    )


def _expect(host: str, lines: list[str], pos: int, marker: str) -> int:
    """Check that ``lines[pos]`` is ``marker``; return the next position."""
    if pos >= len(lines):
        raise ProbeParseError(
            host, "", _("output ends before {marker} (truncated?)").format(marker=repr(marker))
        )
    if lines[pos] != marker:
        raise ProbeParseError(
            host, lines[pos], _("expected section marker {marker}").format(marker=repr(marker))
        )
    return pos + 1


def _body(lines: list[str], pos: int) -> tuple[tuple[str, ...], int]:
    """Collect the non-blank lines of a section up to the next ``@@`` marker."""
    body: list[str] = []
    while pos < len(lines) and not lines[pos].startswith("@@"):
        if lines[pos].strip():
            body.append(lines[pos])
        pos += 1
    return tuple(body), pos


def split_sections(host: str, text: str) -> ProbeSections:
    """Split probe output into its sections, checking every marker and the end marker."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    pos = _expect(host, lines, 0, HEADER)
    pos = _expect(host, lines, pos, GPUS)
    gpu_lines, pos = _body(lines, pos)
    pos = _expect(host, lines, pos, APPS)
    app_lines, pos = _body(lines, pos)
    pos = _expect(host, lines, pos, PS)
    ps_lines, pos = _body(lines, pos)
    optional: dict[str, tuple[str, ...]] = {}
    while pos < len(lines) and lines[pos] in OPTIONAL and lines[pos] not in optional:
        optional[lines[pos]], pos = _body(lines, pos + 1)
    if pos >= len(lines) or not lines[pos].startswith(EXIT_PREFIX):
        line = lines[pos] if pos < len(lines) else ""
        raise ProbeParseError(
            host, line, _("expected {marker} line").format(marker=repr(EXIT_PREFIX.strip()))
        )
    status = lines[pos][len(EXIT_PREFIX) :]
    exit_code = _req_int(host, lines[pos], status, N_("nvidia-smi exit status"))
    pos = _expect(host, lines, pos + 1, END)
    if pos != len(lines):
        raise ProbeParseError(host, lines[pos], _("unexpected output after the end marker"))
    return ProbeSections(gpu_lines, app_lines, ps_lines, exit_code, optional)


def _failure(host: str, sections: ProbeSections, stderr: str) -> ProbeError:
    detail = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")
    if not detail:
        detail = sections.gpu_lines[0].strip() if sections.gpu_lines else _("no output")
    if sections.nvidia_smi_exit == 127:
        hint = _("nvidia-smi was not found on the server's PATH — is the NVIDIA driver installed?")
    else:
        hint = _("is the NVIDIA driver loaded? try running nvidia-smi on the server")
    return ProbeError(
        host,
        _("nvidia-smi failed (exit {code}): {detail} — {hint}").format(
            code=sections.nvidia_smi_exit, detail=detail, hint=hint
        ),
    )


def _join(apps: list[GpuProcess], ps: dict[int, PsEntry]) -> tuple[GpuProcess, ...]:
    joined: list[GpuProcess] = []
    for app in apps:
        entry = ps.get(app.pid)
        if entry is None:  # exited between the nvidia-smi and the ps query
            joined.append(app)
            continue
        joined.append(
            GpuProcess(
                gpu_uuid=app.gpu_uuid,
                pid=app.pid,
                used_memory_mb=app.used_memory_mb,
                process_name=app.process_name,
                user=entry.user,
                elapsed_s=entry.elapsed_s,
                command=entry.command,
            )
        )
    return tuple(joined)


def parse_probe_output(
    host: str,
    text: str,
    taken_at: datetime,
    stderr: str = "",
    known: Mapping[str, tuple[str, ...]] | None = None,
) -> ProbeResult:
    """Parse a whole probe's stdout into a :class:`ProbeResult`.

    ``known``: lines an earlier probe of the host printed in the ``LABELS`` and ``ACCOUNTS``
    sections, which this probe did not ask again (``labgpu.remote.probe`` keeps them).

    Raises :class:`ProbeParseError` for malformed output (never a partial result) and
    :class:`ProbeError` when the output is well formed but nvidia-smi exited non-zero (its
    message quotes the first line of ``stderr``, else the first output line).
    """
    sections = split_sections(host, text)
    if sections.nvidia_smi_exit != 0:
        raise _failure(host, sections, stderr)
    gpus = tuple(parse_gpu_line(host, line) for line in sections.gpu_lines)
    apps = [
        parse_app_line(host, line)
        for line in sections.app_lines
        if line.strip().lower() not in _NO_PROCESSES
    ]
    ps = {entry.pid: entry for entry in (parse_ps_line(host, ln) for ln in sections.ps_lines)}
    optional = dict(sections.optional)
    for marker, lines in (known or {}).items():
        optional[marker] = (*lines, *optional.get(marker, ()))
    processes = _attribute(_join(apps, ps), optional)
    return ProbeResult(host=host, taken_at=taken_at, gpus=gpus, processes=processes)


def _attribute(
    processes: tuple[GpuProcess, ...], optional: dict[str, tuple[str, ...]]
) -> tuple[GpuProcess, ...]:
    """Give processes in containers their container and real owner (or none: unknown).

    Lines of these sections that cannot be read are skipped: a process whose place is not
    known keeps its ``ps`` user only if no line says it is in a container.
    """
    places = {
        place.pid: place
        for place in map(containers.parse_place, optional.get(CONTAINERS, ()))
        if place is not None
    }
    if not any(place.container for place in places.values()):
        return processes
    inspected = dict(filter(None, map(containers.parse_inspect_line, optional.get(LABELS, ()))))
    accounts = list(filter(None, map(containers.parse_account_line, optional.get(ACCOUNTS, ()))))
    joined = []
    for proc in processes:
        place = places.get(proc.pid)
        found = None if place is None else containers.attribute(place, inspected, accounts)
        if found is not None and proc.user is not None:
            proc = replace(
                proc, user=found.user, container=found.container, container_runtime=found.runtime
            )
        joined.append(proc)
    return tuple(joined)
