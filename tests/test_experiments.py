"""nnscratch.experiments: repeat, sweep, grouping, records, statistics."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnscratch import tutorial
from nnscratch.core.seeding import child
from nnscratch.data import load_moons
from nnscratch.experiments import (
    MAX_TRIALS,
    METRICS,
    Config,
    TrialRecord,
    betainc,
    check_trial_count,
    describe,
    expand_grid,
    format_summary,
    grid_size,
    group_configs,
    group_key,
    load_records,
    records_from_csv,
    records_from_json,
    records_to_csv,
    records_to_json,
    repeat,
    run_trial,
    save_records,
    summarize,
    sweep,
    t_cdf,
    t_quantile,
)
from nnscratch.io.atomic import atomic_open, check_writable, write_text

DATA = load_moons(n_samples=200)  # 150 train / 50 test
TINY = Config(hidden=8, lr=0.1, batch_size=16, epochs=2)


def same_record(a: TrialRecord, b: TrialRecord, tol: float | None = None) -> bool:
    """Field-by-field equality, NaN equal to NaN; floats within ``tol`` when given."""
    for name in TrialRecord.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float):
            if math.isnan(x) and math.isnan(y):
                continue
            if tol is None and x != y:
                return False
            if tol is not None and not math.isclose(x, y, rel_tol=tol, abs_tol=tol):
                return False
        elif x != y:
            return False
    return True


# --- Student t ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q, df, expected",
    [
        (0.975, 1, 12.706205),
        (0.975, 2, 4.302653),
        (0.975, 4, 2.776445),
        (0.975, 9, 2.262157),
        (0.975, 29, 2.045230),
        (0.975, 99, 1.984217),
        (0.95, 5, 2.015048),
        (0.995, 10, 3.169273),
        (0.9, 3, 1.637744),
    ],
)
def test_t_quantile_matches_tables(q, df, expected):
    assert t_quantile(q, df) == pytest.approx(expected, abs=5e-7)


def test_t_quantile_tends_to_the_normal_quantile():
    assert t_quantile(0.975, 1e8) == pytest.approx(1.959963985, abs=1e-7)


def _t_cdf_series(t: float, nu: int) -> float:
    """Abramowitz & Stegun 26.7.3/26.7.4: the t CDF for integer nu as a finite series."""
    theta = math.atan(t / math.sqrt(nu))
    s, c = math.sin(theta), math.cos(theta)
    if nu % 2:  # odd
        total, term = 0.0, c
        for k in range(1, (nu - 1) // 2 + 1):
            if k > 1:
                term *= (2 * k - 2) / (2 * k - 1) * c * c
            total += term
        a = 2 / math.pi * (theta + s * total) if nu > 1 else 2 / math.pi * theta
    else:
        total, term = 1.0, 1.0
        for k in range(1, nu // 2):
            term *= (2 * k - 1) / (2 * k) * c * c
            total += term
        a = s * total
    return 0.5 + 0.5 * a  # a = P(|T| <= t) for t >= 0


@given(t=st.floats(0.0, 30.0), nu=st.integers(1, 60))
@settings(max_examples=60, deadline=None)
def test_t_cdf_agrees_with_the_closed_form_series(t, nu):
    assert t_cdf(t, nu) == pytest.approx(_t_cdf_series(t, nu), abs=1e-12)


@given(q=st.floats(0.01, 0.99), df=st.floats(0.5, 200.0))
@settings(max_examples=40, deadline=None)
def test_t_quantile_inverts_the_cdf_and_is_odd(q, df):
    t = t_quantile(q, df)
    assert t_cdf(t, df) == pytest.approx(q, abs=1e-12)
    assert t_quantile(1 - q, df) == pytest.approx(-t, rel=1e-9, abs=1e-12)


def test_betainc_special_cases():
    assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3, abs=1e-15)  # uniform
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0
    # I_x(a, 1) = x^a and I_x(a, b) = 1 - I_{1-x}(b, a)
    assert betainc(2.5, 1.0, 0.4) == pytest.approx(0.4**2.5, rel=1e-13)
    assert betainc(2.0, 5.0, 0.3) == pytest.approx(1 - betainc(5.0, 2.0, 0.7), abs=1e-14)


def test_bad_quantile_arguments_raise():
    with pytest.raises(ValueError, match="q"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df"):
        t_quantile(0.9, 0)


# --- describe and summarize -------------------------------------------------------------------


def test_describe_hand_computed():
    d = describe([0.9, 0.8, 1.0])
    # mean 0.9, deviations -0, -0.1, 0.1 -> sum of squares 0.02, /2 -> 0.01, std 0.1
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(0.9, abs=1e-15)
    assert d["std"] == pytest.approx(0.1, abs=1e-15)
    assert d["sem"] == pytest.approx(0.1 / math.sqrt(3), abs=1e-15)
    half = 4.302652729749464 * 0.1 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n)
    assert d["ci_low"] == pytest.approx(0.9 - half, abs=1e-12)
    assert d["ci_high"] == pytest.approx(0.9 + half, abs=1e-12)
    assert (d["min"], d["max"]) == (0.8, 1.0)


def test_describe_small_samples():
    one = describe([0.5])
    assert one["n"] == 1 and one["mean"] == 0.5 and math.isnan(one["std"])
    assert math.isnan(one["ci_low"])
    none = describe([])
    assert none["n"] == 0 and math.isnan(none["mean"])


def _record(config_index, trial, acc, diverged=False, config=TINY):
    return TrialRecord(
        config,
        config_index,
        trial,
        7,
        (config_index * 10 + trial,),
        acc,
        acc,
        0.1,
        0.2,
        2,
        0.5,
        diverged,
    )


def test_summarize_leaves_diverged_trials_out_and_counts_them():
    records = [
        _record(0, 0, 0.9),
        _record(0, 1, 0.8),
        _record(0, 2, 1.0),
        _record(0, 3, 0.1, diverged=True),
        _record(1, 0, 0.7),
    ]
    rows = summarize(records)
    assert [r["config_index"] for r in rows] == [0, 1]
    first = rows[0]
    assert (first["trials"], first["n"], first["diverged"]) == (4, 3, 1)
    assert first["mean"] == pytest.approx(0.9, abs=1e-15)
    assert first["std"] == pytest.approx(0.1, abs=1e-15)
    assert rows[1]["n"] == 1 and math.isnan(rows[1]["std"])
    text = format_summary(rows)
    assert "95% CI" in text and "ddof=1" in text


def test_summarize_rejects_unknown_metric():
    with pytest.raises(ValueError, match="metric"):
        summarize([_record(0, 0, 0.5)], metric="f1")


# --- configs, grids and groups ----------------------------------------------------------------


def test_config_normalises_and_validates():
    assert Config(hidden=16).hidden == (16,)
    assert Config(hidden=[8, 4]).hidden == (8, 4)
    assert Config.from_dict(Config(hidden=(3, 2)).to_dict()) == Config(hidden=(3, 2))
    for bad in (
        {"lr": 0},
        {"epochs": 0},
        {"batch_size": -1},
        {"activation": "nope"},
        {"optimizer": "nope"},
        {"hidden": "64"},
        {"dropout": 1.0},
        {"dtype": "int8"},
    ):
        with pytest.raises(ValueError):
            Config(**bad)
    with pytest.raises(ValueError, match="config"):
        Config.from_dict({"width": 3})


def test_grid_order_and_size():
    grid = {"hidden": [3, 4], "lr": [0.1, 0.01], "batch_size": [8, 16, 32]}
    configs = expand_grid(grid, base=TINY)
    assert len(configs) == 2 * 2 * 3
    # last key varies fastest
    assert [(c.hidden[0], c.lr, c.batch_size) for c in configs[:4]] == [
        (3, 0.1, 8),
        (3, 0.1, 16),
        (3, 0.1, 32),
        (3, 0.01, 8),
    ]
    assert all(c.epochs == TINY.epochs for c in configs)
    with pytest.raises(ValueError, match="grid key"):
        expand_grid({"colour": [1]})
    with pytest.raises(ValueError):
        expand_grid({"hidden": []})


def test_grouping_splits_only_on_graph_and_step_count():
    grid = {
        "hidden": [3, 5, (4, 4)],
        "lr": [0.1, 0.2],
        "batch_size": [8, 16],
        "init_scale": [1.0, 0.5],
        "activation": ["relu", "tanh"],
    }
    configs = expand_grid(grid, base=TINY)
    groups = group_configs(configs)
    # 2 depths x 2 batch sizes x 2 activations; widths, lr and init_scale are vectorised
    assert len(groups) == 8
    assert sorted(i for g in groups for i in g) == list(range(len(configs)))
    for g in groups:
        keys = {group_key(configs[i]) for i in g}
        assert len(keys) == 1
        assert g == sorted(g)
    # one-layer widths 3 and 5 share a group; (4, 4) does not join them
    one_layer = [i for i, c in enumerate(configs) if len(c.hidden) == 1]
    g0 = next(g for g in groups if 0 in g)
    assert set(g0) <= set(one_layer)
    assert group_configs([TINY, TINY.replace(optimizer="adam")]) == [[0], [1]]
    assert group_configs([TINY, TINY.replace(epochs=3)]) == [[0], [1]]
    assert group_configs([TINY, TINY.replace(l2=0.01, dropout=0.2)]) == [[0, 1]]


# --- repeat, sweep, run_trial -----------------------------------------------------------------


def test_repeat_same_seed_same_records():
    a = repeat(TINY, trials=3, data=DATA, seed=11, quiet=True)
    b = repeat(TINY, trials=3, data=DATA, seed=11, quiet=True)
    fields = [f for f in TrialRecord.__dataclass_fields__ if f != "seconds"]
    assert [[getattr(r, f) for f in fields] for r in a] == [
        [getattr(r, f) for f in fields] for r in b
    ]
    c = repeat(TINY, trials=3, data=DATA, seed=12, quiet=True)
    assert [r.test_loss for r in a] != [r.test_loss for r in c]
    assert [r.trial for r in a] == [0, 1, 2]
    assert [r.seed_spawn_key for r in a] == [(0,), (1,), (2,)]
    assert all(r.seed_entropy == 11 and r.epochs_run == 2 and not r.diverged for r in a)


def test_a_trial_rerun_alone_equals_its_place_in_the_population():
    records = repeat(TINY, trials=4, data=DATA, seed=3, quiet=True)
    for record in (records[0], records[3]):
        alone = run_trial(record.config, record.seed_sequence(), data=DATA)
        assert alone.seed_sequence().spawn_key == record.seed_sequence().spawn_key
        for m in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
            assert getattr(alone, m) == pytest.approx(getattr(record, m), rel=1e-9, abs=1e-12)


def test_sweep_trials_rerun_alone_across_groups_and_padded_widths():
    grid = {"hidden": [3, 9], "lr": [0.05, 0.2], "batch_size": [16, 50]}
    records = sweep(grid, trials=2, base=TINY, data=DATA, seed=9, quiet=True)
    assert len(records) == 8 * 2
    configs = expand_grid(grid, base=TINY)
    assert [r.config for r in records] == [c for c in configs for _ in range(2)]
    assert [(r.config_index, r.trial) for r in records] == [
        (c, t) for c in range(8) for t in range(2)
    ]
    assert [r.seed_spawn_key for r in records] == [(i,) for i in range(16)]
    for record in (records[0], records[7], records[13]):  # narrow, wide, other batch size
        alone = run_trial(record.config, record.seed_sequence(), data=DATA)
        assert alone.test_loss == pytest.approx(record.test_loss, rel=1e-9, abs=1e-12)
        assert alone.train_accuracy == pytest.approx(record.train_accuracy, abs=1e-12)


def test_a_group_too_large_for_memory_trains_in_chunks_with_the_same_results(monkeypatch):
    from nnscratch.core.checks import training_bytes
    from nnscratch.core.network import MLP
    from nnscratch.experiments import runner

    grid = {"hidden": [3, 9], "lr": [0.05, 0.2]}  # one group of 4 configurations x 3 trials
    whole = sweep(grid, trials=3, base=TINY, data=DATA, seed=9, quiet=True)
    sizes = []
    fit = MLP.fit

    def counting_fit(self, X, y, **kwargs):
        sizes.append(self.n_members)
        return fit(self, X, y, **kwargs)

    each = training_bytes([2, 9, 2], TINY.batch_size, 150)  # the widest member, 150 rows
    monkeypatch.setattr(runner, "memory_bytes", lambda: 5 * each / runner.MEMORY_SHARE)
    monkeypatch.setattr(MLP, "fit", counting_fit)
    chunked = sweep(grid, trials=3, base=TINY, data=DATA, seed=9, quiet=True)
    assert sizes == [5, 5, 2]  # 12 members, at most 5 at a time
    assert [(r.config_index, r.trial, r.seed_spawn_key) for r in chunked] == [
        (r.config_index, r.trial, r.seed_spawn_key) for r in whole
    ]
    for a, b in zip(whole, chunked, strict=True):
        assert b.test_loss == pytest.approx(a.test_loss, rel=1e-9, abs=1e-12)
        assert b.train_accuracy == pytest.approx(a.train_accuracy, abs=1e-12)


def test_sweep_equals_the_tutorials_test_class():
    base = Config(
        hidden=64,
        init="normal",
        bias_init="normal",
        lr=1e-4,
        batch_size=10,
        epochs=2,
        reduction="sum",
    )
    records = sweep({"hidden": [3, 4, 5]}, trials=2, base=base, data=DATA, seed=5, quiet=True)
    widths, mean = tutorial.test_class(3, 6, 2, data=DATA, plot=False, seed=5, iter_num=2)
    ours = np.array([r.test_accuracy for r in records]).reshape(3, 2).mean(axis=1)
    np.testing.assert_allclose(ours, mean, rtol=0, atol=1e-12)


def test_seeds_are_children_of_the_root():
    records = repeat(TINY, trials=2, data=DATA, seed=np.random.SeedSequence(4), quiet=True)
    assert records[1].seed_sequence().spawn_key == child(np.random.SeedSequence(4), 1).spawn_key


def test_diverged_trials_are_flagged_not_raised():
    records = sweep({"lr": [0.1, 1e200]}, trials=2, base=TINY, data=DATA, seed=0, quiet=True)
    assert [r.diverged for r in records] == [False, False, True, True]
    rows = summarize(records)
    assert rows[1]["diverged"] == 2 and rows[1]["n"] == 0 and math.isnan(rows[1]["mean"])
    assert rows[0]["n"] == 2


def test_repeat_rejects_bad_input():
    with pytest.raises(ValueError, match="trials"):
        repeat(TINY, trials=0, data=DATA)
    with pytest.raises(ValueError, match="data"):
        repeat(TINY, trials=1, data="nope")
    with pytest.raises(ValueError, match="seed"):
        repeat(TINY, trials=1, data=DATA, seed=-1)


# --- records on disk --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def records():
    out = sweep(
        {"hidden": [3, 5], "lr": [0.1, 1e200]},
        trials=2,
        base=TINY,
        data=DATA,
        seed=None,
        quiet=True,
    )  # fresh entropy (a 128-bit int)
    # a member that diverges is rolled back, its losses finite: the NaNs come from a trial
    # that a Ctrl-C kept from running (interrupted, NaN metrics, 0 epochs)
    nan = math.nan
    never = dataclasses.replace(
        out[-1],
        config_index=4,
        trial=0,
        seed_spawn_key=(8,),
        **dict.fromkeys(METRICS, nan),
        epochs_run=0,
        seconds=0.0,
        diverged=False,
        interrupted=True,
    )
    return [*out, never]


def test_records_round_trip_exactly_through_json_and_csv(records, tmp_path):
    assert any(math.isnan(r.train_loss) for r in records)  # NaN survives both formats
    assert records[0].seed_entropy > 2**64
    for back in (
        records_from_json(records_to_json(records)),
        records_from_csv(records_to_csv(records)),
    ):
        assert len(back) == len(records)
        assert all(same_record(a, b) for a, b in zip(records, back, strict=True))
    for name in ("r.json", "r.csv"):
        path = save_records(records, tmp_path / name)
        assert all(same_record(a, b) for a, b in zip(records, load_records(path), strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]  # no temp files


def test_json_is_standard_json(records):
    import json

    text = records_to_json(records)
    assert "NaN" not in text
    payload = json.loads(text)
    assert set(payload) == {"records", "summary"}


def test_save_records_rejects_unknown_suffix(records, tmp_path):
    with pytest.raises(ValueError, match=".json or .csv"):
        save_records(records, tmp_path / "r.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_from_a_loaded_record(records, tmp_path):
    path = save_records(records, tmp_path / "r.csv")
    loaded = load_records(path)[5]  # width 5, trial 1: padded and not diverged
    alone = run_trial(loaded.config, loaded.seed_sequence(), data=DATA)
    assert alone.test_loss == pytest.approx(records[5].test_loss, rel=1e-9)


# --- atomic writes ----------------------------------------------------------------------------


def test_atomic_write_leaves_old_content_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "x.json") == tmp_path / "x.json"
    with pytest.raises(ValueError, match="directory"):
        check_writable(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="does not exist"):
        check_writable(tmp_path / "file" / "x.json")


# --- progress bar -----------------------------------------------------------------------------


class _Terminal:
    """A stand-in stderr that claims to be a terminal and keeps what is written."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None: ...


