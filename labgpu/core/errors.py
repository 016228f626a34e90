"""Known errors: trouble expected in a lab's environment, shown to a person as one line.

Anything that is not a ``LabgpuError`` is a bug and goes to the log with its traceback.
Every message names what happened, to what, and what to do next.
"""

from __future__ import annotations

from labgpu.core.i18n import _


class LabgpuError(Exception):
    """An expected failure with a message fit to show a person."""

    #: CLI exit status for this kind of failure (README *Using it*: 1 failed, 3 refused).
    exit_code = 1


class RefusedError(LabgpuError):
    """Refused by a rule: a conflict, a quota, a permission."""

    exit_code = 3


class UsageError(LabgpuError):
    """Malformed or contradictory input (a bad value, an end before the start); exit 2."""

    exit_code = 2


class ConfigError(LabgpuError):
    """The configuration (config file, database URL, environment) cannot be used."""


class DatabaseError(LabgpuError):
    """The database cannot be reached or refused an operation for an environmental reason."""


class PasswordNeededError(DatabaseError):
    """The lab database asks for a password and none was given (URL, keyring, PGPASSWORD,
    ~/.pgpass): a terminal may ask for one."""


class PasswordRefusedError(DatabaseError):
    """The lab database refused the password (wrong, or a one-time password that expired)."""


class SchemaTooNewError(LabgpuError):
    """The database was upgraded by a newer labgpu than this one."""


class RemoteError(LabgpuError):
    """Something went wrong talking to a remote host over SSH."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"{host}: {message}")
        self.host = host


class UnreachableError(RemoteError):
    """The host could not be reached (refused, no route, DNS, connect timeout)."""


class RemoteTimeoutError(RemoteError):
    """The host accepted the connection but did not answer in time."""


class AuthFailedError(RemoteError):
    """The host refused every credential we offered."""


class HostKeyError(RemoteError):
    """Base for host-key verification failures."""

    def __init__(self, host: str, fingerprint: str, message: str) -> None:
        super().__init__(host, message)
        self.fingerprint = fingerprint


class HostKeyUnknownError(HostKeyError):
    """The host's key is not in any known_hosts file: a person must confirm the fingerprint."""

    def __init__(self, host: str, fingerprint: str, key_type: str = "") -> None:
        super().__init__(
            host,
            fingerprint,
            _(
                "unknown host key {fingerprint}; check it with the server's administrator, then "
                "confirm it in the app or pass --trust-host-key {fingerprint}"
            ).format(fingerprint=fingerprint),
        )
        self.key_type = key_type


class HostKeyChangedError(HostKeyError):
    """The host presented a key different from the one we know. Always refused."""

    def __init__(
        self, host: str, fingerprint: str, known_fingerprint: str, server: str | None = None
    ) -> None:
        name = server or "NAME"
        super().__init__(
            host,
            fingerprint,
            _(
                "host key changed (now {fingerprint}, known {known}); refusing to connect. "
                "If the server was reinstalled, remove the old key on the Servers page "
                "(Forget host key…) or with `labgpu servers forget-key {name}` (and "
                "`ssh-keygen -R HOST` if it is in ~/.ssh/known_hosts)"
            ).format(fingerprint=fingerprint, known=known_fingerprint, name=name),
        )
        self.known_fingerprint = known_fingerprint
        self.server = server

    def for_server(self, server: str) -> HostKeyChangedError:
        """The same refusal, its message naming the registered server's real command."""
        return HostKeyChangedError(self.host, self.fingerprint, self.known_fingerprint, server)


class ProbeError(RemoteError):
    """The probe ran but its output could not be understood (or nvidia-smi failed)."""


class ProbeParseError(ProbeError):
    """One line of probe output is malformed. Nothing of that sweep is stored."""

    def __init__(self, host: str, line: str, reason: str) -> None:
        super().__init__(
            host,
            _("cannot read nvidia-smi output ({reason}): {line}").format(
                reason=reason, line=repr(line)
            ),
        )
        self.line = line
        self.reason = reason
