"""Readers: CSV/TSV, .npz and IDX files the tests write themselves, and every bad input
named by file, line and column."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnscratch.data import Preprocessor, csvfile, prepare, read


def write(path, text: str, encoding: str = "utf-8"):
    path.write_text(text, encoding=encoding)
    return path


# --- CSV -------------------------------------------------------------------------------


def test_csv_with_string_labels(tmp_path):
    t = read(write(tmp_path / "d.csv", "a,b,label\n1,2,dog\n3,4.5,cat\n-5e-1,6,dog\n"))
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4.5], [-0.5, 6]])
    assert t.X.dtype == np.float64 and t.y.dtype == np.intp
    assert t.classes == ("cat", "dog") and t.y.tolist() == [1, 0, 1]
    assert (t.feature_names, t.target, t.task) == (("a", "b"), "label", "classification")
    assert t.decode(t.y).tolist() == ["dog", "cat", "dog"]


def test_csv_target_by_name_integer_labels_and_regression(tmp_path):
    path = write(tmp_path / "d.csv", "x,k,z\n0.5,3,1.25\n1.5,1,2.5\n2.5,3,-1\n")
    t = read(path, target="k")
    assert t.feature_names == ("x", "z") and t.classes == (1, 3) and t.y.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(t.X, [[0.5, 1.25], [1.5, 2.5], [2.5, -1]])
    r = read(path)  # the last column: numbers with a point, so regression
    assert r.task == "regression" and r.classes is None and r.y.tolist() == [1.25, 2.5, -1.0]
    forced = read(path, target="k", task="regression")
    assert forced.y.dtype == np.float64 and forced.y.tolist() == [3.0, 1.0, 3.0]
    as_classes = read(write(tmp_path / "f.csv", "x,y\n1,1.0\n2,2.0\n3,1\n"), task="classification")
    assert as_classes.classes == (1, 2) and as_classes.y.tolist() == [0, 1, 0]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    rows = [["a", "b", "y"], ["1", "2", "u"], ["3", "4", "v"], ["5", "6", "u"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    t = read(write(tmp_path / "d.txt", text))
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4], [5, 6]])
    assert t.feature_names == ("a", "b")


def test_quotes_bom_blank_lines_and_crlf(tmp_path):
    text = '\ufeff"a","b c","y"\r\n"1","2","x, y"\r\n\r\n3,4,z\r\n'
    t = read(write(tmp_path / "d.csv", text))
    assert t.feature_names == ("a", "b c") and t.classes == ("x, y", "z")
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4]])


def test_missing_drop(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,p\n,4,q\n5,NaN,p\n7,8,\n9,10,q\n")
    t = read(path, missing="drop")
    np.testing.assert_array_equal(t.X, [[1, 2], [9, 10]])
    assert t.n_dropped == 3 and t.y.tolist() == [0, 1]


def test_chunks_give_the_same_table_and_lines(tmp_path, monkeypatch):
    rows = "\n".join(f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(20))
    path = write(tmp_path / "d.csv", "a,b,y\n" + rows + "\n")
    whole = read(path)
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 3)
    chunked = read(path)
    assert chunked.X.tobytes() == whole.X.tobytes() and chunked.y.tolist() == whole.y.tolist()
    bad = write(tmp_path / "e.csv", "a,b,y\n" + rows + "\n1,oops,a\n")
    with pytest.raises(ValueError, match=r"e\.csv, line 22, column 2 \('b'\): .* got 'oops'"):
        read(bad)


label = st.from_regex(r"[a-z][a-z ]{0,5}[a-z]", fullmatch=True).filter(
    lambda s: s not in csvfile.MISSING
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(1, 4).flatmap(
        lambda d: st.lists(
            st.tuples(
                st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=d, max_size=d),
                label,
            ),
            min_size=2,
            max_size=12,
        )
    ),
    st.sampled_from([",", "\t", ";"]),
)
def test_csv_round_trip_bit_for_bit(tmp_path, rows, delimiter):
    labels = [lab for _, lab in rows]
    if len(set(labels)) < 2:
        return
    path = tmp_path / "round.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([f"f{j}" for j in range(len(rows[0][0]))] + ["target"])
        for values, lab in rows:
            w.writerow([repr(v) for v in values] + [lab])
    t = read(path, delimiter=delimiter)
    assert t.X.tobytes() == np.array([v for v, _ in rows]).tobytes()
    assert t.decode(t.y).tolist() == labels and t.classes == tuple(sorted(set(labels)))
    assert read(path, target="target", delimiter=delimiter).X.tobytes() == t.X.tobytes()


# --- CSV: bad input --------------------------------------------------------------------

BAD_CSV = [  # (content, message pattern after the file name)
    ("", r": expected a header row and data rows, got an empty file"),
    ("a,b,y\n", r": expected data rows after the header, got none"),
    ("a,b,y\n1,2,p\n3,4\n", r", line 3: expected 3 fields, as in the header, got 2"),
    ("a,b,y\n1,2,p\n3,4,5,q\n", r", line 3: expected 3 fields, as in the header, got 4"),
    ("a,b,y\n1,2,p\n3,x4,q\n", r", line 3, column 2 \('b'\): expected a number, got 'x4'"),
    ("a,b,y\n1,2,p\n,4,q\n", r", line 3, column 1 \('a'\): expected a number, got an empty cell"),
    ("a,b,y\n1,NaN,p\n3,4,q\n", r", line 2, column 2 \('b'\): expected a number, got the missing"),
    ("a,b,y\n1,2,p\n3,inf,q\n", r", line 3, column 2 \('b'\): expected a finite number, got 'inf'"),
    ("a,b,y\n1,2,p\n3,4,\n", r", line 3, column 3 \('y'\): expected a target value, got an empty"),
    (
        "a,b,y\n1,2,p\n3,4,p\n",
        r", column 3 \('y'\): expected at least 2 classes, got only one class, 'p'",
    ),
    ("1,2,3\n4,5,6\n", r", line 1: expected a header row of column names, got numbers"),
    ("a,,y\n1,2,3\n", r", line 1, column 2: expected a column name, got none"),
    ("a,a,y\n1,2,3\n", r", line 1, column 2: expected distinct column names, got 'a' twice"),
    ("only\n1\n2\n", r", line 1: expected at least 2 columns \(features and a target\)"),
    ("a,b,y\n1,2,0.5\n3,4,x\n", r", line 3, column 3 \('y'\): expected a number \(task="),
]


@pytest.mark.parametrize(("content", "message"), BAD_CSV)
def test_bad_csv_is_named_by_file_line_and_column(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    task = "regression" if "task=" in message else "auto"
    with pytest.raises(ValueError, match=re.escape(str(path)) + message):
        read(path, task=task)


def test_missing_file_target_and_policies(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.csv: expected an existing data file, got no such"):
        read(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="got a directory"):
        read(tmp_path)
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,p\n3,4,q\n")
    with pytest.raises(
        ValueError, match=r"d\.csv, line 1: expected a target column named 'z', got"
    ):
        read(path, target="z")
    with pytest.raises(ValueError, match="missing: expected one of error, drop"):
        read(path, missing="fill")
    with pytest.raises(ValueError, match="task: expected one of auto, classification"):
        read(path, task="clustering")
    with pytest.raises(ValueError, match="delimiter: expected one character"):
        read(path, delimiter=",,")


def test_binary_bytes_are_refused(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"a,b,y\n1,2,p\n\x00\x01\x02\xff")
    with pytest.raises(ValueError, match=r"b\.csv: expected a text file \(CSV\), got binary bytes"):
        read(path)
    path.write_bytes(b"a,b,y\n1,2,p\n3,\xff\xfe,q\n")
    with pytest.raises(
        ValueError, match=r"b\.csv, line 3: expected UTF-8 text \(CSV\), got the byte 0xff"
    ):
        read(path)
    late = b"a,b,y\n" + b"1,2,p\n" * 20000 + b"3,\xff,q\n"  # past the sniffed sample
    path.write_bytes(late)
    with pytest.raises(ValueError, match=r"b\.csv, line 20002: expected UTF-8 text"):
        read(path)


# --- NPZ -------------------------------------------------------------------------------


def test_npz(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([2, 0, 2, 5]))
    t = read(tmp_path / "d.npz")
    assert t.X.tobytes() == X.tobytes() and t.classes == (0, 2, 5) and t.y.tolist() == [1, 0, 1, 2]
    assert t.feature_names == ("x1", "x2", "x3") and t.target == "y"
    np.savez(
        tmp_path / "r.npz", X=X, y=np.array([0.5, 1, 2, 3]), feature_names=np.array(["p", "q", "r"])
    )
    r = read(tmp_path / "r.npz")
    assert r.task == "regression" and r.feature_names == ("p", "q", "r") and r.y.dtype == np.float64
    np.savez(tmp_path / "s.npz", X=X, y=np.array(["b", "a", "b", "b"]))
    assert read(tmp_path / "s.npz").classes == ("a", "b")
    np.savez(tmp_path / "b.npz", X=X, y=np.array([b"u", b"v", b"u", b"u"]))
    assert read(tmp_path / "b.npz").classes == ("u", "v")  # str, as JSON keeps them
    np.savez(tmp_path / "t.npz", X=X, y=np.array([True, False, True, True]))
    t = read(tmp_path / "t.npz")
    assert t.classes == (0, 1) and type(t.classes[0]) is int
    assert Preprocessor().fit(t.X, classes=t.classes).to_header()["classes"] == [0, 1]
    X[1, 2] = np.nan
    np.savez(tmp_path / "n.npz", X=X, y=np.array([0, 1, 0, 1]))
    assert read(tmp_path / "n.npz", missing="drop").X.shape == (3, 3)
    with pytest.raises(ValueError, match=r"n\.npz, array 'X', row 1, column 2: expected a finite"):
        read(tmp_path / "n.npz")


def test_bad_npz_is_refused(tmp_path):
    X = np.ones((3, 2))
    y = np.array([0, 1, 0])
    cases = {
        "extra.npz": dict(X=X, y=y, w=y),
        "no_y.npz": dict(X=X),
        "flat.npz": dict(X=np.ones(3), y=y),
        "short.npz": dict(X=X, y=y[:2]),
        "pickle.npz": dict(X=X, y=np.array([{}, 1, "a"], dtype=object)),
    }
    messages = {
        "extra.npz": r"X and y \(and optionally feature_names\), got 'X', 'w', 'y'",
        "no_y.npz": r"expected the arrays X and y",
        "flat.npz": r"array 'X': expected a 2-D array of numbers \(N, D\), got shape \(3,\)",
        "short.npz": r"array 'y': expected 3 numbers or labels",
        "pickle.npz": r"array 'y': expected numbers or strings, got an array that needs pickle",
    }
    for name, arrays in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=re.escape(name) + ".*" + messages[name]):
            read(tmp_path / name)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"junk\.npz: expected an \.npz file of arrays X and y"):
        read(tmp_path / "junk.npz")
    np.savez(tmp_path / "ok.npz", X=X, y=y)
    with pytest.raises(ValueError, match="target: expected None or 'y' for a .npz file"):
        read(tmp_path / "ok.npz", target="label")


# --- IDX -------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray, magic: bytes | None = None, dims=None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    dims = arr.shape if dims is None else dims
    magic = bytes([0, 0, 8, len(dims)]) if magic is None else magic
    return magic + b"".join(int(d).to_bytes(4, "big") for d in dims) + arr.tobytes()


def write_idx(folder, images, labels, gz=False, prefix="train"):
    suffix = ".gz" if gz else ""
    pack = gzip.compress if gz else bytes
    (folder / f"{prefix}-images-idx3-ubyte{suffix}").write_bytes(pack(idx_bytes(images)))
    (folder / f"{prefix}-labels-idx1-ubyte{suffix}").write_bytes(pack(idx_bytes(labels)))
    return folder / f"{prefix}-images-idx3-ubyte{suffix}"


IMAGES = np.arange(5 * 2 * 3).reshape(5, 2, 3) * 8  # (5, 2, 3): values 0..232
LABELS = np.array([3, 0, 1, 3, 9])


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_labels(tmp_path, gz):
    path = write_idx(tmp_path, IMAGES, LABELS, gz)
    t = read(path)
    assert t.X.shape == (5, 6) and t.X.dtype == np.float64
    np.testing.assert_array_equal(t.X, IMAGES.reshape(5, 6) / 255.0)
    assert t.classes == (0, 1, 3, 9) and t.decode(t.y).tolist() == LABELS.tolist()
    assert t.feature_names[:2] == ("pixel0", "pixel1") and t.target == "label"
    by_labels = read(tmp_path / ("train-labels-idx1-ubyte" + (".gz" if gz else "")))
    assert by_labels.X.tobytes() == t.X.tobytes()


def test_bad_idx_is_refused(tmp_path):
    images = tmp_path / "t-images-idx3-ubyte"
    labels = tmp_path / "t-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(LABELS))
    cases = [
        (
            idx_bytes(IMAGES, magic=b"\x00\x00\x08\x01"),
            r"byte 0: expected the IDX magic number 0x00000803",
        ),
        (idx_bytes(IMAGES, magic=b"\x00\x00\x0d\x03"), r"byte 0: expected the IDX magic number"),
        (
            idx_bytes(IMAGES)[:-4],
            r"byte 16: expected 30 bytes of values \(5 x 2 x 3\) .* got 26 \(truncated\)",
        ),
        (idx_bytes(IMAGES) + b"\x00", r"got 31 \(with extra bytes\)"),
        (idx_bytes(IMAGES)[:10], r"byte 4: expected 3 sizes of 4 bytes"),
        (idx_bytes(IMAGES, dims=(5, 0, 3)), r"byte 4: expected sizes >= 1"),
        (gzip.compress(idx_bytes(IMAGES))[:-6], r"expected a complete gzip file"),
    ]
    for content, message in cases:
        images.write_bytes(content)
        with pytest.raises(ValueError, match=re.escape(str(images)) + ".*" + message):
            read(images)
    images.write_bytes(idx_bytes(IMAGES))
    labels.write_bytes(idx_bytes(LABELS[:4]))
    with pytest.raises(
        ValueError, match=r"labels-idx1-ubyte, byte 4: expected as many labels as .* \(5\), got 4"
    ):
        read(images)
    labels.write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(ValueError, match="expected at least 2 classes, got only one class, 0$"):
        read(images)
    labels.write_bytes(idx_bytes(np.full(5, 3)))
    with pytest.raises(ValueError, match="expected at least 2 classes, got only one class, 3$"):
        read(images)
    labels.unlink()
    with pytest.raises(
        ValueError, match=r"expected its partner file t-labels-idx1-ubyte\[\.gz\] beside it"
    ):
        read(images)
    with pytest.raises(ValueError, match="task: expected 'classification' or 'auto' for IDX"):
        read(images, task="regression")


def test_idx_sizes_are_multiplied_without_wrapping(tmp_path):
    for dims, product in [((2**22, 2**22, 2**20), 2**64), ((2**32 - 1,) * 3, (2**32 - 1) ** 3)]:
        images = tmp_path / "w-images-idx3-ubyte"
        images.write_bytes(idx_bytes(np.zeros(0), dims=dims))  # no values at all
        (tmp_path / "w-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(0), dims=dims[:1]))
        message = f"expected {product} bytes of values .* got 0 \\(truncated\\)"
        with pytest.raises(ValueError, match=re.escape(str(images)) + ", byte 16: " + message):
            read(images)


def test_idx_too_large_for_memory_is_refused_before_inflating(tmp_path, monkeypatch):
    # declares 2**20 images of 32 x 32 (1 GiB, 9 GiB with X in float64) but holds a few
    # bytes, and its gzip stream is cut short: inflating it would fail on the gzip
    header = idx_bytes(np.zeros(4096), dims=(2**20, 32, 32))
    images = tmp_path / "b-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(header)[:-12])
    labels = gzip.compress(idx_bytes(np.zeros(0), dims=(2**20,)))  # its length unknown too
    (tmp_path / "b-labels-idx1-ubyte.gz").write_bytes(labels)
    monkeypatch.setattr("nnscratch.core.checks.memory_bytes", lambda: 4 * 2**30)
    message = r": expected sizes that fit in memory \(4\.0 GiB here\), got 1048576 images of 32"
    with pytest.raises(ValueError, match=re.escape(str(images)) + message):
        read(images)
    # a process limited in address space (ulimit -v) is refused the same way
    monkeypatch.setattr("nnscratch.core.checks.memory_bytes", lambda: 0)
    monkeypatch.setattr("nnscratch.data.memory.address_space_limit", lambda: 6 * 2**30)
    with pytest.raises(ValueError, match=r"address-space limit \(6\.0 GiB\), got .* 9\.02 GiB"):
        read(images)


def test_gzip_is_inflated_no_further_than_the_header_declares(tmp_path):
    write_idx(tmp_path, IMAGES, LABELS)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(idx_bytes(IMAGES) + bytes(10**6)))  # 1 MB more
    with pytest.raises(ValueError, match=r"byte 16: .* got more than 30 \(with extra bytes\)"):
        read(images)
    images.write_bytes(gzip.compress(idx_bytes(IMAGES)[:-4]))
    with pytest.raises(ValueError, match=r"got 26 \(truncated\)"):
        read(images)


def test_a_lone_or_unpaired_idx_file_is_named_as_idx(tmp_path):
    pair = r": expected an IDX images/labels pair \(NAME-images-idx3-ubyte\[\.gz\] beside"
    cases = {
        "x.idx1-ubyte": idx_bytes(LABELS),  # an IDX name, no images/labels in it
        "x.idx3-ubyte.gz": gzip.compress(idx_bytes(IMAGES)),
        "magic.idx1-ubyte": b"\x00\x00\x00\x00" + bytes(8),  # a bad magic number
        "noext": idx_bytes(LABELS, magic=b"\x00\x00\x0d\x01"),  # an IDX magic number
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / name)) + pair):
            read(tmp_path / name)


def test_paths_that_are_not_paths_or_not_regular_files(tmp_path):
    for path in (None, 3, 2.5, ["a.csv"]):
        with pytest.raises(
            ValueError, match=r"^path: expected a file path \(str or os\.PathLike\)"
        ):
            read(path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(
            ValueError, match=r"^/dev/zero: .* got a character device, not a regular"
        ):
            read("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.csv")
        with pytest.raises(ValueError, match=r"pipe\.csv: .* got a pipe, not a regular file"):
            read(tmp_path / "pipe.csv")
    path = write(tmp_path / "b.csv", "a,y\n1,p\n2,q\n")
    assert read(os.fsencode(path)).classes == ("p", "q")


def test_one_class_is_named_as_one(tmp_path):
    for labels, got in [("0", "one class, 0"), ("a", "one class, 'a'")]:
        path = write(tmp_path / "one.csv", f"x,y\n1,{labels}\n2,{labels}\n")
        with pytest.raises(ValueError, match=f"expected at least 2 classes, got only {got}$"):
            read(path)


# --- from a file to a model's inputs ---------------------------------------------------


def test_read_prepare_and_predict_on_columns_in_another_order(tmp_path):
    rows = "\n".join(f"{i % 7},{i * 0.25},{'ny'[i % 2]}" for i in range(40))
    train = read(write(tmp_path / "train.csv", "a,b,buy\n" + rows + "\n"), target="buy")
    splits, pre = prepare(train, test=0.25, seed=1)
    assert splits.X_train.shape == (30, 2) and splits.X_test.shape == (10, 2)
    assert np.bincount(splits.y_test).tolist() == [5, 5]  # stratified
    np.testing.assert_array_equal(pre.mean_, train.X[splits.train_rows].mean(axis=0))
    header = json.loads(json.dumps(pre.to_header()))
    later = Preprocessor.from_header(header)
    new = read(write(tmp_path / "new.csv", "buy,b,a\ny,0.5,3\nn,1.5,6\n"), target="buy")
    assert new.feature_names == ("b", "a")
    np.testing.assert_array_equal(
        later.transform(new.X, new.feature_names),
        (np.array([[3, 0.5], [6, 1.5]]) - pre.mean_) / pre.scale_,
    )
    np.testing.assert_array_equal(later.encode(new.decode(new.y)), [1, 0])
    with pytest.raises(ValueError, match=r"missing \['a'\], unknown \['c'\]"):
        later.transform(new.X, ("b", "c"))