def test_progress_bar_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    repeat(TINY, trials=2, data=DATA, seed=0)
    assert "epoch" in terminal.text  # tqdm drew a bar counting epochs
    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    repeat(TINY, trials=2, data=DATA, seed=0, quiet=True)
    assert quiet.text == ""


# --- interrupted trials, undefined statistics, absurd counts -----------------------------------


def test_files_without_the_interrupted_field_load_as_not_interrupted(records):
    """Records saved before ``interrupted`` existed: no key in JSON, no column in CSV."""
    payload = json.loads(records_to_json(records))
    for row in payload["records"]:
        del row["interrupted"]
    from_json = records_from_json(json.dumps(payload))
    rows = list(csv.DictReader(io.StringIO(records_to_csv(records))))
    text = io.StringIO()
    writer = csv.DictWriter(text, [k for k in rows[0] if k != "interrupted"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: v for k, v in row.items() if k != "interrupted"} for row in rows)
    old_csv = text.getvalue()
    assert "interrupted" not in old_csv
    for back in (from_json, records_from_csv(old_csv)):
        assert [r.interrupted for r in back] == [False] * len(records)
        # NaN where a trial left one (a member at lr=1e200, a few seeds in a thousand)
        np.testing.assert_array_equal([r.test_loss for r in back], [r.test_loss for r in records])
    assert records[-1].interrupted  # and a record that has it keeps it (round trip above)


