"""tools/install-app.sh puts `labgpu` on PATH and passes its arguments to the app (issue 13).

The virtual environment is a stand-in (its python ignores `pip install`, its labgpu prints its
arguments), so this checks the script's own steps, not pip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _stand_in_venv(venv: Path) -> None:
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("#!/bin/sh\nexit 0\n")  # `-m pip install .`: nothing
    (bin_dir / "labgpu").write_text('#!/bin/sh\necho "labgpu ran with: $*"\n')
    for name in ("python", "labgpu"):
        (bin_dir / name).chmod(0o755)


def _install(tmp_path: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABGPU_VENV=str(tmp_path / "venv"), HOME=str(tmp_path / "home"))
    env["PATH"] = path
    env["DISPLAY"] = ":99"  # as on a desktop: no virtual X screen needed
    return subprocess.run(
        ["bash", str(REPO / "tools/install-app.sh"), "--demo"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip


def test_the_app_lands_on_path_and_gets_the_arguments(tmp_path: Path) -> None:
    _stand_in_venv(tmp_path / "venv")
    local_bin = tmp_path / "home" / ".local" / "bin"
    proc = _install(tmp_path, f"{local_bin}:{os.environ['PATH']}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "labgpu ran with: --demo"
    link = local_bin / "labgpu"
    assert link.resolve() == (tmp_path / "venv" / "bin" / "labgpu").resolve()
    assert f"labgpu is installed: run `labgpu` (a link in {local_bin})" in proc.stderr


def test_a_bin_folder_off_path_is_named_with_the_fix(tmp_path: Path) -> None:
    _stand_in_venv(tmp_path / "venv")
    proc = _install(tmp_path, os.environ["PATH"])
    assert proc.returncode == 0, proc.stderr
    local_bin = tmp_path / "home" / ".local" / "bin"
    assert (local_bin / "labgpu").exists()
    assert f"{local_bin} is not on your PATH yet" in proc.stderr
    assert f'export PATH="{local_bin}:$PATH"' in proc.stderr
