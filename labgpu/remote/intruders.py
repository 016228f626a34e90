"""Acting on a GPU used by someone other than its holder, on that server, as the lab's
monitoring account (issue 15, point 5). One short command each; every value quoted.

- A message goes to every terminal of the intruding user on that server (``ps -o tty=``): the
  monitoring account needs write access to them, which membership of the ``tty`` group gives
  (a terminal whose user ran ``mesg n`` stays quiet: their choice).
- A stop signals only processes that still belong to the intruding user when the signal is
  sent, and does so *as that user* (``sudo -n -u USER kill``; the sudoers line in the README
  allows exactly that and never root), so the holder's processes cannot be touched. A
  monitoring account that is root signals directly.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from labgpu.core.inventory.servers import SshTarget
from labgpu.remote.ssh import SshPool

CALL_TIMEOUT_S = 20.0
SIGNALS = ("TERM", "KILL")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a message or a stop did: terminals written / processes signalled, and refusals."""

    done: tuple[str, ...]
    refused: tuple[str, ...]


#: An account name labgpu acts on: no ``#uid`` form, no options, nothing a shell would read.
_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$", re.IGNORECASE)
#: Accounts below this uid are the system's: never messaged or signalled.
FIRST_MEMBER_UID = 1000


def check_name(user: str) -> str:
    """``user`` if it is a plain account name, else ``ValueError``."""
    if not _NAME.fullmatch(user):
        raise ValueError(f"not an account name: {user!r}")
    return user


def message_script(user: str, text: str) -> str:
    """Write ``text`` on each terminal of ``user``; prints ``sent TTY`` / ``denied TTY``."""
    check_name(user)
    clean = "".join(c if c.isprintable() else " " for c in text)
    return f"""\
user={shlex.quote(user)}
msg={shlex.quote(clean)}
for t in $(ps -o tty= -u "$user" 2>/dev/null | sort -u); do
  case "$t" in '?'|'') continue ;; esac
  if printf '\\r\\n%s\\r\\n' "$msg" 2>/dev/null > "/dev/$t"; then echo "sent $t"; else
    echo "denied $t"; fi
done
"""


def stop_script(user: str, pids: Sequence[int], signal: str) -> str:
    """Send ``signal`` to those of ``pids`` still owned by ``user``, as that user; prints
    ``signalled PID`` / ``refused PID`` / ``skipped PID`` (no longer that user's)."""
    if signal not in SIGNALS:
        raise ValueError(signal)
    check_name(user)
    listed = " ".join(str(int(p)) for p in pids)
    return f"""\
user={shlex.quote(user)}
uid=$(id -u "$user" 2>/dev/null)
if [ -z "$uid" ] || [ "$uid" -lt {FIRST_MEMBER_UID} ]; then
  for p in {listed}; do echo "refused $p"; done; exit 0
fi
for p in {listed}; do
  owner=$(ps -o user:32= -p "$p" 2>/dev/null | tr -d ' ')
  if [ "$owner" != "$user" ]; then echo "skipped $p"; continue; fi
  if [ "$(id -u)" = 0 ]; then kill -{signal} "$p" 2>/dev/null; else
    sudo -n -u "$user" kill -{signal} "$p" 2>/dev/null; fi
  if [ $? -eq 0 ]; then echo "signalled $p"; else echo "refused $p"; fi
done
"""


def _read(stdout: str, good: str, bad: Sequence[str]) -> Delivery:
    done, refused = [], []
    for line in stdout.splitlines():
        word, _sep, rest = line.strip().partition(" ")
        if word == good:
            done.append(rest)
        elif word in bad:
            refused.append(rest)
    return Delivery(tuple(done), tuple(refused))


def send_message(pool: SshPool, target: SshTarget, user: str, text: str) -> Delivery:
    """Write ``text`` on ``user``'s terminals on the server."""
    result = pool.run_script(target, message_script(user, text), CALL_TIMEOUT_S)
    return _read(result.stdout, "sent", ("denied",))


def send_signal(
    pool: SshPool, target: SshTarget, user: str, pids: Sequence[int], signal: str
) -> Delivery:
    """Signal ``user``'s processes among ``pids`` on the server, as ``user``."""
    result = pool.run_script(target, stop_script(user, pids, signal), CALL_TIMEOUT_S)
    return _read(result.stdout, "signalled", ("refused",))
