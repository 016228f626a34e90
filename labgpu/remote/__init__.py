"""Remote access: the SSH pool and the nvidia-smi probe (the only package importing paramiko)."""

from labgpu.remote.probe import PROBE_SCRIPT, probe
from labgpu.remote.ssh import CommandResult, Endpoint, SshPool

__all__ = ["PROBE_SCRIPT", "CommandResult", "Endpoint", "SshPool", "probe"]
