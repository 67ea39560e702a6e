"""Models that leave the process from the command line: ``train --save``, ``predict``,
``inspect`` and ``export``, run in-process through ``main([...])``."""

from __future__ import annotations

import csv
import io
import json
import os
import signal

import numpy as np
import pytest

from nnscratch.cli import main
from nnscratch.core.callback import Callback
from nnscratch.core.network import MLP
from nnscratch.data import load_moons
from nnscratch.io.model import load, read_header

FAST = ["--epochs", "2", "--hidden", "5", "--batch-size", "64", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One network and one population of three, trained and saved by ``train --save``."""
    folder = tmp_path_factory.mktemp("models")
    one, three = folder / "one.npz", folder / "three.npz"
    assert main(["train", *FAST, "--save", str(one)]) == 0
    assert main(["train", *FAST, "--population", "3", "--seed", "5", "--save", str(three)]) == 0
    return one, three


def test_train_save_writes_a_model_with_its_training(saved):
    header = read_header(saved[0])
    assert header["classes"] == [0, 1]
    assert header["training"]["data"] == "moons" and header["training"]["seed"] == 0
    assert header["training"]["config"]["hidden"] == [5]
    assert header["history"]["epochs"] == 2 and header["history"]["interrupted"] is False
    assert set(header["history"]["last"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert isinstance(load(saved[0]), MLP)


def test_predict_writes_one_row_per_test_row_with_the_models_probabilities(capsys, saved):
    code, out, err = run(capsys, "predict", saved[0])
    assert code == 0, err
    table = rows(out)
    _, X_test, _, _ = load_moons()
    assert table[0] == ["prediction", "proba_0", "proba_1"]
    assert len(table) == 1 + len(X_test)
    proba = load(saved[0]).predict_proba(X_test)
    got = np.array([[float(c) for c in row[1:]] for row in table[1:]])
    np.testing.assert_array_equal(got, proba)  # repr floats read back bit for bit
    assert [int(row[0]) for row in table[1:]] == proba.argmax(axis=1).tolist()


def test_predict_output_file_equals_stdout_and_train_split_has_its_rows(capsys, saved, tmp_path):
    out_file = tmp_path / "preds.csv"
    code, _, err = run(capsys, "predict", saved[0], "moons", "--output", out_file)
    assert code == 0 and "1250 rows of moons test" in err
    assert out_file.read_text() == run(capsys, "predict", saved[0])[1]
    train_rows = rows(run(capsys, "predict", saved[0], "--split", "train")[1])
    assert len(train_rows) == 1 + 3750


def test_a_population_predicts_through_one_member_or_the_mean(capsys, saved):
    code, _, err = run(capsys, "predict", saved[1])
    assert code == 2
    assert err.startswith("nnscratch predict: error: member: expected a member (0..2)")
    _, X_test, _, _ = load_moons()
    pop = load(saved[1])
    member = rows(run(capsys, "predict", saved[1], "--member", 2)[1])[1:]
    got = np.array([[float(c) for c in row[1:]] for row in member])
    np.testing.assert_array_equal(got, pop.member(2).predict_proba(X_test))
    mean = rows(run(capsys, "predict", saved[1], "--mean")[1])[1:]
    got = np.array([[float(c) for c in row[1:]] for row in mean])
    np.testing.assert_allclose(got, pop.predict_proba(X_test).mean(axis=0), rtol=0, atol=1e-15)
    assert run(capsys, "predict", saved[1], "--member", 3)[0] == 2
    assert run(capsys, "predict", saved[1], "--member", 0, "--mean")[0] == 2


def test_predict_refuses_data_of_another_width_and_files_that_are_not_models(
    capsys, saved, tmp_path
):
    code, _, err = run(capsys, "predict", saved[0], "digits")
    assert code == 2
    assert err == (
        "nnscratch predict: error: DATA: expected a data set with 2 features (the model's "
        "inputs), got 'digits' with 64\n"
    )
    assert run(capsys, "predict", tmp_path / "missing.npz")[0] == 2
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    code, out, err = run(capsys, "predict", junk)
    assert code == 2 and out == "" and err.count("\n") == 1
    bad_suffix = run(capsys, "predict", saved[0], "--output", tmp_path / "p.txt")
    assert bad_suffix[0] == 2 and "--output" in bad_suffix[2]


def test_predict_refuses_a_tampered_model(capsys, saved, tmp_path):
    net = load(saved[0])
    state = {k: np.array(v) for k, v in net.population_state.items()}
    tampered = tmp_path / "tampered.npz"
    header = np.load(saved[0], allow_pickle=False)["__header__"]
    state["W1"][0, 0, 0] += 1.0  # the weights change, the header's checksum does not
    np.savez(tampered, __header__=header, **state)
    code, out, err = run(capsys, "predict", tampered)
    assert code == 2 and out == ""
    assert "SHA-256" in err and "W1" in err


def test_inspect_prints_the_header_readably_and_as_json(capsys, saved):
    code, out, err = run(capsys, "inspect", saved[1])
    assert code == 0, err
    assert "every array matches its SHA-256" in out
    assert "network      2-5-2, relu hidden, cross_entropy output, float64" in out
    assert "population   3 members" in out
    assert "classes      0, 1" in out
    assert "training     data moons, seed 5, epochs 2, optimizer sgd, lr 0.1, batch size 64" in out
    assert "history      2 epochs; last: " in out
    code, out, _ = run(capsys, "inspect", saved[1], "--json")
    assert code == 0 and json.loads(out) == read_header(saved[1])


def test_train_save_is_checked_before_training(capsys, tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although --save was refused")

    monkeypatch.setattr(MLP, "fit", no_training)
    code, _, err = run(capsys, "train", *FAST, "--save", tmp_path / "model.pkl")
    assert code == 2 and "--save: expected a file name ending in .npz" in err
    code, _, err = run(capsys, "train", *FAST, "--save", tmp_path / "no" / "dir" / "m.npz")
    assert code == 2 and "--save" in err


class CtrlCInEpoch(Callback):
    """A real SIGINT in the second epoch's first batch."""

    def on_batch_end(self, run, batch, logs) -> None:
        if run.epoch == 1 and batch == 0:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_training_still_saves_the_model(capsys, tmp_path, monkeypatch):
    fit = MLP.fit

    def fit_with_ctrl_c(self, X, y, **kwargs):
        callbacks = [*kwargs.pop("callbacks", ()), CtrlCInEpoch()]
        return fit(self, X, y, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(MLP, "fit", fit_with_ctrl_c)
    path = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", *FAST, "--epochs", "5", "--save", path)
    assert code == 130 and "interrupted after 1 of 5 epochs" in err
    header = read_header(path)
    assert header["history"] == {**header["history"], "epochs": 1, "interrupted": True}
    assert isinstance(load(path), MLP)


def test_export_without_a_model_file_is_bad_input(capsys, tmp_path):
    code, _, err = run(capsys, "export", tmp_path / "none.npz", tmp_path / "m.onnx")
    assert code == 2 and "MODEL" in err


def _with_header(src, dst, change):
    """``src`` with its header changed by ``change(header)``, arrays as they are."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays.pop("__header__").tobytes())
    change(header)
    text = json.dumps(header).encode()
    np.savez(dst, __header__=np.frombuffer(text, dtype=np.uint8), **arrays)
    return dst


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: h.update(history="x"), "expected history a summary"),
        (lambda h: h.update(training=5), "expected training an object"),
        (lambda h: h.update(classes=["a", "a"]), "expected classes a list of distinct labels"),
        (lambda h: h.update(classes=[{"x": 1}, [2]]), "expected classes a list of distinct"),
        (lambda h: h.update(kind="nope"), "expected kind 'network' or 'estimator'"),
        (lambda h: h.update(format_version="1"), "expected an integer format version"),
        (lambda h: h["network"].update(sizes=[2, 50_000_000, 2]), "250,000,002 weights"),
        (lambda h: h["network"].update(population=10**12), "x 1000000000000 member"),
    ],
)
def test_a_header_edited_by_hand_is_one_line_and_exit_2(capsys, saved, tmp_path, change, message):
    bad = _with_header(saved[0], tmp_path / "bad.npz", change)
    for command in (["inspect", bad], ["predict", bad], ["export", bad, tmp_path / "o.onnx"]):
        code, out, err = run(capsys, *command)
        assert code == 2 and out == "" and err.count("\n") == 1, (command, err)
        assert message in err
    assert not (tmp_path / "o.onnx").exists()


def test_predictions_that_overflow_are_a_failure_not_nan_rows(capsys, saved, tmp_path):
    net = load(saved[0])
    net.population_state["W1"][...] = 1e308  # finite, but every row overflows
    from nnscratch.io.model import save

    huge = tmp_path / "huge.npz"
    save(net, huge, classes=[0, 1], training={"data": "moons"})
    code, out, err = run(capsys, "predict", huge, "--output", tmp_path / "p.csv")
    assert code == 1 and err.count("\n") == 1 and "not finite" in err
    assert not (tmp_path / "p.csv").exists()


def test_cli_refusals_before_any_work(capsys, saved, tmp_path):
    code, _, err = run(capsys, "export", saved[1], tmp_path / "o.onnx")
    assert code == 2 and "--member: expected a member (0..2) to export" in err
    code, _, err = run(capsys, "experiment", "--trials", "2", *FAST, "--n-jobs", "2")
    assert code == 2 and "--n-jobs: expected --backend processes or dask" in err
    code, _, err = run(capsys, "train", "--hidden", "100000000", "--batch-size", "10000")
    assert code == 2 and err.startswith("nnscratch train: error: --hidden: expected sizes that")
    code, _, err = run(capsys, "predict", saved[0], "--member", "1")
    assert code == 2 and "expected none or 0" in err