def test_summarize_counts_interrupted_trials_apart_and_never_averages_them():
    records = [
        _record(0, 0, 0.9),
        _record(0, 1, 0.7),
        dataclasses.replace(_record(0, 2, 0.1), interrupted=True),
        dataclasses.replace(_record(1, 0, 0.5), interrupted=True),
    ]
    first, second = summarize(records)
    assert (first["trials"], first["n"], first["interrupted"], first["diverged"]) == (3, 2, 1, 0)
    assert first["mean"] == pytest.approx(0.8, abs=1e-15)
    assert (second["n"], second["interrupted"]) == (0, 1) and math.isnan(second["mean"])
    text = format_summary([first, second])
    assert "interrupted" in text.splitlines()[1]  # its own column, when there is one
    assert "interrupted" not in format_summary(summarize(records[:2]))


def test_undefined_statistics_read_n_a_never_nan():
    one = summarize([_record(0, 0, 0.9)])  # one trial: no spread
    gone = summarize([_record(0, 0, 0.9, diverged=True), _record(0, 1, 0.8, diverged=True)])
    for rows in (one, gone):
        text = format_summary(rows)
        assert "nan" not in text.lower().replace("n/a", "")
        assert "n/a" in text and "n/a: undefined" in text
    assert "0.9" in format_summary(one)  # the mean of one trial is defined
    assert "n/a" not in format_summary(summarize([_record(0, 0, 0.9), _record(0, 1, 0.8)]))
    assert json.loads(records_to_json([_record(0, 0, 0.9)]))["summary"][0]["std"] is None


def test_absurd_counts_are_refused_before_anything_is_built(monkeypatch):
    def no_building(*args, **kwargs):
        raise AssertionError("a seed or a configuration was built before the count was checked")

    monkeypatch.setattr("nnscratch.experiments.runner.child", no_building)
    monkeypatch.setattr("nnscratch.experiments.runner.expand_grid", no_building)
    with pytest.raises(ValueError, match=r"^trials: .*at most 1000000 .* = 1000000000$"):
        repeat(TINY, trials=10**9, data=DATA)
    grid = {"hidden": range(1, 10**6), "lr": [0.1, 0.2]}  # ranges are counted, not walked
    with pytest.raises(ValueError, match="got 1999998 configurations x 3 trials = 5999994$"):
        sweep(grid, trials=3, base=TINY, data=DATA)
    assert grid_size(grid) == 2 * (10**6 - 1)
    assert check_trial_count(1000, 1000) == MAX_TRIALS
    with pytest.raises(ValueError, match="^hidden: expected at most 1000 hidden layers, got 1001$"):
        Config(hidden=range(1, 1002))
