"""``labgpu prices``: shown to all, set and cleared by managers (audited); exit 2 for a bad key
or value, 3 for a member who is not a manager (a real lab database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labgpu.cli.main import main
from labgpu.storage import Store
from tests.helpers.usage_data import A40, A4000, BASE, END, seed_usage
from tests.members.test_labdb import Lab, lab

__all__ = ["lab"]  # the fixture


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    return url


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", url, "prices", *argv])
    except SystemExit as exc:  # argparse: usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    code, out, err = run(capsys, url, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_set_show_and_clear(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert run_json(capsys, url) == {"prices": [], "unpriced_models": [A40, A4000]}
    found = run_json(capsys, url, "--set", A40, "cloud=2.5", "purchase=9000", "currency=eur")
    (price,) = found["prices"]
    assert {k: price[k] for k in ("model", "currency", "cloud_per_gpu_hour")} == {
        "model": A40,
        "currency": "EUR",
        "cloud_per_gpu_hour": 2.5,
    }
    assert (price["cluster_per_gpu_hour"], price["purchase_per_gpu"]) == (None, 9000.0)
    assert found["unpriced_models"] == [A4000]
    cleared = run_json(capsys, url, "--set", A40, "cloud=none", "cluster=0.4")
    assert cleared["prices"][0]["cloud_per_gpu_hour"] is None
    assert cleared["prices"][0]["cluster_per_gpu_hour"] == 0.4
    code, out, err = run(capsys, url)
    assert code == 0, err
    assert A40 in out
    assert "9,000.00" in out
    assert "labgpu prices --set MODEL cloud=" in out  # A4000 has none: where to set it
    assert run_json(capsys, url, "--clear", A40)["prices"] == []
    store = Store(url)
    try:
        actions = [(a.action, a.subject) for a in store.list_audit() if a.action[:6] == "price."]
    finally:
        store.close()
    assert actions == [("price.remove", A40), ("price.set", A40), ("price.set", A40)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--set", A40, "cloud=-1"), "a price is a number of 0 or more"),
        (("--set", A40, "cloud=cheap"), "a price is a number of 0 or more"),
        (("--set", A40, "rent=3"), "KEY one of: currency, cloud, cluster, purchase"),
        (("--set", A40, "cloud"), "KEY one of"),
        (("--set", A40), "needs at least one KEY=VALUE"),
        (("--set", "cloud=1"), "takes the model first"),
        (("--set", A40, "currency=US$"), "1 to 8 letters"),
        (("--set", A40, "currency=none"), "cannot be cleared"),
        (("--clear", A40), "has no prices to clear"),
        (("--set", "A100", "cloud=1"), "'A100' is not a GPU model of the lab; price one of: "),
        (("--set", "NVIDIA", "cloud=1"), "names several GPU models"),
    ],
)
def test_bad_input_is_exit_2_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, url, *argv)
    assert (code, out) == (2, "")
    assert message in err
    assert run_json(capsys, url)["prices"] == []


def test_a_short_model_name_prices_the_lab_model_it_names(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """``A40`` is the lab's ``NVIDIA A40`` (matched word by word, as --model is): the price
    lands where the cost reads it, not in a row of its own."""
    found = run_json(capsys, url, "--set", "A40", "cloud=1.5")
    assert [p["model"] for p in found["prices"]] == [A40]
    assert run_json(capsys, url, "--clear", "a40")["prices"] == []


def test_a_student_and_a_pi_are_refused_exit_3(
    capsys: pytest.CaptureFixture[str], lab: Lab
) -> None:
    for who in ("a", "pi"):
        member = f"postgresql+psycopg://{lab.names[who]}@127.0.0.1:{lab.server.port}/{lab.dbname}"
        code, out, err = run(capsys, member, "--set", "NVIDIA A40", "cloud=1")
        assert (code, out) == (3, "")
        assert "only a lab manager can set GPU prices" in err
        assert run_json(capsys, member) == {"prices": [], "unpriced_models": ["A100"]}
    manager = (
        f"postgresql+psycopg://{lab.names['manager']}@127.0.0.1:{lab.server.port}/{lab.dbname}"
    )
    assert run_json(capsys, manager, "--set", "A100", "cloud=3")["unpriced_models"] == []


def test_usage_json_carries_the_cost(capsys: pytest.CaptureFixture[str], url: str) -> None:
    """The seeded 2 h: amy and bo booked 2 + 1 h of the RTX A4000s; amy's 2 x 8 h request
    for the A40s found no slot (16 unmet GPU-h)."""
    run_json(capsys, url, "--set", A4000, "cloud=1.5")
    run_json(capsys, url, "--set", "A40", "cloud=2", "purchase=1000")  # the lab's NVIDIA A40
    code = main(["--db", url, "usage", "--from", BASE.isoformat(), "--to", END.isoformat(),
                 "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    cost = json.loads(out)["cost"]
    assert (cost["currency"], cost["period_hours"], cost["basis"]) == (
        "USD",
        2.0,
        "booked_gpu_hours",
    )
    assert cost["cloud_cost"] == 4.5  # 3 GPU-h x 1.5; A40 booked nothing
    by_model = {m["model"]: m for m in cost["models"]}
    assert by_model[A4000]["cloud_cost"] == 4.5
    # 16 unmet GPU-h in 2 h need 8 GPUs; they serve all 16, worth 32: 8 x 1000 / 32 periods.
    assert (by_model[A40]["buy_gpus"], by_model[A40]["payback_periods"]) == (8, 250.0)
    assert cost["unpriced_models"] == []
    assert cost["note"] is None  # every model is priced: no hint
