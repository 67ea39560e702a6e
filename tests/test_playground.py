"""The playground's server: its JSON API on a free loopback port, bad requests refused in one
line with the last good state kept, nothing served outside its static folder, and an
exported model that ``nnscratch.io.model.load`` reads back to the same predictions."""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from nnscratch.io.model import load
from nnscratch.playground import make_server
from nnscratch.playground.settings import Settings
from nnscratch.playground.state import GRID, THUMBNAIL


@pytest.fixture(scope="module")
def server():
    srv = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(server, method, path, body=None, raw=False):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    data = None if body is None else (body if raw else json.dumps(body)).encode("utf-8")
    conn.request(method, path, body=data)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload, response


def api(server, method, path, body=None, raw=False):
    status, payload, _ = request(server, method, path, body, raw)
    return status, json.loads(payload)


def configure(server, **settings):
    status, frame = api(server, "POST", "/api/configure", settings)
    assert status == 200, frame
    return frame


def test_listens_on_loopback(server):
    assert server.server_address[0] == "127.0.0.1"


def test_other_host_names_refused(server):
    """DNS rebinding: a page served under another name that resolves to 127.0.0.1."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    conn.request("GET", "/api/frame", headers={"Host": "evil.example:8000"})
    response = conn.getresponse()
    assert response.status == 403
    assert (
        json.loads(response.read())["error"] == "host: expected a loopback name, got 'evil.example'"
    )
    conn.close()


def test_page_and_its_files_are_served(server):
    for path, kind in [("/", "text/html"), ("/app.js", "javascript"), ("/style.css", "text/css")]:
        status, body, response = request(server, "GET", path)
        assert status == 200 and kind in response.getheader("Content-Type")
        body = body.replace(b"http://www.w3.org/2000/svg", b"")  # a name, not an address
        assert b"http://" not in body and b"https://" not in body  # nothing from the internet


@pytest.mark.parametrize(
    "path",
    [
        "/../settings.py",
        "/../../../../etc/passwd",
        "/%2e%2e/settings.py",
        "/%2E%2E%2Fstate.py",
        "/static/../server.py",
        "/..%5cserver.py",
        "/nothing-here.html",
    ],
)
def test_nothing_outside_the_static_folder(server, path):
    status, body, _ = request(server, "GET", path)
    assert status == 404
    assert b"import" not in body and b"root:" not in body


def test_frame_shapes(server):
    frame = configure(server, dataset="xor", population=3, hidden="5,3", seed=1)
    assert frame["epoch"] == 0 and frame["population"] == 3
    assert frame["settings"]["hidden"] == "5,3"
    for maps in (frame["output"], [frame["disagreement"]]):
        assert all(len(base64.b64decode(m)) == GRID * GRID for m in maps)
    assert len(frame["output"]) == 2  # one map per class
    layers = frame["network"]["layers"]
    assert [len(layer) for layer in layers] == [2, 5, 3, 2]  # inputs, hidden, outputs
    assert [np.shape(w) for w in frame["network"]["weights"]] == [(2, 5), (5, 3), (3, 2)]
    n_train = len(frame["train"])
    assert n_train + len(frame["test"]) == 500 and n_train == 250
    assert "nns.MLP([2, 5, 3, 2]" in frame["snippet"]


def test_step_trains_and_the_curves_grow(server):
    configure(server, dataset="gauss", population=4, hidden="4", lr=0.1, seed=0)
    status, first = api(server, "POST", "/api/step", {"epochs": 1})
    assert status == 200 and first["epoch"] == 1
    status, later = api(server, "POST", "/api/step", {"epochs": 5})
    assert later["epoch"] == 6
    assert len(later["curves"]["train_loss"]) == 7  # epoch 0 and each epoch since
    mean, low, high, members = later["curves"]["test_score"][-1]
    assert low <= mean <= high and len(members) == 4
    assert later["curves"]["train_loss"][-1][0] < later["curves"]["train_loss"][0][0]
    assert later["output"] != first["output"]  # the boundary moved


def test_a_member_alone_and_the_disagreement(server):
    configure(server, dataset="circle", population=5, hidden="3", seed=2)
    api(server, "POST", "/api/step", {"epochs": 2})
    status, mean = api(server, "GET", "/api/frame")
    status, alone = api(server, "GET", "/api/frame?member=3")
    assert status == 200 and alone["member"] == 3 and mean["member"] is None
    assert alone["output"] != mean["output"]
    d = np.frombuffer(base64.b64decode(mean["disagreement"]), dtype=np.uint8)
    assert d.max() > 0  # five fresh networks disagree somewhere
    status, frame = api(server, "GET", "/api/frame?member=5")
    assert status == 400 and frame["error"].startswith("member: expected")


def test_a_link_starts_from_the_defaults(server):
    configure(server, dataset="xor", seed=5, lr=0.3)
    frame = configure(server, dataset="moons")
    assert frame["settings"]["seed"] == 5 and frame["settings"]["lr"] == 0.3  # kept
    frame = configure(server, dataset="moons", defaults=True)
    assert frame["settings"] == dict(Settings().as_query(), dataset="moons")
    status, answer = api(server, "POST", "/api/configure", {"defaults": "yes"})
    assert status == 400 and answer["error"].startswith("defaults: expected true or false")


def test_member_thumbnails(server):
    frame = configure(server, dataset="spiral", population=3, hidden="4")
    side = GRID // THUMBNAIL
    assert len(frame["members"]) == 3 and all(len(m) == 3 for m in frame["members"])  # K = 3
    assert all(len(base64.b64decode(x)) == side * side for m in frame["members"] for x in m)
    frame = configure(server, dataset="circle", population=2)
    assert [len(m) for m in frame["members"]] == [1, 1]  # class 1's probability alone


def test_same_settings_same_run(server):
    """The page's runs are seeded: the same settings train the same population."""
    settings = dict(dataset="moons", population=2, hidden="4,4", seed=7, lr=0.1)
    configure(server, **settings)
    _, a = api(server, "POST", "/api/step", {"epochs": 3})
    configure(server, **settings)
    _, b = api(server, "POST", "/api/step", {"epochs": 3})
    assert a["curves"] == b["curves"] and a["output"] == b["output"]


