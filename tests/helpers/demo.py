"""The demo lab for tests: built once per session, copied into each test's data directory."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from labgpu.demo import lab as demo
from labgpu.demo.model import DemoLab
from labgpu.services.platform import paths

#: One "now" for the whole session, so the template is reused (never rebuilt) by every test.
BUILT_AT = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoLab]:
    """A demo database built once: (its folder, its lab)."""
    folder = tmp_path_factory.mktemp("demo-template")
    build = demo.ensure_demo(folder, now=BUILT_AT)
    assert build.built
    return folder, build.lab


@pytest.fixture
def demo_folder(labgpu_dirs: Path, demo_template: tuple[Path, DemoLab]) -> Path:
    """This test's ``<data dir>/demo``, holding a copy of the session's demo database."""
    target = paths.data_dir() / "demo"
    target.mkdir(parents=True, exist_ok=True)
    for path in demo_template[0].iterdir():
        shutil.copy2(path, target / path.name)
    return target
