"""The collector's metrics endpoint (issue 17, point 5): scraped over real HTTP and read back
with prometheus_client's own parser; served by ``labgpu collect --metrics-port`` as a real
process."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from labgpu.core.inventory.servers import ServerState
from labgpu.services import Labgpu
from labgpu.services.inventory.metrics import serve_metrics
from tests.inventory.test_cli_status import add, probe


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``/metrics`` parsed: family name → ``(labels, value)`` of each sample."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def by_gpu(samples: list[tuple[dict[str, str], float]]) -> dict[str, tuple[dict[str, str], float]]:
    return {f"{labels['server']}:{labels['gpu']}": (labels, value) for labels, value in samples}


def sample_lab() -> Labgpu:
    """gpu-01 online (alice runs on 0 without a booking; 1 booked by tester), gpu-03 offline."""
    now = datetime.now(UTC)
    lab = Labgpu()
    lab.open()
    add(lab, "gpu-01", probe("gpu-01", now, {0: "alice"}), ServerState.ONLINE, "")
    add(lab, "gpu-03", probe("gpu-03", now - timedelta(hours=2), {}), ServerState.OFFLINE, "down")
    ids = {g.index: g.id for g in lab.inventory.list_gpus() if g.server_name == "gpu-01"}
    lab.bookings.book([ids[1]], now, now + timedelta(hours=2), "held")
    return lab


def test_metrics_say_each_gpu_with_its_holder_and_users() -> None:
    lab = sample_lab()
    server = serve_metrics(lab, 0)
    try:
        found = scrape(server.port)
    finally:
        server.stop()
        lab.close()
    assert found["labgpu_scrape_ok"] == [({}, 1.0)]
    util = by_gpu(found["labgpu_gpu_utilization_percent"])
    labels, value = util["gpu-01:0"]
    assert value == 87.0
    assert labels["model"] == "NVIDIA RTX A4000"
    assert labels["uuid"] == "GPU-gpu-01-00"
    assert (labels["holder"], labels["users"]) == ("", "alice")
    assert util["gpu-01:1"][0]["holder"] == "tester"
    assert by_gpu(found["labgpu_gpu_memory_used_bytes"])["gpu-01:0"][1] == 9000 * 1024 * 1024
    assert by_gpu(found["labgpu_gpu_memory_total_bytes"])["gpu-03:0"][1] == 16376 * 1024 * 1024
    assert by_gpu(found["labgpu_gpu_temperature_celsius"])["gpu-01:2"][1] == 50.0
    assert by_gpu(found["labgpu_gpu_power_watts"])["gpu-01:2"][1] == 80.0
    booked = by_gpu(found["labgpu_gpu_booked"])
    assert (booked["gpu-01:1"][1], booked["gpu-01:0"][1]) == (1.0, 0.0)
    # the offline server's last values are not passed off as now: no utilisation sample
    assert "gpu-03:0" not in util
    assert by_gpu(found["labgpu_gpu_sample_age_seconds"])["gpu-03:0"][1] >= 7000
    up = {labels["server"]: (labels["state"], v) for labels, v in found["labgpu_server_up"]}
    assert up == {"gpu-01": ("online", 1.0), "gpu-03": ("offline", 0.0)}


def test_a_database_that_does_not_answer_says_so() -> None:
    lab = sample_lab()
    server = serve_metrics(lab, 0)
    try:
        path = lab.store.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as broken:  # the samples go away under the endpoint
            broken.execute("DROP TABLE gpu_samples")
        found = scrape(server.port)
    finally:
        server.stop()
        lab.close()
    assert found == {"labgpu_scrape_ok": [({}, 0.0)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_collect_serves_metrics_until_stopped() -> None:
    sample_lab().close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "labgpu", "-v", "collect", "--interval", "600", "--metrics-port",
         str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        found: dict[str, list[tuple[dict[str, str], float]]] = {}
        while time.monotonic() < deadline and not found:
            try:
                found = scrape(port)
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.2)
        assert found["labgpu_scrape_ok"] == [({}, 1.0)]
        assert "gpu-01:1" in by_gpu(found["labgpu_gpu_booked"])
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"serving metrics on http://127.0.0.1:{port}/metrics" in err


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_bad_port_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    from labgpu.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["collect", "--metrics-port", port])
    assert exit_.value.code == 2
    assert "give a port from 1 to 65535" in capsys.readouterr().err


def test_metrics_are_not_served_with_once(capsys: pytest.CaptureFixture[str]) -> None:
    from labgpu.cli.main import main

    assert main(["collect", "--once", "--metrics-port", "9999"]) == 2
    assert "not with --once" in capsys.readouterr().err


def test_the_grafana_dashboard_asks_only_for_metrics_labgpu_serves() -> None:
    """Structural: every ``labgpu_…`` name in the dashboard's queries is one the endpoint
    serves, so a renamed metric cannot leave an empty panel behind."""
    import json
    import re
    from pathlib import Path

    from labgpu.core.inventory.metrics import gpu_families

    path = Path(__file__).parents[2] / "resources" / "grafana" / "labgpu.json"
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    served = {"labgpu_" + f.name for f in gpu_families([], {}, datetime.now(UTC))}
    served.add("labgpu_scrape_ok")
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            asked |= set(re.findall(r"labgpu_[a-z_]+", target["expr"]))
    for variable in dashboard["templating"]["list"]:
        asked |= set(re.findall(r"labgpu_[a-z_]+", str(variable.get("query", ""))))
    assert len(asked) >= 6
    assert asked <= served, asked - served


def test_a_port_in_use_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    from labgpu.cli.main import main

    sample_lab().close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        assert main(["collect", "--metrics-port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve metrics on 127.0.0.1:{port}: Address already in use" in err
    assert "Traceback" not in err
