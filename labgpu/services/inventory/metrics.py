"""The collector's metrics endpoint: OpenMetrics / Prometheus text over HTTP
(``labgpu collect --metrics-port PORT``), for a lab that already runs Prometheus and Grafana
(``resources/grafana/labgpu.json`` is a dashboard for it).

Each scrape reads the lab's latest samples and who holds each GPU from the database, on the
HTTP server's own thread; the sweeps are not held up. A database that does not answer gives
``labgpu_scrape_ok 0`` and no GPU samples, never stale values passed off as fresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from labgpu.core.errors import LabgpuError
from labgpu.core.inventory.metrics import MetricFamily, gpu_families

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from labgpu.services.app import Labgpu

log = logging.getLogger(__name__)
PREFIX = "labgpu_"


class LabMetrics(Collector):
    """A prometheus_client collector reading the lab at each scrape."""

    def __init__(self, lab: Labgpu, clock: Callable[[], datetime] | None = None) -> None:
        self.lab = lab
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # one scrape at a time reads the lab

    def families(self) -> list[MetricFamily]:
        """The families of one scrape (raises a ``LabgpuError`` when the lab cannot be read)."""
        with self._lock:
            gpus = self.lab.inventory.status()
            holders = {uuid: b.user for uuid, b in self.lab.bookings.holders_now().items()}
        return gpu_families(gpus, holders, self.clock())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ok = GaugeMetricFamily(PREFIX + "scrape_ok", "1 if the lab database answered this scrape")
        try:
            families = self.families()
        except LabgpuError as exc:
            log.warning("metrics: could not read the lab: %s", exc)
            ok.add_metric([], 0.0)
            yield ok
            return
        for family in families:
            gauge = GaugeMetricFamily(PREFIX + family.name, family.help, labels=family.labels)
            for labels, value in family.samples:
                gauge.add_metric(list(labels), value)
            yield gauge
        ok.add_metric([], 1.0)
        yield ok


class MetricsServer:
    """The running endpoint: its ``port``; ``stop()`` ends it and closes its socket."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread
        self.port = int(server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(lab: Labgpu, port: int, address: str = "127.0.0.1") -> MetricsServer:
    """Serve the lab's metrics on ``address:port`` from a daemon thread (port 0 picks a free
    one)."""
    _parts = (lab.inventory, lab.bookings)  # made here, not by two threads at once
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LabMetrics(lab))
    server, thread = start_http_server(port, address, registry=registry)
    return MetricsServer(server, thread)
