"""Job scripts for Slurm and PBS, written from a cluster's settings and a member's request.

The member's command goes into the script file (which they see and may edit), never onto a
command line. The script records the command's exit status in ``labgpu-exit-code`` so the
result is known even where the site keeps no accounting.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from labgpu.core.offload.jobs import Cluster, JobRequest, hms

STDOUT = "labgpu-stdout.txt"
STDERR = "labgpu-stderr.txt"
EXIT_FILE = "labgpu-exit-code"
SCRIPT = "labgpu-job.sh"


@dataclass(frozen=True, slots=True)
class ScriptPlan:
    """Where a job lives on the cluster."""

    name: str
    work_dir: str  # staged copy of the local folder; the command runs here
    job_dir: str  # script, stdout, stderr, exit code


def gpu_request(cluster: Cluster, count: int, gpu_type: str) -> str:
    """The cluster's GPU request with ``{count}`` / ``{type}`` filled in ('' for no GPUs)."""
    if count <= 0:
        return ""
    template = cluster.gpu_template
    if not gpu_type:
        template = template.replace("{type}:", "").replace(":{type}", "").replace("{type}", "")
    return template.replace("{count}", str(count)).replace("{type}", gpu_type)


def _body(cluster: Cluster, request: JobRequest, plan: ScriptPlan) -> list[str]:
    lines = [f"module load {shlex.quote(m)}" for m in cluster.modules]
    lines += [
        f"cd {shlex.quote(plan.work_dir)} || exit 1",
        "# --- your command (edit freely) ---",
        request.command.strip(),
        "# --- end of your command ---",
        "status=$?",
        f"echo $status > {shlex.quote(plan.job_dir + '/' + EXIT_FILE)}",
        "exit $status",
    ]
    return lines


def slurm_script(cluster: Cluster, request: JobRequest, plan: ScriptPlan) -> str:
    """An ``sbatch`` script."""
    out = f"{plan.job_dir}/{STDOUT}"
    err = f"{plan.job_dir}/{STDERR}"
    directives = [
        f"--job-name={plan.name}",
        f"--time={hms(request.hours)}",
        f"--output={out}",
        f"--error={err}",
        "--nodes=1",
    ]
    if cluster.partition:
        directives.append(f"--partition={cluster.partition}")
    gpus = gpu_request(cluster, request.gpus, request.gpu_type)
    if gpus:
        directives.append(gpus)
    directives += list(cluster.directives)
    head = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives)]
    return "\n".join([*head, "", *_body(cluster, request, plan)]) + "\n"


def pbs_script(cluster: Cluster, request: JobRequest, plan: ScriptPlan) -> str:
    """A ``qsub`` script (PBS Pro / OpenPBS)."""
    directives = [
        f"-N {plan.name}",
        f"-l walltime={hms(request.hours)}",
        f"-o {plan.job_dir}/{STDOUT}",
        f"-e {plan.job_dir}/{STDERR}",
    ]
    if cluster.partition:
        directives.append(f"-q {cluster.partition}")
    select = gpu_request(cluster, request.gpus, request.gpu_type)
    if select:
        directives.append(select if select.startswith("-") else f"-l {select}")
    directives += list(cluster.directives)
    head = ["#!/bin/bash", *(f"#PBS {d}" for d in directives)]
    return "\n".join([*head, "", *_body(cluster, request, plan)]) + "\n"


def job_script(cluster: Cluster, request: JobRequest, plan: ScriptPlan) -> str:
    """The script for the cluster's scheduler."""
    if cluster.scheduler == "pbs":
        return pbs_script(cluster, request, plan)
    return slurm_script(cluster, request, plan)


def script_job_name(script: str) -> str | None:
    """The job name a (possibly edited) script asks for, if any."""
    for line in script.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "#SBATCH" and words[1].startswith("--job-name="):
            return words[1].split("=", 1)[1]
        if len(words) >= 3 and words[0] == "#PBS" and words[1] == "-N":
            return words[2]
    return None
