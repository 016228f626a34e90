"""One round trip per host per sweep: a fixed sh script printing GPU rows, compute apps, owners.

The script contains no user input. Its marked output is parsed by
:func:`labgpu.core.inventory.nvidia_smi.parse_probe_output`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from labgpu.core.errors import ProbeError
from labgpu.core.i18n import _
from labgpu.core.inventory import nvidia_smi
from labgpu.core.inventory.servers import ProbeResult, SshTarget
from labgpu.remote.ssh import SshPool

GPU_QUERY = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw"
APP_QUERY = "gpu_uuid,pid,used_memory,process_name"

#: The remote command of a sweep (POSIX sh). ``ps -p`` is skipped when there are no pids,
#: and the exit status of the first failing nvidia-smi call is reported.
PROBE_SCRIPT = f"""\
LC_ALL=C; export LC_ALL
echo '{nvidia_smi.HEADER}'
echo '{nvidia_smi.GPUS}'
nvidia-smi --query-gpu={GPU_QUERY} --format=csv,noheader,nounits
rc=$?
apps=''
if [ "$rc" -eq 0 ]; then
  apps=$(nvidia-smi --query-compute-apps={APP_QUERY} --format=csv,noheader,nounits)
  rc=$?
fi
echo '{nvidia_smi.APPS}'
if [ -n "$apps" ]; then printf '%s\\n' "$apps"; fi
pids=$(printf '%s\\n' "$apps" | awk -F, '{{gsub(/ /, "", $2)}} $2 ~ /^[0-9]+$/ \
{{printf "%s%s", sep, $2; sep = ","}}')
echo '{nvidia_smi.PS}'
if [ -n "$pids" ]; then ps -o pid=,user:32=,etimes=,args= -p "$pids" 2>/dev/null; fi
echo "{nvidia_smi.EXIT_PREFIX}$rc"
echo '{nvidia_smi.END}'
"""


def probe(pool: SshPool, target: SshTarget, timeout: float = 30.0) -> ProbeResult:
    """Probe one host: GPUs, their compute processes and the owners of those processes.

    Raises the pool's ``RemoteError`` subclasses for connection trouble, ``ProbeError`` when
    nvidia-smi is missing or fails (the message names the host and quotes its first line), and
    ``ProbeParseError`` for output that cannot be read. Never returns a partial result.
    """
    taken_at = datetime.now(UTC)
    result = pool.run_script(target, PROBE_SCRIPT, timeout=timeout)
    # Errors name the host as connection errors do: host:port unless the port is 22.
    label = pool.resolve(target).label
    if result.exit_status != 0:
        first = next((ln for ln in result.stderr.splitlines() if ln.strip()), _("no message"))
        raise ProbeError(
            label,
            _(
                "probe script failed (exit {code}): {error} — is /bin/sh available to that account?"
            ).format(code=result.exit_status, error=first.strip()),
        )
    parsed = nvidia_smi.parse_probe_output(label, result.stdout, taken_at, result.stderr)
    return dataclasses.replace(parsed, host=target.host)
