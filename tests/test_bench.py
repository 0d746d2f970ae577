"""The benchmark runner runs every case end to end (tiny sizes) and its SimpleITK rows agree
with ours exactly, so the published ratios compare the same computation."""

from __future__ import annotations

import io
import json

import pytest

pytest.importorskip("SimpleITK")

from gpuresample.bench import CASE_NAMES, Settings, main, run  # noqa: E402


def test_every_case_runs_and_matches_simpleitk(tmp_path):
    out = io.StringIO()
    settings = Settings(size=12, size2d=20, cases=CASE_NAMES, peers=("sitk", "scipy"),
                        devices=("cpu",), repeat=1, json_path=str(tmp_path / "r.json"),
                        record_path=str(tmp_path / "r.md"))
    rows, env = run(settings, out)
    assert [r["case"] for r in rows] == list(CASE_NAMES)
    for row in rows:
        sitk_rows = [p for p in row["peers"] if p["key"] == "sitk"]
        assert len(sitk_rows) == 1, row["case"]
        assert sitk_rows[0]["max_abs_diff"] == 0.0, row["case"]   # exact mode: same bits
        assert sitk_rows[0]["ratio"] > 0
        assert row["ours"]["mvox_s"] > 0
    table = out.getvalue()
    assert "SimpleITK Resample" in table and "ratio" in table
    saved = json.loads((tmp_path / "r.json").read_text())
    assert len(saved["rows"]) == len(rows) and saved["environment"]["threads"] >= 1
    record = (tmp_path / "r.md").read_text()
    assert "- command: `python -m benchmarks`" in record and "SimpleITK Resample" in record


def test_unknown_case_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["--cases", "no-such-case"])
    assert "unknown no-such-case" in capsys.readouterr().err