BAD = [
    ({"dataset": "mnist"}, "dataset: expected one of"),
    ({"hidden": "4,4,4,4,4,4,4,4,4"}, "hidden: expected at most 8 hidden layers"),
    ({"hidden": "4,0"}, "hidden width: expected a whole number from 1 to 64"),
    ({"hidden": "4,65"}, "hidden width: expected a whole number from 1 to 64"),
    ({"lr": "fast"}, "lr: expected a number"),
    ({"lr": "nan"}, "lr: expected a number"),
    ({"population": 65}, "population: expected a whole number from 1 to 64"),
    ({"population": 64, "hidden": "64,64,64,64"}, "population: expected at most"),
    ({"activation": "swish2"}, "activation: expected one of"),
    ({"activation": "tanh,swish2"}, "activation: expected one of"),
    ({"activation": "tanh,relu"}, "activation: expected one name, or one per hidden layer (1)"),
    ({"features": "x3"}, "features: expected one of"),
    ({"features": ""}, "features: expected one or more"),
    ({"noise": 2}, "noise: expected a number from 0 to 0.5"),
    ({"batch_size": 2.5}, "batch_size: expected a whole number"),
    ({"colour": "red"}, "settings: expected names among"),
]


@pytest.mark.parametrize(("settings", "message"), BAD)
def test_bad_settings_refused_and_the_state_kept(server, settings, message):
    good = configure(server, dataset="xor", hidden="3", population=2, seed=3)
    api(server, "POST", "/api/step", {"epochs": 2})
    status, answer = api(server, "POST", "/api/configure", settings)
    assert status == 400
    assert answer["error"].startswith(message), answer["error"]
    assert "\n" not in answer["error"]
    status, frame = api(server, "GET", "/api/frame")
    assert status == 200 and frame["settings"] == good["settings"] and frame["epoch"] == 2


