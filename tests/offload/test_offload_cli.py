"""``labgpu clusters`` and ``labgpu offload`` end to end against the real Slurm (issue 5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from labgpu.cli.main import main
from tests.helpers.slurm import SlurmCluster

pytestmark = pytest.mark.slow


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def db(slurm_cluster: SlurmCluster, tmp_path: Path) -> list[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    login = slurm_cluster.login
    key = str(login.target.identity_file)
    code = main([
        "--db", url, "clusters", "add", "neuron", "--host", "127.0.0.1", "--user", "labuser",
        "--scheduler", "slurm", "--port", str(login.port), "--identity", key,
        "--partition", "debug", "--directive", "--comment=pytorch",
        "--base-dir", slurm_cluster.work_base, "--max-hours", "48",
        "--trust-host-key", login.fingerprint,
    ])  # fmt: skip
    assert code == 0
    return ["--db", url]


def test_cli_submit_follow_fetch(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "train.py").write_text("print('trained')\n")
    capsys.readouterr()
    clusters = _json(capsys, [*db, "clusters", "list", "--json"])
    assert isinstance(clusters, list)
    assert clusters[0]["directives"] == ["--comment=pytorch"]
    argv = [*db, "offload", "submit", "--cluster", "neuron", "--dir", str(project),
            "--gpus", "1", "--hours", "0.5", "--gpu-type", "a100", "--json",
            "--", "python3", "train.py"]  # fmt: skip
    job = _json(capsys, argv)
    assert isinstance(job, dict)
    assert job["state"] == "queued"
    assert job["remote_id"]
    deadline = time.monotonic() + 60
    while True:
        status = _json(capsys, [*db, "offload", "status", str(job["id"]), "--json"])
        assert isinstance(status, dict)
        if status["state"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (status["state"], status["exit_code"], status["gpus"]) == ("completed", 0, 1)
    out = tmp_path / "results"
    assert main([*db, "offload", "fetch", str(job["id"]), "--to", str(out)]) == 0
    assert "3 file(s) copied" in capsys.readouterr().out
    assert (out / "labgpu-stdout.txt").read_text() == "trained\n"
    listed = _json(capsys, [*db, "offload", "list", "--json"])
    assert isinstance(listed, list)
    assert [j["id"] for j in listed] == [job["id"]]
    assert main([*db, "offload", "cancel", str(job["id"])]) == 1
    assert "already ended" in capsys.readouterr().err
    usage = _json(capsys, [*db, "offload", "usage", "--json"])
    assert isinstance(usage, list)
    assert [(u["user"], u["cluster"], u["jobs"]) for u in usage] == [("tester", "neuron", 1)]


def test_cli_refusals_and_usage_errors(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*db, "offload", "submit", "--cluster", "neuron", "--dir", str(tmp_path), "--gpus",
            "3", "--hours", "1", "--gpu-type", "a100", "--", "true"]  # fmt: skip
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "neuron refused the job" in err
    assert "nothing was queued" in err
    assert _json(capsys, [*db, "offload", "list", "--json", "--no-refresh"]) == []
    assert main([*db, "offload", "submit", "--cluster", "nope", "--dir", str(tmp_path), "--gpus",
                 "1", "--hours", "1", "--", "true"]) == 1  # fmt: skip
    assert "no cluster named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main([*db, "offload", "submit", "--dir", str(tmp_path)])
    assert usage.value.code == 2
    too_long = [*db, "offload", "submit", "--cluster", "neuron", "--dir", str(tmp_path),
                "--gpus", "1", "--hours", "72", "--", "true"]  # fmt: skip
    assert main(too_long) == 3  # the site's own limit: a rule (issue 13, point 10)
    assert "at most 48 hours" in capsys.readouterr().err
    assert main([*db, "offload", "status", "999"]) == 1
    assert "no offloaded job 999" in capsys.readouterr().err


def test_cli_commands_use_the_held_login(
    db: list[str], slurm_cluster: SlurmCluster, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Issue 15, point 6: after `clusters login`, submit and list run through the login the
    member's agent holds: the key is gone by then, so a fresh login could not succeed."""
    import shutil

    from labgpu.services.offload import agent

    key = tmp_path / "held_key"
    shutil.copy(str(slurm_cluster.login.target.identity_file), key)
    key.chmod(0o600)
    assert main([*db, "clusters", "add", "neuron", "--update", "--identity", str(key)]) == 0
    try:
        assert main([*db, "clusters", "login", "neuron", "--hours", "1"]) == 0
        key.unlink()
        project = tmp_path / "proj"
        project.mkdir()
        (project / "train.py").write_text("print('held')\n")
        argv = [*db, "offload", "submit", "--cluster", "neuron", "--dir", str(project),
                "--gpus", "1", "--hours", "0.5", "--json", "--", "python3", "train.py"]  # fmt: skip
        capsys.readouterr()
        job = _json(capsys, argv)
        assert isinstance(job, dict)
        assert job["remote_id"]
        listed = _json(capsys, [*db, "offload", "list", "--json"])
        assert isinstance(listed, list)
        assert [j["id"] for j in listed] == [job["id"]]
    finally:
        agent.logout(None)
