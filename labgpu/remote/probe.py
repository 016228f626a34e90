"""One round trip per host per sweep: a fixed sh script printing GPU rows, compute apps, owners
and the containers they run in.

The script contains no user input but the owner label's name (checked, then shell-quoted). Its
marked output is parsed by :func:`labgpu.core.inventory.nvidia_smi.parse_probe_output`.
"""

from __future__ import annotations

import dataclasses
import shlex
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime

from labgpu.core.errors import ConfigError, LabgpuError, ProbeError
from labgpu.core.i18n import _
from labgpu.core.inventory import containers, nvidia_smi
from labgpu.core.inventory.containers import DEFAULT_OWNER_LABEL, valid_label_name
from labgpu.core.inventory.servers import ProbeResult, SshTarget
from labgpu.remote.ssh import SshPool

GPU_QUERY = "index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw"
APP_QUERY = "gpu_uuid,pid,used_memory,process_name"

_PROBE_START = f"""\
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
"""

# Per GPU pid: the first cgroup line that may be a container's and the first uid_map line,
# with builtins only (no process per pid). Then, if a container was found: one `inspect` of
# those containers where docker or podman is on PATH (a failure prints nothing; `timeout`
# bounds a hung daemon), and one `getent passwd` for the names and uids the owner rule needs.
# {fmt} is the inspect format, shell-quoted. Read by core/inventory/containers.py.
# ``known_ids`` / ``known_keys`` (set before this part): containers and accounts an earlier probe
# of this host already answered for; they are not asked again (see ``_Known``).
_CONTAINER_PART = """\
if [ -n "$pids" ]; then
  echo '{containers}'
  set -f; IFS=,; set -- $pids; unset IFS
  cids=''; keys=''
  for p do
    c=-
    if [ -r "/proc/$p/cgroup" ]; then
      while IFS= read -r l; do
        case $l in *docker*|*containerd*|*libpod*|*kubepods*|*crio-*|*nerdctl*) c=$l; break ;; esac
      done < "/proc/$p/cgroup"
    fi
    a=-; b=-; n=-
    if [ -r "/proc/$p/uid_map" ]; then read -r a b n < "/proc/$p/uid_map"; fi
    echo "$p $a $b $n $c"
    if [ "$c" != - ]; then
      id=''
      IFS=/
      for x in ${{c#*:*:}}; do
        x=${{x%.scope}}; x=${{x##*-}}
        case $x in *[!0-9a-f]*) ;; {id64}) id=$x ;; esac
      done
      unset IFS
      if [ -n "$id" ]; then
        case " $cids $known_ids " in *" $id "*) ;; *) cids="$cids $id" ;; esac
      fi
      if [ "$a" = 0 ] && [ "$b" != 0 ]; then keys="$keys $b"; fi
    fi
  done
  cids=${{cids# }}
  if [ -n "$cids" ]; then
    d=''
    if command -v docker >/dev/null 2>&1; then d=docker
    elif command -v podman >/dev/null 2>&1; then d=podman; fi
    if [ -n "$d" ]; then
      t=''
      if command -v timeout >/dev/null 2>&1; then t='timeout 5'; fi
      labels=$($t $d inspect --format {fmt} $cids 2>/dev/null)
      echo '{labels}'
      printf '%s\\n' "$labels"
      echo "asked $cids"
      set -f; IFS='
'
      for line in $labels; do
        IFS=' '; set -- $line
        if [ -n "$3" ]; then keys="$keys $3"; fi
      done
      unset IFS
    fi
  fi
  need=''
  for k in $keys; do
    case " $need $known_keys " in *" $k "*) ;; *) need="$need $k" ;; esac
  done
  if [ -n "$need" ] && command -v getent >/dev/null 2>&1; then
    echo '{accounts}'
    getent passwd -- $need 2>/dev/null
  fi
fi
"""

_PROBE_END = f"""\
echo "{nvidia_smi.EXIT_PREFIX}$rc"
echo '{nvidia_smi.END}'
"""


def probe_script(owner_label: str | None = DEFAULT_OWNER_LABEL) -> str:
    """The remote command of a sweep (POSIX sh). ``ps -p`` is skipped when there are no pids,
    and the exit status of the first failing nvidia-smi call is reported.

    ``owner_label``: the container label that names a process's owner (letters, digits and
    ``._/-`` only, else ``ConfigError``); None leaves the container part out (the probe as it
    was before containers, which ``bench/poll_sweep.py`` compares against).
    """
    if owner_label is None:
        return _PROBE_START + _PROBE_END
    if not valid_label_name(owner_label):
        raise ConfigError(
            _(
                "container owner label {label} is not a valid label name "
                "(letters, digits and . _ / - only)"
            ).format(label=repr(owner_label))
        )
    template = f'{{{{.Id}}}} {{{{.Name}}}} {{{{index .Config.Labels "{owner_label}"}}}}'
    part = _CONTAINER_PART.format(
        containers=nvidia_smi.CONTAINERS,
        labels=nvidia_smi.LABELS,
        accounts=nvidia_smi.ACCOUNTS,
        fmt=shlex.quote(template),
        id64="?" * 64,
    )
    return _PROBE_START + part + _PROBE_END


