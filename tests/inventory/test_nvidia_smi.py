"""The probe-output parser on recorded samples, hand-made garbage and arbitrary text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labgpu.core.errors import ProbeError, ProbeParseError
from labgpu.core.inventory.nvidia_smi import (
    parse_app_line,
    parse_gpu_line,
    parse_probe_output,
    parse_ps_line,
    split_sections,
)

DATA = Path(__file__).parents[1] / "data" / "nvidia_smi"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def sample(name: str) -> str:
    return (DATA / name).read_text()


def wrap(gpus: str = "", apps: str = "", ps: str = "", status: int = 0) -> str:
    """Build probe output around section bodies."""
    parts = ["@@labgpu-probe 1", "@@gpus", gpus, "@@apps", apps, "@@ps", ps]
    parts += [f"@@nvidia-smi-exit {status}", "@@end", ""]
    return "\n".join(parts)


GPU_ROW = "0, GPU-aaaa, NVIDIA RTX A4000, 16376, 100, 5, 40, 20.5"


def test_busy_a4000_host_joins_processes_with_owners() -> None:
    result = parse_probe_output("gpu-01", sample("a4000_busy.txt"), NOW)
    assert result.host == "gpu-01"
    assert result.taken_at == NOW
    assert [g.index for g in result.gpus] == [0, 1, 2, 3]
    first = result.gpus[0]
    assert first.name == "NVIDIA RTX A4000"
    assert first.uuid == "GPU-5a1c9d3e-7f42-4b8e-9c1d-2e3f4a5b6c7d"
    assert (first.memory_total_mb, first.memory_used_mb) == (16376, 9123)
    assert (first.utilization_pct, first.temperature_c, first.power_w) == (87.0, 71.0, 118.52)
    alice, bob, gone = result.processes
    assert (alice.pid, alice.user, alice.elapsed_s) == (48213, "alice", 93784)
    assert alice.command == "python train.py --config configs/vit b16.yaml --lr 3e-4"
    assert alice.gpu_uuid == first.uuid
    assert alice.used_memory_mb == 9000
    assert bob.process_name == "/opt/conda/envs/torch/bin/python3.11"
    assert bob.command == "/opt/conda/envs/torch/bin/python3.11 -m jupyter lab"


def test_process_that_exited_between_queries_has_no_owner() -> None:
    gone = parse_probe_output("gpu-01", sample("a4000_busy.txt"), NOW).processes[2]
    assert gone.pid == 51990
    assert gone.used_memory_mb == 120
    assert gone.process_name == "python"
    assert (gone.user, gone.elapsed_s, gone.command) == (None, None, None)


def test_values_with_units_are_read() -> None:
    result = parse_probe_output("gpu-02", sample("a40_units.txt"), NOW)
    busy = result.gpus[0]
    assert (busy.memory_total_mb, busy.memory_used_mb, busy.utilization_pct) == (46068, 40321, 100)
    assert busy.power_w == 297.41
    (proc,) = result.processes
    assert proc.used_memory_mb == 40310
    assert proc.user == "carol"
    assert proc.command == "python -c import torch; print(torch.cuda.device_count())"


def test_mig_gpu_reports_none_for_not_available_fields() -> None:
    result = parse_probe_output("dgx", sample("mig.txt"), NOW)
    assert [g.utilization_pct for g in result.gpus] == [None, None]
    assert result.gpus[1].power_w is None
    assert result.gpus[0].memory_used_mb == 11264
    assert [p.used_memory_mb for p in result.processes] == [None, None]
    assert {p.user for p in result.processes} == {"dave"}


def test_idle_host_has_no_processes() -> None:
    result = parse_probe_output("gpu-03", sample("idle.txt"), NOW)
    assert len(result.gpus) == 1
    assert result.processes == ()


def test_no_running_processes_line_is_an_empty_list() -> None:
    text = wrap(GPU_ROW, "No running processes found")
    assert parse_probe_output("h", text, NOW).processes == ()


def test_crlf_line_endings_are_accepted() -> None:
    text = wrap(GPU_ROW).replace("\n", "\r\n")
    assert parse_probe_output("h", text, NOW).gpus[0].memory_total_mb == 16376


def test_failed_nvidia_smi_is_a_probe_error_quoting_its_message() -> None:
    with pytest.raises(ProbeError) as info:
        parse_probe_output("gpu-04", sample("driver_failed.txt"), NOW)
    assert not isinstance(info.value, ProbeParseError)
    assert info.value.host == "gpu-04"
    assert "exit 9" in str(info.value)
    assert "couldn't communicate with the NVIDIA driver" in str(info.value)


def test_failed_nvidia_smi_prefers_stderr() -> None:
    text = wrap("", status=127)
    with pytest.raises(ProbeError, match="nvidia-smi: not found") as info:
        parse_probe_output("gpu-05", text, NOW, stderr="sh: 4: nvidia-smi: not found\n")
    assert "gpu-05" in str(info.value)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0, GPU-a, NVIDIA A40, 46068, 0, 0, 30", "expected 8 GPU fields, got 7"),
        ("0, GPU-a, NVIDIA A40, 46068, 0, 0, 30, 20, 1", "expected 8 GPU fields, got 9"),
        ("x, GPU-a, NVIDIA A40, 46068, 0, 0, 30, 20", "GPU index is not a whole number"),
        ("0, GPU-a, NVIDIA A40, lots, 0, 0, 30, 20", "memory.total is not a number"),
        ("0, GPU-a, NVIDIA A40, 46068.5, 0, 0, 30, 20", "memory.total is not a whole number"),
        ("0, GPU-a, NVIDIA A40, 46068, 0, -3, 30, 20", "utilization.gpu is not a number"),
        ("0, GPU-a, NVIDIA A40, 46068, 0, 0, 30, nan", "power.draw is not a number"),
        ("0, , NVIDIA A40, 46068, 0, 0, 30, 20", "GPU uuid is missing"),
        ("0, GPU-a, [N/A], 46068, 0, 0, 30, 20", "GPU name is missing"),
        ("garbage", "expected 8 GPU fields, got 1"),
    ],
)
def test_bad_gpu_lines_name_the_line(line: str, reason: str) -> None:
    with pytest.raises(ProbeParseError) as info:
        parse_probe_output("h", wrap(line), NOW)
    assert info.value.line == line
    assert reason in info.value.reason
    assert repr(line) in str(info.value)


@pytest.mark.parametrize(
    ("apps", "ps", "bad"),
    [
        ("GPU-a, 12, 100", "", "GPU-a, 12, 100"),
        ("GPU-a, twelve, 100, python", "", "GPU-a, twelve, 100, python"),
        ("GPU-a, 12, 1 GiB, python", "", "GPU-a, 12, 1 GiB, python"),
        ("GPU-a, 12, 100, python", "12 alice", "12 alice"),
        ("GPU-a, 12, 100, python", "12 alice soon python", "12 alice soon python"),
        ("GPU-a, 12, 100, python", "pid alice 5 python", "pid alice 5 python"),
    ],
)
def test_bad_process_lines_name_the_line(apps: str, ps: str, bad: str) -> None:
    with pytest.raises(ProbeParseError) as info:
        parse_probe_output("h", wrap(GPU_ROW, apps, ps), NOW)
    assert info.value.line == bad


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bash: line 1: syntax error\n",
        "@@labgpu-probe 1\n@@gpus\n" + GPU_ROW + "\n",  # truncated
        wrap(GPU_ROW).replace("@@apps\n", ""),
        wrap(GPU_ROW).replace("@@end\n", ""),
        wrap(GPU_ROW).replace("@@nvidia-smi-exit 0", "@@nvidia-smi-exit zero"),
        wrap(GPU_ROW).replace("@@labgpu-probe 1", "@@labgpu-probe 2"),
        wrap(GPU_ROW) + "trailing junk\n",
    ],
)
def test_broken_structure_is_a_parse_error(text: str) -> None:
    with pytest.raises(ProbeParseError):
        parse_probe_output("h", text, NOW)


def test_line_parsers_directly() -> None:
    gpu = parse_gpu_line("h", "3, GPU-b, NVIDIA A40, 46068 MiB, [N/A], N/A, 50, [Unknown Error]")
    assert (gpu.index, gpu.memory_used_mb) == (3, None)
    assert (gpu.utilization_pct, gpu.power_w) == (None, None)
    app = parse_app_line("h", "GPU-b, 77, 300 MiB, my, odd, name")
    assert (app.pid, app.used_memory_mb, app.process_name) == (77, 300, "my, odd, name")
    ps = parse_ps_line("h", "   77 root      5")
    assert (ps.pid, ps.user, ps.elapsed_s, ps.command) == (77, "root", 5, "")


def test_split_sections_keeps_raw_lines() -> None:
    sections = split_sections("h", sample("a4000_busy.txt"))
    assert len(sections.gpu_lines) == 4
    assert len(sections.app_lines) == 3
    assert len(sections.ps_lines) == 2
    assert sections.nvidia_smi_exit == 0


def _check_only_probe_errors(text: str) -> None:
    try:
        parse_probe_output("h", text, NOW)
    except ProbeParseError:
        pass
    except ProbeError:  # well-formed output reporting a failed nvidia-smi
        assert "@@nvidia-smi-exit" in text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_probe_parse_error(text: str) -> None:
    _check_only_probe_errors(text)


_LINE = st.one_of(
    st.text(alphabet="0123456789, .[]/NA%MiBW-GPUabcx\t", max_size=60),
    st.sampled_from([GPU_ROW, "GPU-aaaa, 1, 2, p", " 1 u 2 cmd", "@@gpus", "@@apps", "@@ps"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=4), st.lists(_LINE, max_size=4), st.lists(_LINE, max_size=4))
def test_near_valid_sections_raise_only_probe_parse_error(
    gpus: list[str], apps: list[str], ps: list[str]
) -> None:
    _check_only_probe_errors(wrap("\n".join(gpus), "\n".join(apps), "\n".join(ps)))
