"""Notifications through the outbox (issue 17): 1,000 events, each to a member with an e-mail
address and a chat webhook, from the outbox to a local SMTP server (aiosmtpd) and a local HTTP
server, on a fresh PostgreSQL (started from the system binaries).

  events_per_s      events per second from the outbox to both receivers: expanded into 2,000
                    deliveries, claimed (FOR UPDATE SKIP LOCKED), sent, each marked sent in its
                    own transaction (target >= 50)
  raw_events_per_s  the same 1,000 mails and 1,000 webhooks sent straight from memory, no
                    database (the baseline, measured in the same run)
  notify_ratio      events_per_s / raw_events_per_s
Figures are medians of ``--runs`` alternating runs.

Then the collector's CPU with the sender idle: the real ``labgpu collect`` over ``--hosts`` real
sshd hosts (4x RTX A4000 stand-ins each) on the same PostgreSQL, 50 members with an address and
a webhook each and nothing due, run ``--cpu-runs`` times each way, alternating, for the same
seconds (so the same sweeps and minute jobs): without ``notify.toml`` (this machine does not
send) and with one (the sender runs at each minute job and finds nothing). Time is compressed
5x: ``--interval 1`` and the minute job every ``--housekeeping-s`` 12 s, the service's 5 s and
60 s. The CPU is the process's own (user + system, all threads, /proc/PID/stat) after a warm-up.
  collector_cpu_s_without      CPU seconds over the window, no notify.toml
  collector_cpu_s_idle_sender  the same with notify.toml, nothing to send
  collector_cpu_ratio          idle_sender / without (target <= 1.1)
  minute_job_notify_cpu_ms_without / _idle_sender
                               the notifications' part of one minute job, in this process
                               (CPU ms, 3 x 300 jobs): what the sender idle adds, without the
                               noise of the sweeps around it
Afterwards one test message is sent through the idle-sender collector (so its notify.toml
works) and nothing else may have reached the receivers.

Usage: .venv/bin/python bench/notify.py [--runs 3] [--events 1000] [--hosts 13]
       [--cpu-runs 3] [--cpu-seconds 36] [--housekeeping-s 12]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import emit, median
from aiosmtpd.controller import Controller

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Delivery, Event, NotifySettings
from labgpu.core.notify.messages import render
from labgpu.services import Labgpu
from labgpu.services.notify.channels import SmtpChannel, WebhookChannel
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import Sender
from labgpu.services.notify.watch import NotifyWatch
from labgpu.storage import Store
from tests.helpers.notify_receivers import Mailbox, free_port
from tests.helpers.postgres import PostgresServer, start_postgres, stop_postgres
from tests.helpers.sshd import Fleet, start_sshd_hosts, stop_sshd_hosts

MEMBERS = 50
#: Before the CPU is read: the process started, imported, swept and ran its first minute job.
WARMUP_S = 8.0


class Hooks(BaseHTTPRequestHandler):
    """Counts the webhooks it got."""

    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        with Hooks.lock:
            Hooks.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def through_outbox(store: Store, config: NotifyConfig, run: int, events: int) -> float:
    """Enqueue ``events`` and send them all; events per second."""
    batch = [
        Event(ev.TEST, ev.MEMBER, f"m{i % MEMBERS}", f"test:{run}:{i}", {"user": f"m{i % MEMBERS}"})
        for i in range(events)
    ]
    started = time.perf_counter()
    store.notify.enqueue(batch)
    sender = Sender(store.notify, config)
    while sender.run().sent:
        pass
    return events / (time.perf_counter() - started)


def raw(config: NotifyConfig, hook_url: str, events: int) -> float:
    """The same messages sent straight from memory; events per second."""
    smtp, hook = SmtpChannel(config), WebhookChannel(10)
    started = time.perf_counter()
    for i in range(events):
        user = f"m{i % MEMBERS}"
        message = render(ev.TEST, {"user": user}, "")
        smtp.send(Delivery(i, ev.EMAIL, f"{user}@lab.test", user, ev.TEST, {}, "", 0), message)
        hook.send(Delivery(i, ev.WEBHOOK, hook_url, user, ev.TEST, {}, "", 0), message)
    smtp.close()
    return events / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CollectorRuns:
    """The real ``labgpu collect`` over a fleet, from two service accounts alike but for
    ``notify.toml``; ``measure`` gives one run's CPU seconds and sweeps."""

    def __init__(self, url: str, fleet: Fleet, base: Path, smtp_port: int, every_s: float):
        self.url, self.fleet = url, fleet
        self.envs: dict[str, dict[str, str]] = {}
        for name in ("without", "idle_sender"):
            config = base / name / "config"
            config.mkdir(mode=0o700, parents=True)
            shutil.copy(fleet.known_hosts, config / "known_hosts")
            (base / name / "home").mkdir()
            self.envs[name] = dict(
                os.environ,
                LABGPU_CONFIG_DIR=str(config),
                LABGPU_DATA_DIR=str(base / name / "data"),
                LABGPU_LOG_DIR=str(base / name / "log"),
                LABGPU_SSH_CONFIG=str(fleet.ssh_config),
                LABGPU_HOUSEKEEPING_S=str(every_s),
                HOME=str(base / name / "home"),
            )
            self.envs[name].pop("SSH_AUTH_SOCK", None)
        toml = base / "idle_sender" / "config" / "notify.toml"
        toml.write_text(
            f'[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsecurity = "none"\n'
            'webhook_hosts = ["127.0.0.1"]\n',
            encoding="utf-8",
        )
        toml.chmod(0o600)

    def start(self, name: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "labgpu", "--db", self.url, "collect", "--interval", "1"]
        env = self.envs[name]
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sweeps(self, store: Store) -> int:
        return len(store.inventory.sample_times(next(iter(self.fleet.hosts))))

    def measure(self, name: str, seconds: float, store: Store) -> tuple[float, int]:
        """CPU seconds of one collector over ``seconds`` after the warm-up; sweeps meanwhile."""
        proc = self.start(name)
        try:
            time.sleep(WARMUP_S)
            cpu0, sweeps0 = cpu_seconds(proc.pid), self.sweeps(store)
            time.sleep(seconds)
            cpu1, sweeps1 = cpu_seconds(proc.pid), self.sweeps(store)
        finally:
            stop(proc)
        return cpu1 - cpu0, sweeps1 - sweeps0


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def collector_cpu(
    server: PostgresServer, args: argparse.Namespace, box: Mailbox, smtp_port: int, hook_url: str
) -> dict[str, float]:
    """The collector's CPU without notify.toml and with the sender idle (module docstring)."""
    base = Path(tempfile.mkdtemp(prefix="labgpu-bench-collector-"))
    base.chmod(0o755)  # the remote test user must reach the stand-ins below it
    fleet = start_sshd_hosts(args.hosts, base / "hosts")
    url = server.create_database("collector")
    try:
        runs = CollectorRuns(url, fleet, base / "accounts", smtp_port, args.housekeeping_s)
        os.environ.update(runs.envs["without"])
        lab = Labgpu(url)
        lab.open()
        for host in fleet.hosts.values():
            lab.inventory.add_server(host.target, host.name)
        for i in range(MEMBERS):
            lab.store.notify.save_settings(
                NotifySettings(f"m{i}", f"m{i}@lab.test", hook_url), datetime.now(UTC)
            )
        store = lab.store
        mails, hooks = len(box.mails), Hooks.count
        cpu: dict[str, list[float]] = {"without": [], "idle_sender": []}
        sweeps: dict[str, list[int]] = {"without": [], "idle_sender": []}
        for _run in range(args.cpu_runs):
            for name in cpu:
                used, swept = runs.measure(name, args.cpu_seconds, store)
                cpu[name].append(used)
                sweeps[name].append(swept)
        assert (len(box.mails), Hooks.count) == (mails, hooks), "the idle sender sent something"
        job_ms = minute_job_ms(store, smtp_port)
        assert store.notify.enqueue_test("m0", datetime.now(UTC))
        proc = runs.start("idle_sender")
        try:
            deadline = time.monotonic() + 120
            while len(box.mails) == mails and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop(proc)
        assert (len(box.mails), Hooks.count) == (mails + 1, hooks + 1), "notify.toml sent nothing"
        lab.close()
    finally:
        stop_sshd_hosts(fleet)
    for name in cpu:
        print(f"collector {name}: CPU s {[round(c, 2) for c in cpu[name]]}, sweeps {sweeps[name]}")
    figures = {
        "collector_cpu_s_without": round(median(cpu["without"]), 3),
        "collector_cpu_s_idle_sender": round(median(cpu["idle_sender"]), 3),
    }
    figures["collector_cpu_ratio"] = round(
        figures["collector_cpu_s_idle_sender"] / figures["collector_cpu_s_without"], 3
    )
    return figures | job_ms


