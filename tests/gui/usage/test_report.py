"""The monthly PDF report: written whole (4 A4 pages for a small lab, more when tables are
long), with the month and the members in its text; a failed write leaves nothing behind. Its
first page, the case for a committee, is in ``test_report_case.py``."""

from __future__ import annotations

import errno
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from labgpu.cli.main import main
from labgpu.core.errors import LabgpuError
from labgpu.core.usage.figures import MemberUsage, SlotRequest
from labgpu.gui.usage import report, report_pages
from labgpu.services import Labgpu
from tests.helpers.usage_data import BASE, seed_usage

A4 = (595, 842)  # points, rounded
#: pytest-qt's QApplication first: a report made in-process would otherwise start a
#: QGuiApplication, and every later GUI test in the run would fail to get its QApplication.
pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Labgpu]:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    lab = Labgpu(url)
    lab.open()
    yield lab
    lab.close()


def words(path: Path) -> str:
    """The PDF's text, white space as single spaces (Qt maps a space glyph to U+0001)."""
    reader = PdfReader(path)
    return re.sub(r"[\s\x01]+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_report_has_four_a4_pages_with_month_and_members(lab: Labgpu, tmp_path: Path) -> None:
    path = tmp_path / "out" / "march.pdf"
    path.parent.mkdir()
    pages = report.write_monthly_report(lab, "2026-03", path, UTC)
    reader = PdfReader(path)
    assert pages == len(reader.pages) == 4
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4
    text = words(path)
    assert "GPU usage report 2026-03" in text
    for name in ("amy", "bo", "gpu-01/0", "gpu-02/0"):
        assert name in text
    assert "44 %" in text  # the mean utilisation of the seeded samples
    assert [p.name for p in path.parent.iterdir()] == ["march.pdf"]


def test_long_tables_go_on_to_more_pages(
    lab: Labgpu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd = [MemberUsage(f"member{n:03d}", booked_h=n, process_h=n / 2) for n in range(70)]
    asked = BASE + timedelta(hours=1)
    unmet = [SlotRequest(f"member{n:03d}", "A40", 1, 4.0, asked, asked, None) for n in range(40)]
    monkeypatch.setattr(lab.usage, "members", lambda start, end: crowd)
    monkeypatch.setattr(lab.usage, "unmet", lambda start, end: unmet)
    path = tmp_path / "long.pdf"
    pages = report.write_monthly_report(lab, "2026-03", path, UTC)
    assert pages == len(PdfReader(path).pages) >= 5
    text = words(path)
    assert "member000" in text
    assert "member069" in text
    assert "(continued)" in text


def test_a_failed_write_leaves_nothing_behind(
    lab: Labgpu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old.pdf").write_bytes(b"%PDF- the old report")

    def broken(doc: report_pages.Document) -> None:
        raise RuntimeError("drawing failed half way")

    monkeypatch.setattr(report, "PAGES", (report_pages.page_summary, broken))
    with pytest.raises(RuntimeError):
        report.write_monthly_report(lab, "2026-03", folder / "old.pdf", UTC)
    assert [p.name for p in folder.iterdir()] == ["old.pdf"]
    assert (folder / "old.pdf").read_bytes() == b"%PDF- the old report"


def test_a_missing_folder_is_a_clear_error(lab: Labgpu, tmp_path: Path) -> None:
    with pytest.raises(LabgpuError, match="does not exist; create it"):
        report.write_monthly_report(lab, "2026-03", tmp_path / "nowhere" / "r.pdf", UTC)


def test_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    path = tmp_path / "r.pdf"
    code = main(["--db", url, "usage", "--report", str(path), "--month", "2026-03"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == f"wrote the 2026-03 usage report (4 pages) to {path}"
    assert len(PdfReader(path).pages) == 4
    code = main(["--db", url, "usage", "--report", str(tmp_path / "no" / "r.pdf")])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "the folder" in err
    assert "does not exist" in err


def test_the_report_text_copies_word_by_word(lab: Labgpu, tmp_path: Path) -> None:
    """Issue 13: pdftotext gave "GPUusagereport2026-03" (the Korean font's space is U+0001)."""
    path = tmp_path / "r.pdf"
    report.write_monthly_report(lab, "2026-03", path, UTC)
    first = PdfReader(path).pages[0].extract_text()
    assert "\x01" not in first
    assert "GPU usage report 2026-03" in " ".join(first.split())  # pypdf: tabs between words
    shown = subprocess.run(
        ["pdftotext", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "GPU usage report 2026-03" in shown
    assert "Per GPU model" in shown  # page 1: the case


def test_the_report_in_korean_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    for lang in ("en", "ko"):  # a process of its own: the language is set when Qt starts
        path = tmp_path / f"{lang}.pdf"
        subprocess.run(
            [sys.executable, "-m", "labgpu", "--db", url, "usage", "--report", str(path),
             "--month", "2026-03", "--lang", lang],
            check=True, capture_output=True,
        )  # fmt: skip
    english = PdfReader(tmp_path / "en.pdf").pages[0].extract_text()
    korean = PdfReader(tmp_path / "ko.pdf").pages[0].extract_text()
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in english)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean)  # Hangul
    assert "\x01" not in korean  # words stay apart in Korean too (pypdf: spaces or tabs)
    assert re.search(r"GPU\s+사용\s+보고서", korean)


def test_a_folder_that_takes_no_file_is_one_clear_line(tmp_path: Path) -> None:
    """/proc takes no new file: one line naming the target, no Qt noise, no temporary name."""
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    proc = subprocess.run(
        [sys.executable, "-m", "labgpu", "--db", url, "usage", "--report", "/proc/labgpu.pdf",
         "--month", "2026-03"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("labgpu: cannot write the report to /proc/labgpu.pdf: ")
    assert ".part" not in proc.stderr


def test_a_read_only_file_system_is_not_a_traceback(
    lab: Labgpu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a read-only file system even removing the half-written file fails (EROFS)."""

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "touch", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(LabgpuError) as info:
        report.write_monthly_report(lab, "2026-03", tmp_path / "r.pdf", UTC)
    assert (
        str(info.value) == f"cannot write the report to {tmp_path / 'r.pdf'}: Read-only file system"
    )


def test_refusals_and_unmet_demand_are_apart_with_what_each_figure_means(
    lab: Labgpu, tmp_path: Path
) -> None:
    path = tmp_path / "march.pdf"
    report.write_monthly_report(lab, "2026-03", path, UTC, "en")
    text = words(path)
    assert "Unmet: no free GPUs when wanted (requests, GPU-h) 1 (16.0)" in text  # 2 x 8 h
    assert "Refused by a lab rule 1" in text  # bo's 96 h, not unmet demand
    assert "Requests refused by a lab rule (not missing GPUs)" in text
    assert "longest booking" in text
    assert "Held by members' processes (GPU-h) 4.0" in text
    assert "it exceeds Booked when members run without a booking" in text
    assert "Usage history starts 2026-03-02" in text


def test_the_month_in_progress_is_counted_up_to_now_and_a_future_month_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime

    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    now = datetime.now(UTC).astimezone(UTC)
    this_month = f"{now:%Y-%m}"
    path = tmp_path / "now.pdf"
    assert main(["--db", url, "usage", "--report", str(path), "--month", this_month]) == 0
    text = words(path)
    assert "Month in progress" in text
    assert "not the whole month" in text
    capsys.readouterr()
    later = f"{now.year + 1:04d}-{now.month:02d}"
    code = main(["--db", url, "usage", "--report", str(tmp_path / "x.pdf"), "--month", later])
    out, err = capsys.readouterr()
    assert code == 2
    assert f"{later} has not begun" in err
    assert out == ""
    assert not (tmp_path / "x.pdf").exists()
