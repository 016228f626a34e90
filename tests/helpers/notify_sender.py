"""A sender process for the kill test: ``python -m tests.helpers.notify_sender URL PORT``
runs the sender until the outbox holds nothing pending (lease 1 s, batches of 3)."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from labgpu.services.notify.config import NotifyConfig
from labgpu.services.notify.sender import Sender
from labgpu.storage import Store


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    store = Store(url)
    config = NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security="none", batch=3)
    sender = Sender(store.notify, config, lease=timedelta(seconds=1))
    while True:
        sender.run()
        counts = store.notify.delivery_counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        time.sleep(0.1)


if __name__ == "__main__":
    main()