def test_diverging_training_refused_and_undone(server):
    configure(server, dataset="plane", hidden="8,8", activation="relu", lr=10, population=2)
    status, answer = api(server, "POST", "/api/step", {"epochs": 20})
    expected = "lr: expected a learning rate at which training stays finite, got 10: the weights"
    assert status == 400 and answer["error"].startswith(expected)
    status, frame = api(server, "GET", "/api/frame")  # the last finite weights, still drawn
    assert status == 200 and frame["epoch"] < 20
    assert all(v is not None for v in frame["curves"]["train_loss"][-1][:3])


def test_broken_requests(server):
    status, body, _ = request(server, "POST", "/api/configure", "{not json", raw=True)
    assert (
        status == 400
        and json.loads(body)["error"]
        == "request: expected a JSON object, got text that is not JSON"
    )
    status, answer = api(server, "POST", "/api/step", {"epochs": "many"})
    assert status == 400 and answer["error"].startswith("epochs: expected")
    status, answer = api(server, "POST", "/api/step", [1, 2])
    assert status == 400 and answer["error"].startswith("request: expected a JSON object")
    status, answer = api(server, "POST", "/api/nothing", {})
    assert status == 404
    status, answer = api(server, "POST", "/api/point", {"x1": "a", "x2": 0, "label": 0})
    assert status == 400 and answer["error"].startswith("x1: expected a finite number")


def test_csv_upload_and_its_errors(server):
    configure(server, dataset="circle", hidden="3", population=1)
    rows = ["x1,x2,label"] + [
        f"{i / 10},{(i * 7 % 10) / 10},{'a' if i % 2 else 'b'}" for i in range(40)
    ]
    status, frame = api(server, "POST", "/api/upload?name=mine.csv", "\n".join(rows), raw=True)
    assert status == 200, frame
    assert frame["settings"]["dataset"] == "custom" and frame["classes"] == ["a", "b"]
    assert len(frame["train"]) + len(frame["test"]) == 40
    bad = "\n".join(rows[:5] + ["0.1,oops,a"] + rows[5:])
    status, answer = api(server, "POST", "/api/upload?name=mine.csv", bad, raw=True)
    assert status == 400
    assert answer["error"].startswith("mine.csv, line 6"), answer["error"]
    assert "/tmp" not in answer["error"] and "\n" not in answer["error"]
    three = "a,b,c,label\n" + "\n".join(f"{i},{i},{i},{i % 2}" for i in range(20))
    status, answer = api(server, "POST", "/api/upload", three, raw=True)
    assert (
        status == 400
        and answer["error"] == "csv: expected two feature columns and a label, got 3 features"
    )
    status, frame = api(server, "GET", "/api/frame")
    assert frame["settings"]["dataset"] == "custom" and frame["classes"] == ["a", "b"]  # kept


def test_drawn_points_join_the_training_rows(server):
    configure(server, dataset="gauss", hidden="2", population=1)
    status, frame = api(server, "POST", "/api/point", {"x1": 0.5, "x2": -0.25, "label": 1})
    assert status == 200 and frame["settings"]["dataset"] == "custom"
    assert frame["train"][-1] == [0.5, -0.25, 1] and len(frame["train"]) == 251
    status, answer = api(server, "POST", "/api/point", {"x1": 0, "x2": 0, "label": 2})
    assert status == 400 and answer["error"].startswith("label: expected a class index from 0 to 1")


def test_regression(server):
    frame = configure(server, dataset="plane", hidden="3", population=2, lr=0.01)
    assert frame["task"] == "regression" and frame["classes"] is None and len(frame["output"]) == 1
    _, frame = api(server, "POST", "/api/step", {"epochs": 3})
    assert frame["curves"]["train_loss"][-1][0] < frame["curves"]["train_loss"][0][0]
    assert "loss='mse'" in frame["snippet"]


