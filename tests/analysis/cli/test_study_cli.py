"""``python -m analysis ratings`` and ``plan``: the contract, the numbers and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import EXIT_BAD_INPUT, main
from analysis.stats import system_effects
from analysis.stats.crossed_simulation import simulate_ratings
from analysis.stats.planning import approximate_power
from analysis.stats.simulation import simulate_study

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "ratings.csv"
    data = simulate_ratings(12, 6, effect=4.0, attributes=("overall quality", "clarity"), seed=8)
    data["an_extra_column"] = "ignored"
    data.to_csv(path, index=False)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_json_follows_the_contract_and_equals_the_library(ratings_csv, capsys):
    status, out, _ = _run(capsys, "ratings", str(ratings_csv), "--json")
    assert status == 0
    result = json.loads(out)
    assert isinstance(result["model"], str)
    assert "track:system" in result["model"]
    expected = system_effects(pd.read_csv(ratings_csv)).set_index("attribute")
    assert set(result["attributes"]) == set(expected.index)
    for attribute, entry in result["attributes"].items():
        contrast = entry["human_minus_ai"]
        assert set(contrast) == {"estimate", "ci_low", "ci_high", "df", "p"}
        row = expected.loc[attribute]
        for key in ("estimate", "ci_low", "ci_high", "df", "p"):
            assert contrast[key] == pytest.approx(row[key], rel=1e-9)
        assert entry["n_participants"] == 12
        assert entry["n_tracks"] == 6


def test_the_text_output_names_estimate_counts_and_model(ratings_csv, capsys):
    status, out, _ = _run(capsys, "ratings", str(ratings_csv))
    assert status == 0
    assert "overall quality" in out
    assert "clarity" in out
    assert "12 participants, 6 tracks" in out
    assert "model: score ~ system" in out


def test_screening_is_applied_to_export_tables(tmp_path, capsys):
    study = simulate_study(10, 4, seed=5)
    path = tmp_path / "ratings.csv"
    study.ratings.to_csv(path, index=False)
    status, out, _ = _run(capsys, "ratings", str(path), "--json")
    result = json.loads(out)
    assert status == 0
    assert sorted(result["screening"]["excluded"]) == sorted(
        [*study.fail_reference, *study.fail_anchor]
    )
    first = next(iter(result["attributes"].values()))
    assert first["n_participants"] == 10 - len(result["screening"]["excluded"])
    _, out, _ = _run(capsys, "ratings", str(path), "--json", "--no-screening")
    assert next(iter(json.loads(out)["attributes"].values()))["n_participants"] == 10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="track"), "missing column(s) track"),
        (
            lambda d: d.assign(score=d["score"].astype(object).where(d.index != 3, "n/a")),
            "'n/a' on line 5 is not a number",
        ),
        (lambda d: d.loc[d["system"] != "ai"], "no rows with system='ai'"),
        (lambda d: d.loc[d["system"] != "human"], "no rows with system='human'"),
    ],
)
def test_bad_input_exits_2_with_one_line(ratings_csv, tmp_path, capsys, change, message):
    bad = tmp_path / "bad.csv"
    change(pd.read_csv(ratings_csv)).to_csv(bad, index=False)
    status, out, err = _run(capsys, "ratings", str(bad))
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_a_missing_file_exits_2(tmp_path, capsys):
    status, _, err = _run(capsys, "ratings", str(tmp_path / "nope.csv"))
    assert status == EXIT_BAD_INPUT
    assert "no such file" in err


def test_it_runs_as_a_module(ratings_csv):
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "ratings", str(ratings_csv), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "attributes" in json.loads(proc.stdout)


def test_plan_reports_a_grid_and_a_recommendation(capsys):
    status, out, _ = _run(
        capsys,
        "plan",
        "--difference",
        "8",
        "--participants",
        "10,20",
        "--tracks",
        "6,10",
        "--simulations",
        "30",
        "--simulate",
        "1",
        "--json",
    )
    assert status == 0
    plan = json.loads(out)
    grid = pd.DataFrame(plan["grid"])
    assert len(grid) == 4
    expected = [
        approximate_power(8.0, p, t, plan["sds"])
        for p, t in zip(grid["participants"], grid["tracks"], strict=True)
    ]
    assert grid["approx_power"].to_numpy() == pytest.approx(expected)
    assert grid["simulations"].sum() == 30


def test_plan_rejects_an_unknown_component(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--difference", "5", "--sd", "genre=3"])
    assert exit_info.value.code == 2
    assert "NAME=SD" in capsys.readouterr().err


def test_plan_estimates_components_from_a_pilot(ratings_csv, capsys):
    status, out, _ = _run(
        capsys,
        "plan",
        "--difference",
        "6",
        "--pilot",
        str(ratings_csv),
        "--participants",
        "10",
        "--tracks",
        "8",
        "--simulate",
        "0",
        "--json",
    )
    assert status == 0
    plan = json.loads(out)
    assert "estimated from ratings.csv" in plan["source"]
    table = system_effects(pd.read_csv(ratings_csv))
    residual = float(np.sqrt(table.iloc[0]["var_residual"]))
    assert plan["sds"]["residual"] == pytest.approx(residual)
