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


def test_index_map_peers_run_on_deformable_cases():
    # scipy's map_coordinates, torch's grid_sample and MONAI's Resample get every voxel's
    # input position precomputed; with torch's and MONAI's affine variants they agree with
    # ours on the interior (their boundary rules differ)
    import importlib.util

    cases = ("euler3d-linear", "bspline-linear", "field-linear")
    settings = Settings(size=12, size2d=20, cases=cases, peers=("scipy", "torch", "monai"),
                        devices=("cpu",), repeat=1)
    rows, _ = run(settings, io.StringIO())
    with_torch = importlib.util.find_spec("torch") is not None
    with_monai = with_torch and importlib.util.find_spec("monai") is not None
    for row in rows:
        labels = [p["name"] for p in row["peers"]]
        assert any(label.startswith("scipy") for label in labels), row["case"]
        deformable = row["case"] != "euler3d-linear"
        torch_rows = [label for label in labels if label.startswith("torch")]
        assert len(torch_rows) == (0 if not with_torch else 2 if deformable else 4)
        assert not (deformable and any("affine_grid" in label for label in torch_rows))
        monai_rows = [label for label in labels if label.startswith("MONAI")]
        assert len(monai_rows) == (0 if not with_monai else 1 if deformable else 2)
        for peer in row["peers"]:
            assert peer["ok"] and peer["n_compared"] > 0, (row["case"], peer["name"])


def test_index_map_matches_the_affine_index_map():
    import numpy as np

    from gpuresample.bench import CASES, build_workload

    work = build_workload(next(c for c in CASES if c.name == "euler3d-linear"), 9, 12)
    d = work.case.dimension
    index = np.stack(np.meshgrid(*[np.arange(n) for n in work.out_size[::-1]],
                                 indexing="ij")[::-1], axis=-1).astype(np.float64)
    expected = index @ work.index_affine[:d, :d].T + work.index_affine[:d, d]
    np.testing.assert_allclose(np.moveaxis(work.index_map[::-1], 0, -1), expected,
                               atol=1e-9)
