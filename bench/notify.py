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

Usage: .venv/bin/python bench/notify.py [--runs 3] [--events 1000]
"""

from __future__ import annotations

import argparse
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
from labgpu.services.notify.channels import SmtpChannel, WebhookChannel
from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import Sender
from labgpu.storage import Store
from tests.helpers.notify_receivers import Mailbox, free_port
from tests.helpers.postgres import start_postgres, stop_postgres

MEMBERS = 50


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


def main() -> None:
    """Start PostgreSQL and the receivers, send, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=1000)
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
    finally:
        stop_postgres(server)
        controller.stop()
        http.shutdown()
    expected = 2 * args.events * args.runs
    received = len(box.mails) + Hooks.count
    assert counts == {"sent": expected}, counts
    assert received == 2 * expected, received  # the outbox's and the baseline's
    figures = {
        "events_per_s": round(median(outbox_rates), 1),
        "raw_events_per_s": round(median(raw_rates), 1),
    }
    figures["notify_ratio"] = round(figures["events_per_s"] / figures["raw_events_per_s"], 3)
    for name, value in figures.items():
        print(f"{name}: {value}")
    emit(figures)


if __name__ == "__main__":
    main()
