"""Turn an ``SshTarget`` into where and how to connect, applying an OpenSSH client config."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

import paramiko

from labgpu.core.errors import ConfigError
from labgpu.core.i18n import _
from labgpu.core.inventory.servers import SshTarget


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A target after ``~/.ssh/config`` is applied."""

    label: str  # for messages: host, or host:port when the port is not 22
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    jump: SshTarget | None


def parse_jump(spec: str) -> SshTarget:
    """Turn a ProxyJump value ``[user@]host[:port][,more...]`` into the last hop's target.

    Earlier hops of a chain become that target's own ``jump_host``.
    """
    *before, last = [part.strip() for part in spec.split(",")]
    user, _, hostport = last.rpartition("@")
    host, port = hostport, None
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
        port = int(port_text)
    return SshTarget(host, port, user or None, None, ",".join(before) or None)


def expand_path(path: str, home: Path) -> Path:
    """Expand ``~`` against ``home`` (paramiko already expanded it to the real home)."""
    real_home = str(Path.home())
    if path == "~" or path.startswith("~/"):
        return home / path[2:]
    if home != Path.home() and path.startswith(real_home + "/"):
        return home / path[len(real_home) + 1 :]
    return Path(path).expanduser()


def resolve_target(config: paramiko.SSHConfig, target: SshTarget, home: Path) -> Endpoint:
    """Apply ``config`` (HostName, Port, User, IdentityFile, ProxyJump) to ``target``.

    Explicit target fields win; the user defaults to the local login name.
    """
    cfg = config.lookup(target.host)
    hostname = str(cfg.get("hostname", target.host))
    try:
        port = target.port or int(cfg.get("port", 22))
        jump_spec = target.jump_host or cfg.get("proxyjump")
        jump = parse_jump(jump_spec) if jump_spec and jump_spec != "none" else None
    except ValueError as exc:
        raise ConfigError(
            _("{host}: bad Port or ProxyJump in ssh config ({error})").format(
                host=target.host, error=exc
            )
        ) from exc
    user = target.user or cfg.get("user") or getpass.getuser()
    files = [target.identity_file] if target.identity_file else []
    files += list(cfg.get("identityfile", []))
    label = target.host if port == 22 else f"{target.host}:{port}"
    paths = tuple(expand_path(f, home) for f in files)
    return Endpoint(label, hostname, port, str(user), paths, jump)


def alias_for(target: SshTarget, config_path: Path) -> str | None:
    """The member's own ``Host`` name for ``target`` in their ssh config, if they have one:
    the target's host itself when a ``Host`` line names it, else a host whose ``HostName`` is
    the target's host (and whose port matches, when the target has one). Patterns (``*``,
    ``?``, ``!``) are not names. None without a config or a match."""
    if not config_path.is_file():
        return None
    try:
        config = paramiko.SSHConfig.from_path(str(config_path))
        names = sorted(n for n in config.get_hostnames() if not set(n) & set("*?!"))
        if target.host in names:
            return target.host
        for name in names:
            entry = config.lookup(name)
            port = int(entry.get("port", 22))
            if entry.get("hostname") == target.host and target.port in (None, port):
                return name
    except (OSError, ValueError) as exc:
        raise ConfigError(
            _("{path}: cannot read this ssh config ({error}); fix it or move it away").format(
                path=config_path, error=exc
            )
        ) from exc
    return None
