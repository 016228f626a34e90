"""Issue 17's "done when", end to end with real parts: the lab database on PostgreSQL, the
collector as a real ``labgpu collect`` process logged in as the lab's collector, with the lab's
channels in a 0600 ``notify.toml`` in its own config directory, a real SMTP server (aiosmtpd)
and a real HTTP server for the webhooks. Members act through the real CLI.

A PI gets a mail when a student's request waits; the student gets a chat message ten minutes
before their booking starts; the collector SIGKILLed and started again sends nothing twice, and
what happens after the restart still arrives, once. The collector's minute job runs every
second here (``LABGPU_HOUSEKEEPING_S``), so nothing waits a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.cli.main import main
from labgpu.core.errors import ConfigError
from labgpu.services.inventory.servers import HOUSEKEEPING_ENV, housekeeping_seconds
from tests.helpers.labdb import Lab, lab
from tests.helpers.notify_receivers import Hooks, Mailbox, hooks, poll, smtp
from tests.helpers.rules_lab import RulesLab, rlab

__all__ = ["hooks", "lab", "rlab", "smtp"]  # the fixtures

#: Generous: the collector process starts, probes and sends on a loaded 2-core machine.
WAIT_S = 180.0


def url_of(lab: Lab, who: str) -> str:
    """The login of ``who`` (a member or the collector) on the lab database."""
    return f"postgresql://{lab.names[who]}@127.0.0.1:{lab.server.port}/{lab.dbname}"


def cli(capsys: pytest.CaptureFixture[str], lab: Lab, who: str, *argv: str) -> dict[str, object]:
    """``labgpu --db URL ARGV... --json`` as ``who``, in this process; its JSON."""
    code = main(["--db", url_of(lab, who), *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, dict), found
    return found


def minute_after(moment: datetime) -> datetime:
    """The first whole minute at or after ``moment``."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


class Collectors:
    """Starts ``labgpu collect`` as the lab's collector, from its own service account's
    home (``notify.toml`` in its config directory); stops what it started."""

    def __init__(self, lab: Lab, home: Path) -> None:
        self.lab = lab
        self.home = home
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("LABGPU_CONFIG_DIR", "LABGPU_DATA_DIR", "LABGPU_LOG_DIR", "LABGPU_USER")
        }
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_STATE_HOME=str(home / ".local" / "state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            **{HOUSEKEEPING_ENV: "1"},
        )
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "labgpu"

    def write_notify_toml(self, smtp_port: int) -> Path:
        self.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.config_dir / "notify.toml"
        path.write_text(
            "[notify]\n"
            'smtp_host = "127.0.0.1"\n'
            f"smtp_port = {smtp_port}\n"
            'security = "none"\n'
            'sender = "labgpu@lab.test"\n'
            'webhook_hosts = ["127.0.0.1"]\n',
            encoding="utf-8",
        )
        path.chmod(0o600)
        return path

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.home / f"collect-{len(self.procs)}.log").open("wb")
        argv = [sys.executable, "-m", "labgpu", "--db", url_of(self.lab, "collector"), "-v",
                "collect", "--interval", "5"]  # fmt: skip
        proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log)
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.home.glob("collect-*.log"))
        )

    def alive(self) -> bool:
        """The newest collector still runs (its log goes into the failure's message)."""
        assert self.procs[-1].poll() is None, self.logs()
        return True

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


@pytest.fixture
def collectors(rlab: RulesLab, tmp_path: Path) -> Iterator[Collectors]:
    home = tmp_path / "collector-home"
    home.mkdir()
    found = Collectors(rlab.lab, home)
    try:
        yield found
    finally:
        found.stop_all()


def delivery_states(lab: Lab) -> dict[str, int]:
    with lab.admin() as admin:
        rows = admin.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    return {str(state): int(count) for state, count in rows}


def wait_for(what: str, condition: Callable[[], bool], collectors: Collectors) -> None:
    poll(lambda: collectors.alive() and condition(), WAIT_S, what)


