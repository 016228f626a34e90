"""What offloading costs on top of doing it by hand, against a real Slurm behind a real sshd.

Starts the test Slurm (slurmctld + slurmd + munge, two fake A100s) and its sshd login node on
this machine, then measures on one persistent SSH connection:
  submit_overhead_s    labgpu's submit (check the folder, record the job, write the script,
                       sbatch) minus a raw `sbatch --parsable` of a script already there
                       (target: <= 1 s)
  stage_ratio          plain SFTP put of a tree / labgpu's staging of the same tree into an
                       empty folder (200 MB in 1,000 files by default; target: >= 0.5)
  restage_unchanged_s  staging the same tree again when nothing changed (target: <= 1 s)
Medians of --rounds runs. Slurm's ports are fixed: do not run it while the tests run.

Usage: .venv/bin/python bench/offload.py [--rounds 5] [--mb 200] [--files 1000]
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shutil
import tempfile
import time
from pathlib import Path

from _common import emit, median

from labgpu.core.offload.jobs import JobRequest
from labgpu.remote.staging import makedirs, upload_tree
from tests.helpers.offload import offload_service
from tests.helpers.slurm import start_slurm, stop_slurm


def make_tree(root: Path, mb: int, files: int) -> None:
    size = mb * 1024 * 1024 // files
    for i in range(files):
        path = root / f"d{i % 20:02d}" / f"f{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def plain_put(sftp: object, local: Path, remote: str) -> None:
    """What a person's script would do: mkdir and put every file."""
    made: set[str] = set()
    for dirpath, _dirs, names in os.walk(local):
        rel = Path(dirpath).relative_to(local).as_posix()
        target_dir = posixpath.join(remote, rel) if rel != "." else remote
        makedirs(sftp, target_dir, made)  # type: ignore[arg-type]
        for name in names:
            sftp.put(str(Path(dirpath) / name), posixpath.join(target_dir, name))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="labgpu-bench-offload-"))
    os.environ.setdefault("LABGPU_CONFIG_DIR", str(base / "config"))
    slurm = start_slurm(base)
    try:
        with offload_service(slurm, base, f"sqlite:///{base / 'bench.db'}") as service:
            figures = run(service, base, args)
    finally:
        stop_slurm(slurm)
        shutil.rmtree(base, ignore_errors=True)
    emit(figures)


def run(service: object, base: Path, args: argparse.Namespace) -> dict[str, float]:
    from labgpu.services.offload.service import OffloadService

    assert isinstance(service, OffloadService)
    small = base / "small"
    small.mkdir()
    (small / "train.py").write_text("print('hi')\n")
    request = JobRequest("neuron", str(small), "true", 0, 0.1)
    target = service.cluster("neuron").target
    client = service.client(service.cluster("neuron"))
    first = service.submit(service.prepare(request))  # warm: login, base dir, remote folders
    raw_argv = ["sh", "-c", 'cd "$1" && exec sbatch --parsable labgpu-job.sh', "sh", first.job_dir]
    overheads, raws, ids = [], [], [first.remote_id]
    for _ in range(args.rounds):
        start = time.perf_counter()
        raw = service.pool.run(target, raw_argv)
        raws.append(time.perf_counter() - start)
        ids.append(raw.stdout.strip())
        start = time.perf_counter()
        job = service.submit(service.prepare(request))
        overheads.append(time.perf_counter() - start)
        ids.append(job.remote_id)
    for job_id in ids:
        if job_id:
            client.cancel(job_id)

    tree = base / "tree"
    make_tree(tree, args.mb, args.files)
    remote_base = posixpath.join(service._base(client), "bench")
    plains, stages, restages = [], [], []
    with service.pool.sftp(target, timeout=120) as sftp:
        for i in range(max(1, args.rounds // 2)):
            plain_dir, staged_dir = f"{remote_base}/plain{i}", f"{remote_base}/staged{i}"
            start = time.perf_counter()
            plain_put(sftp, tree, plain_dir)
            plains.append(time.perf_counter() - start)
            start = time.perf_counter()
            upload_tree(sftp, tree, staged_dir, ())
            stages.append(time.perf_counter() - start)
            for _ in range(2):
                start = time.perf_counter()
                report = upload_tree(sftp, tree, staged_dir, ())
                restages.append(time.perf_counter() - start)
                assert report.files_copied == 0
            service.pool.run(target, ["rm", "-rf", plain_dir, staged_dir])
    return {
        "raw_sbatch_s": round(median(raws), 4),
        "submit_overhead_s": round(median(overheads) - median(raws), 4),
        "plain_put_s": round(median(plains), 3),
        "stage_s": round(median(stages), 3),
        "stage_ratio": round(median(plains) / median(stages), 3),
        "restage_unchanged_s": round(median(restages), 4),
        "tree_mb": args.mb,
        "tree_files": args.files,
    }


if __name__ == "__main__":
    main()