@pytest.mark.parametrize("member", [None, 1])
def test_export_loads_with_the_same_predictions(server, tmp_path, member):
    configure(server, dataset="xor", hidden="4,3", population=3, seed=5, features="x1,x2,x1*x2")
    api(server, "POST", "/api/step", {"epochs": 4})
    query = "" if member is None else f"?member={member}"
    status, body, response = request(server, "GET", "/api/export" + query)
    assert status == 200 and "attachment" in response.getheader("Content-Disposition")
    path = tmp_path / "model.npz"
    path.write_bytes(body)
    net = load(path)
    session = server.playground.session
    expected = session.net if member is None else session.net.select([member])
    assert net.n_members == expected.n_members
    for key, value in expected.population_state.items():
        np.testing.assert_array_equal(net.population_state[key], value)
    Z = session.Z_test
    np.testing.assert_array_equal(net.predict_proba(Z), expected.predict_proba(Z))


@pytest.mark.parametrize(("hidden", "activation"), [("4", "tanh"), ("5,3", "relu,tanh")])
def test_snippet_trains_the_same_population(server, hidden, activation):
    """The page's Python snippet, run as it is, reaches the page's own test scores."""
    configure(
        server, dataset="moons", hidden=hidden, activation=activation, population=2, seed=4, lr=0.1
    )
    _, frame = api(server, "POST", "/api/step", {"epochs": 3})
    status, code, _ = request(server, "GET", "/api/snippet")
    assert status == 200
    code = code.decode().replace("nns.save(net, 'playground.npz')", "")
    scope: dict = {}
    exec(compile(code, "snippet.py", "exec"), scope)
    scores = scope["net"].score(scope["X_test"], scope["parts"].y_test)
    np.testing.assert_allclose(scores, frame["curves"]["test_score"][-1][3], atol=1e-6)


def test_an_activation_per_layer():
    s = Settings.from_query({"hidden": "4,3", "activation": "relu,tanh"})
    assert s.activations == ("relu", "tanh") and s.network_activation == ["relu", "tanh"]
    assert s.as_query()["activation"] == "relu,tanh" and Settings.from_query(s.as_query()) == s
    assert s.init == "he" and Settings.from_query({"activation": "tanh,sigmoid"}).init == "glorot"
    # a layer added keeps the others' and copies the last; one removed takes its own away
    assert Settings.from_query({"hidden": "4,3,2"}, s).activations == ("relu", "tanh", "tanh")
    assert Settings.from_query({"hidden": "4"}, s).activation == ("relu",)
    # one name for all layers, however it is written
    assert Settings.from_query({"hidden": "4,3", "activation": "elu,elu"}).activation == ("elu",)
    assert Settings.from_query({"hidden": "4,3", "activation": "elu"}).activations == ("elu",) * 2


def test_equations_name_each_layers_activation(server):
    frame = configure(server, dataset="xor", hidden="3,2", activation="relu,sigmoid", seed=1)
    text = "\n".join(frame["equations"])
    assert "h1 = relu(a1)" in text and "h2 = sigmoid(a2)" in text
    assert "da1 = dh1 * relu'(a1)" in text and "da2 = dh2 * sigmoid'(a2)" in text
    assert "activation=['relu', 'sigmoid']" in frame["snippet"]


def test_settings_round_trip_through_the_url():
    s = Settings.from_query(
        {"hidden": "8,2", "features": "x2,x1^2", "lr": "0.3", "population": "16"}
    )
    assert s.hidden == (8, 2) and s.features == ("x2", "x1^2") and s.lr == 0.3
    assert Settings.from_query(s.as_query()) == s
    assert Settings.from_query({"hidden": ""}).hidden == ()


@pytest.mark.parametrize("how", ["python", "cli"])
def test_serve_stops_cleanly_on_ctrl_c(how):
    code = "from nnscratch.playground import serve; serve(port=0, open_browser=False)"
    if how == "cli":
        code = "from nnscratch.cli import main; main(['playground', '--port', '0', '--no-browser'])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=30)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "playground stopped" in out and "Traceback" not in err


def test_cli_refuses_a_port_in_use_in_one_line(capsys):
    from nnscratch.cli import main

    server = make_server("127.0.0.1", 0)
    try:
        port = server.server_address[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 2
    finally:
        server.server_close()
    err = capsys.readouterr().err
    assert err.startswith("nnscratch playground: error: --port: expected a free port on ")
    assert err.count("\n") == 1
