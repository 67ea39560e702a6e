"""Your own data from the command line: ``--data FILE`` to train, experiment and sweep on,
its preprocessing saved with the model and applied again by ``predict``."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from nnscratch.cli import main
from nnscratch.core.network import MLP
from nnscratch.data import make_moons
from nnscratch.io.model import read_header

FAST = ["--epochs", "3", "--hidden", "8", "--batch-size", "32", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path, X, labels, names=("width", "height"), target="kind", order=None):
    columns = [*names, target]
    order = order or columns
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(order)
        for row, label in zip(X.tolist(), labels, strict=True):
            values = dict(zip(columns, [*row, label], strict=True))
            w.writerow([values[c] for c in order])


@pytest.fixture(scope="module")
def moons_csv(tmp_path_factory):
    """Moons scaled far from the unit square, with string labels: a spreadsheet's export."""
    folder = tmp_path_factory.mktemp("data")
    X, y = make_moons(400, noise=0.1, seed=1)
    X = X * [100.0, 0.01] + [5000.0, -3.0]  # standardisation matters here
    labels = np.array(["round", "sharp"])[y]
    path = folder / "shapes.csv"
    write_csv(path, X, labels)
    return path, X, labels


def test_train_on_a_csv_saves_its_preprocessing_and_string_labels(capsys, moons_csv, tmp_path):
    path, X, labels = moons_csv
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--data", path, *FAST, "--save", model)
    assert code == 0, err
    header = read_header(model)
    assert header["classes"] == ["round", "sharp"]
    assert header["target"] == "kind" and header["training"]["data"] == str(path)
    pre = header["preprocessing"]
    assert pre["features"] == ["width", "height"] and pre["standardize"] is True


def test_predict_on_raw_rows_columns_reordered_and_no_target(capsys, moons_csv, tmp_path):
    path, X, labels = moons_csv
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--data", path, *FAST, "--save", model)[0] == 0
    new = tmp_path / "new.csv"
    with open(new, "w", newline="") as fh:  # no label column; height before width
        w = csv.writer(fh)
        w.writerow(["height", "width"])
        w.writerows([[b, a] for a, b in X[:50].tolist()])
    code, out, err = run(capsys, "predict", model, new)
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["prediction", "proba_round", "proba_sharp"] and len(table) == 51
    # the same rows, with their labels, in the training file's order: the same predictions
    same = tmp_path / "same.csv"
    write_csv(same, X[:50], labels[:50])
    again = list(csv.reader(io.StringIO(run(capsys, "predict", model, same)[1])))
    assert again == table
    assert {row[0] for row in table[1:]} <= {"round", "sharp"}
    accuracy = np.mean([row[0] == label for row, label in zip(table[1:], labels[:50], strict=True)])
    assert accuracy > 0.7  # standardised: the scaled-up moons are learnable in 3 epochs


def test_predict_refuses_other_columns(capsys, moons_csv, tmp_path):
    path, X, labels = moons_csv
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--data", path, *FAST, "--save", model)[0] == 0
    other = tmp_path / "other.csv"
    write_csv(other, X[:5], labels[:5], names=("width", "depth"))
    code, out, err = run(capsys, "predict", model, other)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "expected the model's feature columns width, height" in err
    assert "missing height; unknown depth" in err


