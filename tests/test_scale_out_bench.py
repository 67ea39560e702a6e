"""The scaling benchmark's model: the line fit and the rounds of chunks, on hand-worked
numbers (the benchmark's own timings are measured by running it, never here)."""

from __future__ import annotations

import pytest
from benchmarks.scale_out import fit_line, fit_model, predict


def test_fit_line_recovers_a_line_and_least_squares():
    assert fit_line([1, 2, 3], [5.0, 7.0, 9.0]) == pytest.approx((3.0, 2.0))
    # (0, 0), (1, 1), (2, 1): mean x 1, mean y 2/3, slope (-1 * -2/3 + 1 * 1/3) / 2 = 1/2
    assert fit_line([0, 1, 2], [0.0, 1.0, 1.0]) == pytest.approx((1 / 6, 0.5))


def test_fit_line_refuses_one_x():
    with pytest.raises(ValueError, match="xs: expected at least two distinct values"):
        fit_line([4, 4], [1.0, 2.0])


def test_predict_runs_chunks_in_rounds_of_workers():
    # 2 workers, 2 chunks: one round of (p0 + o + work / 2)
    assert predict(2, 2, 1.5, 0.1, 0.02, 10.0) == pytest.approx(1.5 + 0.12 + 5.0)
    # 3 chunks on 2 workers: two rounds, each chunk a third of the work
    assert predict(2, 3, 0.0, 0.1, 0.0, 9.0) == pytest.approx(2 * (0.1 + 3.0))
    # W divides c: startup + (c (p0 + o) + work) / W
    assert predict(4, 8, 2.0, 0.1, 0.1, 16.0) == pytest.approx(2.0 + (8 * 0.2 + 16.0) / 4)
    with pytest.raises(ValueError, match="workers, chunks"):
        predict(0, 1, 0.0, 0.0, 0.0, 1.0)


def _row(n_jobs, cold, warm, slope, intercept=0.3, counts=(4, 16, 48)):
    return {
        "n_jobs": n_jobs,
        "cold_s": cold,
        "warm_s": warm,
        "one_network_chunks_s": {str(c): intercept + slope * c for c in counts},
    }


def test_fit_model_separates_startup_per_chunk_overhead_and_work():
    mode = {"lrs": 40, "trials": 50, "chunk_size": 1000, "chunk_counts": (4, 16, 48)}
    rows = {
        "local-1": _row(1, 11.0, 10.2, 0.1),  # p0 = 0.1 s; work = 10.2 - 2 * 0.1 = 10.0 s
        "processes-1": _row(1, 11.0, 10.2, 0.1),
        "processes-2": _row(2, 8.2, 5.2, 0.06),  # o = 2 * 0.06 - 0.1 = 0.02 s
        "dask-2": _row(2, 6.0, 5.5, 0.075, intercept=0.5),  # o = 0.05 s, s = 0.2 s
    }
    model = fit_model(rows, mode)
    assert model["chunks"] == 2
    assert model["p0_s"] == pytest.approx(0.1)
    assert model["work_s"] == pytest.approx(10.0)
    loky, dask = model["backends"]["processes-2"], model["backends"]["dask-2"]
    assert loky["overhead_per_chunk_s"] == pytest.approx(0.02)
    assert loky["startup_s"] == pytest.approx(3.0)
    assert loky["predicted_warm_s"] == pytest.approx(0.1 + 0.02 + 5.0)
    assert loky["predicted_cold_s"] == pytest.approx(3.0 + 5.12)
    assert loky["overhead_per_sweep_s"] == pytest.approx(0.0)
    assert dask["overhead_per_chunk_s"] == pytest.approx(0.05)
    assert dask["overhead_per_sweep_s"] == pytest.approx(0.2)
    assert dask["predicted_warm_s"] == pytest.approx(0.2 + 0.1 + 0.05 + 5.0)
    assert model["backends"]["processes-1"]["workers"] == 1  # one job: no pool
    assert model["backends"]["local-1"]["predicted_warm_s"] == pytest.approx(10.2)