def minute_job_ms(store: Store, smtp_port: int, jobs: int = 300) -> dict[str, float]:
    """The notification part of one minute job, in this process: CPU ms without notify.toml
    and with the sender idle (medians of three lots of ``jobs``)."""
    config = NotifyConfig(smtp_host="127.0.0.1", smtp_port=smtp_port, security="none")
    loads = {"without": lambda: None, "idle_sender": lambda: config}
    found: dict[str, list[float]] = {name: [] for name in loads}
    for _lot in range(3):
        for name, load in loads.items():
            watch = NotifyWatch(store, load_config=load)
            watch.run()
            started = time.process_time()
            for _job in range(jobs):
                watch.run()
            found[name].append((time.process_time() - started) / jobs * 1000)
    return {f"minute_job_notify_cpu_ms_{name}": round(median(ms), 2) for name, ms in found.items()}


def main() -> None:
    """Start PostgreSQL and the receivers, send, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=13)
    parser.add_argument("--cpu-runs", type=int, default=3, help="0: no CPU figures")
    parser.add_argument("--cpu-seconds", type=float, default=36.0)
    parser.add_argument("--housekeeping-s", type=float, default=12.0)
    args = parser.parse_args()
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{http.server_address[1]}/hook"
    config = NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security="none", batch=100)
    server = start_postgres(Path(tempfile.mkdtemp(prefix="labgpu-bench-pg-")))
    outbox_rates, raw_rates = [], []
    try:
        store = Store(server.create_database("notify"))
        store.upgrade()
        for i in range(MEMBERS):
            store.notify.save_settings(
                NotifySettings(f"m{i}", f"m{i}@lab.test", hook_url), datetime.now(UTC)
            )
        for run in range(args.runs):
            outbox_rates.append(through_outbox(store, config, run, args.events))
            raw_rates.append(raw(config, hook_url, args.events))
        counts = store.notify.delivery_counts()
        store.close()
        expected = 2 * args.events * args.runs
        received = len(box.mails) + Hooks.count
        assert counts == {"sent": expected}, counts
        assert received == 2 * expected, received  # the outbox's and the baseline's
        figures = {
            "events_per_s": round(median(outbox_rates), 1),
            "raw_events_per_s": round(median(raw_rates), 1),
        }
        figures["notify_ratio"] = round(figures["events_per_s"] / figures["raw_events_per_s"], 3)
        if args.cpu_runs > 0:
            figures.update(collector_cpu(server, args, box, port, hook_url))
    finally:
        stop_postgres(server)
        controller.stop()
        http.shutdown()
    for name, value in figures.items():
        print(f"{name}: {value}")
    emit(figures)


if __name__ == "__main__":
    main()