def test_a_bad_file_is_one_line_and_nothing_is_trained(capsys, tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained on a file that failed to read")

    monkeypatch.setattr(MLP, "fit", no_training)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    code, out, err = run(capsys, "train", "--data", bad, *FAST)
    assert code == 2 and err.count("\n") == 1
    assert "bad.csv, line 3, column 2 ('b'): expected a number, got 'oops'" in err
    code, _, err = run(capsys, "train", "--data", tmp_path / "none.csv", *FAST)
    assert code == 2 and "(no such file)" in err
    code, _, err = run(capsys, "train", "--data", "moons", "--target", "y", *FAST)
    assert code == 2 and "target: expected none for the built-in data set 'moons'" in err
    one = tmp_path / "one.csv"
    one.write_text("a,b,label\n1,2,x\n3,4,x\n")
    code, _, err = run(capsys, "experiment", "--data", one, "--trials", "2", *FAST)
    assert code == 2 and err.count("\n") == 1


def test_experiment_and_sweep_on_a_file_with_a_test_file(capsys, moons_csv, tmp_path):
    path, X, labels = moons_csv
    held = tmp_path / "held.csv"
    write_csv(held, X[:40] + 1.0, labels[:40], order=["kind", "height", "width"])
    argv = ["--data", path, "--test", held, "--trials", "2", *FAST, "--json"]
    code, out, err = run(capsys, "experiment", *argv)
    assert code == 0, err
    assert len(json.loads(out)["records"]) == 2
    sweep = ["sweep", "--hidden", "4,8", "--data", path, "--test", held, "--trials", "2"]
    code, out, err = run(capsys, *sweep, "--epochs", "1", "--quiet", "--json")
    assert code == 0, err
    assert len(json.loads(out)["records"]) == 4


def test_built_in_sets_stay_raw_unless_asked(capsys, tmp_path):
    raw, scaled = tmp_path / "raw.npz", tmp_path / "scaled.npz"
    assert run(capsys, "train", *FAST, "--save", raw)[0] == 0
    assert read_header(raw)["preprocessing"] is None
    assert run(capsys, "train", *FAST, "--standardize", "--save", scaled)[0] == 0
    assert read_header(scaled)["preprocessing"]["features"] == ["x1", "x2"]
    code, out, err = run(capsys, "predict", scaled)  # moons' test split, standardised again
    assert code == 0, err and len(out.splitlines()) == 1251


def test_onnx_export_of_a_file_model_takes_raw_rows(capsys, moons_csv, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path, X, labels = moons_csv
    model, graph = tmp_path / "m.npz", tmp_path / "m.onnx"
    code, _, err = run(capsys, "train", "--data", path, "--crosses", *FAST, "--save", model)
    assert code == 0, err
    assert read_header(model)["preprocessing"]["crosses"] is True
    assert run(capsys, "export", model, graph)[0] == 0
    rows = tmp_path / "rows.csv"
    write_csv(rows, X[:30], labels[:30])
    table = list(csv.reader(io.StringIO(run(capsys, "predict", model, rows)[1])))[1:]
    expected = np.array([[float(c) for c in row[1:]] for row in table])
    session = ort.InferenceSession(str(graph))
    props = session.get_modelmeta().custom_metadata_map
    assert props["feature_names"] == "width,height"
    (got,) = session.run(["probabilities"], {"X": X[:30]})  # raw rows, the model's order
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_train_on_mnist_style_idx_files_and_predict_their_test_files(capsys, tmp_path):
    from tests.test_data_readers import write_idx

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    images = rng.integers(0, 60, size=(300, 6, 6))  # noise, and a bright row per class
    for k in range(3):
        images[labels == k, 2 * k, :] = 250
    train = write_idx(tmp_path, images[:240], labels[:240], gz=True)
    test = write_idx(tmp_path, images[240:], labels[240:], gz=True, prefix="t10k")
    model = tmp_path / "idx.npz"
    argv = ["train", "--data", train, "--test", test, "--hidden", "16", "--epochs", "5"]
    code, out, err = run(capsys, *argv, "--batch-size", "16", "--quiet", "--json", "--save", model)
    assert code == 0, err
    assert json.loads(out)["test_accuracy"] == 1.0  # the bright rows give the class away
    header = read_header(model)
    assert header["classes"] == [0, 1, 2] and header["network"]["sizes"] == [36, 16, 3]
    table = list(csv.reader(io.StringIO(run(capsys, "predict", model, test)[1])))
    assert [int(row[0]) for row in table[1:]] == labels[240:].tolist()


def test_train_a_regressor_on_a_numeric_target_and_predict_values(capsys, tmp_path):
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = 3.0 * X[:, 0] - X[:, 1] + 0.05 * rng.standard_normal(300)
    path = tmp_path / "plane.csv"
    write_csv(path, X, y.round(6).tolist(), names=("a", "b"), target="z")
    model = tmp_path / "r.npz"
    argv = ["train", "--data", path, "--hidden", "16", "--epochs", "30", "--lr", "0.01"]
    code, out, err = run(capsys, *argv, "--quiet", "--json", "--save", model)
    assert code == 0, err
    result = json.loads(out)
    assert result["test_r2"] > 0.95 and "test_accuracy" not in result
    header = read_header(model)
    assert header["network"]["loss"] == "mse" and "classes" not in header
    rows = tmp_path / "rows.csv"
    write_csv(rows, X[:20], y[:20].tolist(), names=("a", "b"), target="z")
    table = list(csv.reader(io.StringIO(run(capsys, "predict", model, rows)[1])))
    assert table[0] == ["prediction"] and len(table) == 21
    got = np.array([float(row[0]) for row in table[1:]])
    assert np.corrcoef(got, y[:20])[0, 1] > 0.97
    code, _, err = run(capsys, "experiment", "--data", path, "--trials", "2", *FAST)
    assert code == 2 and "expected class labels for experiment" in err
    code, _, err = run(capsys, "train", "--data", path, *FAST, "--plot", tmp_path / "p.png")
    assert code == 2 and "--plot: expected a classifier" in err


def test_missing_cells_are_refused_or_their_rows_dropped(capsys, tmp_path):
    path = tmp_path / "gaps.csv"
    X, y = make_moons(200, noise=0.1, seed=2)
    write_csv(path, X, y.tolist())
    lines = path.read_text().splitlines()
    lines[5] = "," + lines[5].split(",", 1)[1]  # an empty first cell on line 6
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "train", "--data", path, *FAST)
    assert code == 2 and "line 6, column 1" in err
    code, out, err = run(capsys, "train", "--data", path, "--missing", "drop", *FAST)
    assert code == 0, err