def test_the_collector_mails_the_pi_tells_the_student_and_sends_nothing_twice(
    rlab: RulesLab,
    collectors: Collectors,
    smtp: tuple[Mailbox, int],
    hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lab = rlab.lab
    box, port = smtp
    student, pi = lab.names["a"], lab.names["pi"]
    assert collectors.write_notify_toml(port).stat().st_mode & 0o777 == 0o600
    collectors.start()
    cli(capsys, lab, "pi", "notify", "set", "--email", f"{pi}@lab.test")
    cli(capsys, lab, "a", "notify", "set", "--webhook", hooks.url("student"), "--lead", "10")

    # (a) The A40 needs a PI's approval: the student's request waits, and the PI hears of it.
    later = minute_after(datetime.now(UTC) + timedelta(days=2))
    asked = cli(capsys, lab, "a", "book", "--gpu", "node2:2", "--start", later.isoformat(),
                "--hours", "2")  # fmt: skip
    assert asked["status"] == "pending", asked
    wait_for("the PI's mail", lambda: len(box.mails) >= 1, collectors)
    mail = box.mails[0]
    assert str(mail["To"]) == f"{pi}@lab.test"
    assert str(mail["From"]) == "labgpu@lab.test"
    assert str(mail["Subject"]) == f"labgpu: {student} asks for 1 GPU(s)"
    assert f"labgpu approve {asked['group_id']}" in mail.get_content()

    # (b) A booking that starts in less than the student's lead of ten minutes.
    start = minute_after(datetime.now(UTC) + timedelta(minutes=9))
    booked = cli(capsys, lab, "a", "book", "--gpu", "node1:1", "--start", start.isoformat(),
                 "--hours", "1")  # fmt: skip
    assert booked["status"] == "booked", booked
    wait_for("the student's chat message", lambda: len(hooks.posts) >= 1, collectors)
    path, starts_key, body = hooks.posts[0]
    assert path == "/hooks/student"
    assert body["text"].startswith(
        f"*labgpu: your booking starts at {start:%Y-%m-%d %H:%M} UTC*\n"
    ), body
    assert starts_key

    wait_for("both marked sent", lambda: delivery_states(lab) == {"sent": 2}, collectors)
    assert (len(box.mails), len(hooks.posts)) == (1, 1)

    # (c) Killed outright and started again: its minute job finds the same booking in its
    # lead again, and whatever it did before is not done twice.
    first = collectors.procs[0]
    first.send_signal(signal.SIGKILL)
    assert first.wait(60) == -signal.SIGKILL
    collectors.start()
    # New events after the restart, one at a time: each arrival is one more minute job.
    again = minute_after(later + timedelta(hours=3))
    second = cli(capsys, lab, "a", "book", "--gpu", "node2:2", "--start", again.isoformat(),
                 "--hours", "1")  # fmt: skip
    assert second["status"] == "pending", second
    wait_for("the second request's mail", lambda: len(box.mails) >= 2, collectors)
    cli(capsys, lab, "a", "notify", "test")
    wait_for("the student's test message", lambda: len(hooks.posts) >= 2, collectors)
    assert main(["--db", url_of(lab, "pi"), "approve", str(second["group_id"])]) == 0, (
        capsys.readouterr()
    )
    wait_for("the approval's chat message", lambda: len(hooks.posts) >= 3, collectors)

    wait_for("every delivery marked sent", lambda: delivery_states(lab) == {"sent": 5}, collectors)
    ids = Counter(box.ids())
    keys = Counter(hooks.keys())
    assert (len(box.mails), len(hooks.posts)) == (2, 3), (box.ids(), hooks.posts)
    assert set(ids.values()) == {1}, ids
    assert set(keys.values()) == {1}, keys
    assert [str(m["Subject"]) for m in box.mails] == [f"labgpu: {student} asks for 1 GPU(s)"] * 2
    texts = [b["text"].split("\n", 1)[0] for _p, _k, b in hooks.posts]
    assert texts == [
        f"*labgpu: your booking starts at {start:%Y-%m-%d %H:%M} UTC*",
        "*labgpu: test message*",
        "*labgpu: your request was approved*",
    ]
    with lab.admin() as admin:
        starts = admin.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'booking_starts'"
        ).fetchone()
    assert starts == (1,)


def test_the_minute_job_runs_every_minute_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOUSEKEEPING_ENV, raising=False)
    assert housekeeping_seconds() == 60.0
    monkeypatch.setenv(HOUSEKEEPING_ENV, "0.5")
    assert housekeeping_seconds() == 0.5
    for bad in ("0", "-3", "soon", "nan"):
        monkeypatch.setenv(HOUSEKEEPING_ENV, bad)
        with pytest.raises(ConfigError, match=HOUSEKEEPING_ENV):
            housekeeping_seconds()
