"""``labgpu notify`` (issue 17): show, set and test a member's own settings; exit 2 for an
unknown kind or a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from labgpu.storage import Store
from tests.helpers.booking_lab import run, run_json


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    store = Store(url)
    store.upgrade()
    store.close()
    return url


def test_set_show_and_test(capsys: pytest.CaptureFixture[str], url: str) -> None:
    shown = run_json(capsys, url, "notify")
    assert shown["email"] == ""
    assert shown["lead_minutes"] == 10
    assert shown["muted"] == []
    got = run_json(
        capsys, url, "notify", "set", "--email", "me@lab.test", "--mute", "booking_ends",
        "booking_starts", "--lead", "25", "--language", "ko",
    )  # fmt: skip
    assert got["email"] == "me@lab.test"
    assert got["muted"] == ["booking_starts", "booking_ends"]
    assert (got["lead_minutes"], got["language"]) == (25, "ko")
    got = run_json(capsys, url, "notify", "set", "--unmute", "booking_starts", "--email", "")
    assert got["muted"] == ["booking_ends"]
    assert got["email"] == ""
    assert run_json(capsys, url, "notify")["lead_minutes"] == 25  # stored
    code, out, _err = run(capsys, url, "notify")
    assert code == 0
    assert "booking_ends" in out
    assert run_json(capsys, url, "notify", "test")["queued"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ("set", "--mute", "everything"),
        ("set", "--email", "not an address"),
        ("set", "--webhook", "ftp://x"),
        ("set", "--lead", "0"),
        ("show", "--email", "a@b.c"),
    ],
)
def test_bad_values_exit_2(
    capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...]
) -> None:
    code, _out, err = run(capsys, url, "notify", *argv)
    assert code == 2, err
    assert run_json(capsys, url, "notify")["email"] == ""  # nothing was stored


def test_the_demo_says_it_sends_nothing(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's collector is simulated: a test message there is never sent, and the
    command says so rather than promising one within a minute (trial)."""
    from labgpu.cli.main import main

    assert main(["--demo", "notify", "test"]) == 0
    out = capsys.readouterr().out
    assert "the demo lab sends nothing" in out
    assert "the collector sends it within a minute" in out  # where a real lab would


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--email", "kim@@x.org", "is not an e-mail address"),
        ("--email", "kim@example.org,lee@example.org", "is not an e-mail address"),
        ("--email", "@example.org", "is not an e-mail address"),
        ("--webhook", "https://", "http:// or https:// URL"),
        ("--webhook", "ftp://chat.lab.test/x", "http:// or https:// URL"),
        ("--language", "fr", "is not a language of labgpu's messages"),
    ],
)
def test_values_that_are_not_one_are_refused_and_nothing_is_saved(
    capsys: pytest.CaptureFixture[str], url: str, option: str, value: str, says: str
) -> None:
    run_json(capsys, url, "notify", "set", "--email", "kim@lab.test")
    code, _out, err = run(capsys, url, "notify", "set", option, value)
    assert code == 2, err
    assert says in err
    shown = run_json(capsys, url, "notify")
    assert (shown["email"], shown["webhook_url"], shown["language"]) == ("kim@lab.test", "", "")


def test_a_language_is_kept_in_lower_case(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert run_json(capsys, url, "notify", "set", "--language", "KO")["language"] == "ko"