#: The sweep's command with the default owner label.
PROBE_SCRIPT = probe_script()
#: How long what ``inspect`` and ``getent`` said of a host is reused. A container's labels never
#: change; a new container is asked at once; an account renamed is seen within this time.
KEEP_S = 600.0
#: How long a container inspect did not answer for (a timeout, no daemon) is not asked again.
ASK_AGAIN_S = 60.0


@dataclass
class _Known:
    """One host's answers of earlier probes: inspect lines by container id, getent lines by
    account name and uid, each with when it was read."""

    labels: dict[str, tuple[str, float]] = field(default_factory=dict)
    accounts: dict[str, tuple[str, float]] = field(default_factory=dict)

    def fresh(self, now: float) -> None:
        for table in (self.labels, self.accounts):
            for key, (line, at) in list(table.items()):
                # A container inspect did not answer for is asked again sooner (a timeout).
                if now - at > (KEEP_S if line else ASK_AGAIN_S):
                    del table[key]

    def preamble(self) -> str:
        ids = " ".join(sorted(self.labels))
        keys = " ".join(sorted(self.accounts))
        return f"known_ids={shlex.quote(ids)}; known_keys={shlex.quote(keys)}\n"

    def lines(self) -> dict[str, tuple[str, ...]]:
        return {
            nvidia_smi.LABELS: tuple(
                dict.fromkeys(line for line, _at in self.labels.values() if line)
            ),
            nvidia_smi.ACCOUNTS: tuple(dict.fromkeys(line for line, _at in self.accounts.values())),
        }

    def learn(self, text: str, host: str, now: float) -> None:
        try:
            sections = nvidia_smi.split_sections(host, text)
        except LabgpuError:
            return
        for line in sections.optional.get(nvidia_smi.LABELS, ()):
            if line.startswith("asked "):  # asked, and not answered: not asked again soon
                for cid in line.split()[1:]:
                    self.labels.setdefault(cid, ("", now))
                continue
            found = containers.parse_inspect_line(line)
            if found is not None:
                self.labels[found[0]] = (line, now)
        for line in sections.optional.get(nvidia_smi.ACCOUNTS, ()):
            account = containers.parse_account_line(line)
            if account is not None:
                self.accounts[account[0]] = (line, now)
                self.accounts[str(account[1])] = (line, now)


#: Per SSH pool (a collector, a test), per host: what earlier probes learnt.
_KNOWN: weakref.WeakKeyDictionary[SshPool, dict[str, _Known]] = weakref.WeakKeyDictionary()
_KNOWN_LOCK = threading.Lock()


def _known_for(pool: SshPool, target: SshTarget, owner_label: str) -> _Known:
    """What earlier probes learnt of the machine ``target`` reaches: keyed by where the
    connection really goes (host, port, login, jump host), so two servers behind different
    jump hosts with the same address never share an answer."""
    end = pool.resolve(target)
    key = f"{end.hostname}|{end.port}|{end.user}|{end.jump}|{owner_label}"
    with _KNOWN_LOCK:
        return _KNOWN.setdefault(pool, {}).setdefault(key, _Known())


def script_for(pool: SshPool, target: SshTarget, owner_label: str = DEFAULT_OWNER_LABEL) -> str:
    """The command the next probe of ``target`` through ``pool`` sends: the sweep's script
    after what earlier probes already know (``bench/poll_sweep.py`` measures it)."""
    script = PROBE_SCRIPT if owner_label == DEFAULT_OWNER_LABEL else probe_script(owner_label)
    known = _known_for(pool, target, owner_label)
    with _KNOWN_LOCK:
        known.fresh(time.monotonic())
        return known.preamble() + script


def probe(
    pool: SshPool,
    target: SshTarget,
    timeout: float = 30.0,
    owner_label: str = DEFAULT_OWNER_LABEL,
) -> ProbeResult:
    """Probe one host: GPUs, their compute processes, their containers and their owners.

    Raises the pool's ``RemoteError`` subclasses for connection trouble, ``ProbeError`` when
    nvidia-smi is missing or fails (the message names the host and quotes its first line), and
    ``ProbeParseError`` for output that cannot be read. Never returns a partial result.
    """
    taken_at = datetime.now(UTC)
    script = PROBE_SCRIPT if owner_label == DEFAULT_OWNER_LABEL else probe_script(owner_label)
    # Errors name the host as connection errors do: host:port unless the port is 22.
    label = pool.resolve(target).label
    known = _known_for(pool, target, owner_label)
    with _KNOWN_LOCK:
        known.fresh(time.monotonic())
        script = known.preamble() + script
        earlier = known.lines()
    result = pool.run_script(target, script, timeout=timeout)
    if result.exit_status != 0:
        first = next((ln for ln in result.stderr.splitlines() if ln.strip()), _("no message"))
        raise ProbeError(
            label,
            _(
                "probe script failed (exit {code}): {error} — is /bin/sh available to that account?"
            ).format(code=result.exit_status, error=first.strip()),
        )
    parsed = nvidia_smi.parse_probe_output(
        label, result.stdout, taken_at, result.stderr, known=earlier
    )
    with _KNOWN_LOCK:
        known.learn(result.stdout, label, time.monotonic())
    return dataclasses.replace(parsed, host=target.host)
