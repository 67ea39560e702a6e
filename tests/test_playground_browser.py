"""The playground in a real browser: Selenium drives headless Chromium (Debian's ``chromium``
and ``chromium-driver``) against the server on a free loopback port.

Skipped, with the reason, where selenium, chromium or chromedriver is missing
(``apt-get install -y chromium chromium-driver``; ``pip install selenium``). The screenshot
of the page after training goes to ``$NNSCRATCH_SCREENSHOT`` when set (the README's
``docs/playground.png``), else to the test's temporary folder.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nnscratch.io.model import load
from nnscratch.playground import make_server

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs chromium and chromedriver (apt-get install -y chromium chromium-driver)",
)
TIMEOUT = 20


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def server():
    srv = make_server("127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser(downloads):
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1600,1300")
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def url(server, fragment=""):
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/{fragment}"


def wait(driver, condition, message):
    return WebDriverWait(driver, TIMEOUT).until(lambda d: condition(d), message)


def epoch(driver) -> int:
    return int(driver.find_element(By.ID, "epoch").text)


def image(driver) -> str:
    return driver.execute_script("return document.getElementById('boundary').toDataURL();")


def click(driver, element_id):
    driver.find_element(By.ID, element_id).click()


def test_train_in_the_page(server, browser, downloads, tmp_path):
    d = browser
    d.get(url(server))
    wait(d, lambda d: d.find_element(By.ID, "epoch").text == "000", "the page did not load")
    assert d.find_element(By.ID, "error").is_displayed() is False

    # choose a data set, add a layer
    click(d, "dataset-xor")
    wait(d, lambda d: "on" in d.find_element(By.ID, "dataset-xor").get_attribute("class"), "xor")
    click(d, "add-layer")
    wait(d, lambda d: d.find_element(By.ID, "layer-count").text == "3 hidden layers", "layer")
    assert server.playground.settings.hidden == (4, 2, 2)
    assert "hidden=4%2C2%2C2" in d.current_url and "dataset=xor" in d.current_url

    # an activation per layer: the second hidden layer's own select
    Select(d.find_elements(By.CSS_SELECTOR, "select.layer-activation")[1]).select_by_value("relu")
    wait(d, lambda d: server.playground.settings.activation == ("tanh", "relu", "tanh"), "relu")
    wait(d, lambda d: "h2 = relu(a2)" in d.find_element(By.ID, "equations").text, "equations")
    assert Select(d.find_element(By.ID, "activation")).first_selected_option.text == "per layer"
    values = [
        e.get_attribute("value")
        for e in d.find_elements(By.CSS_SELECTOR, "select.layer-activation")
    ]
    assert values == ["tanh", "relu", "tanh"] and "activation=tanh%2Crelu%2Ctanh" in d.current_url

    # play: the counter runs and the boundary changes; pause: both stop
    before = image(d)
    click(d, "play")
    wait(d, lambda d: epoch(d) >= 5, "the epoch counter did not move")
    click(d, "play")  # pause
    time.sleep(0.3)
    paused = epoch(d)
    time.sleep(0.5)
    assert epoch(d) == paused == server.playground.session.epoch
    assert image(d) != before

    # the population: 8 members, each one a button
    population = d.find_element(By.ID, "population")
    d.execute_script(
        "arguments[0].value = '8'; arguments[0].dispatchEvent(new Event('change'));", population
    )
    wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#members button")) == 9, "members")
    assert server.playground.session.net.n_members == 8 and epoch(d) == 0
    d.find_element(By.CSS_SELECTOR, "#members button[data-member='3']").click()
    wait(d, lambda d: "member 3" in d.find_element(By.ID, "stats").text, "member 3 alone")

    # a CSV with a bad row: one line saying what is wrong, the state kept
    rows = ["x1,x2,label", *(f"{i / 7:.3f},{i % 5},{i % 2}" for i in range(30))]
    rows.insert(4, "0.5,not-a-number,1")
    csv = tmp_path / "bad.csv"
    csv.write_text("\n".join(rows) + "\n")
    d.find_element(By.ID, "csv-file").send_keys(str(csv))
    wait(d, lambda d: d.find_element(By.ID, "error").is_displayed(), "no error shown")
    message = d.find_element(By.ID, "error").text
    assert message.startswith("bad.csv, line 5") and "\n" not in message, message
    assert server.playground.settings.dataset == "xor"

    # draw a point: a training row where the click was, the data now "custom"
    n_train = len(server.playground.session.y_train)
    click(d, "draw")
    canvas = d.find_element(By.ID, "boundary")
    ActionChains(d).move_to_element_with_offset(canvas, 110, -110).click().perform()

    def drawn(d):  # the row, then the data's new name: the server sets both, in turn
        rows = len(server.playground.session.y_train)
        return rows == n_train + 1 and server.playground.settings.dataset == "custom"

    wait(d, drawn, "no point drawn")
    x1, x2 = server.playground.session.X_train[-1]
    assert x1 > 0 and x2 > 0  # right of and above the centre, as clicked
    assert server.playground.settings.dataset == "custom"
    click(d, "draw")

    # export: the page's download link gives a model file that nnscratch loads
    click(d, "step")
    wait(d, lambda d: epoch(d) == 1, "step")
    d.find_element(By.CSS_SELECTOR, "#members button[data-member='mean']").click()
    wait(d, lambda d: "mean of 8" in d.find_element(By.ID, "stats").text, "mean")
    click(d, "export")
    target = downloads / "playground.npz"
    wait(d, lambda d: target.exists() and target.stat().st_size > 0, "no download")
    net = load(target)
    session = server.playground.session
    assert net.n_members == 8
    np.testing.assert_array_equal(
        net.predict_proba(session.Z_test), session.net.predict_proba(session.Z_test)
    )


def test_screenshot_after_training(server, browser, tmp_path):
    """The README's picture: a population on the spiral, trained, drawn by the page."""
    d = browser
    fragment = (
        "#dataset=spiral&noise=0.05&features=x1,x2,x1^2,x2^2,sin(x1),sin(x2)&hidden=8,8"
        "&activation=tanh&optimizer=adam&lr=0.03&population=8&seed=1&batch_size=10"
    )
    d.get("about:blank")
    d.get(url(server, fragment))
    wait(d, lambda d: server.playground.settings.dataset == "spiral", "settings from the URL")
    wait(d, lambda d: d.find_element(By.ID, "epoch").text == "000", "reset")
    server.playground.step(60)  # faster than the page's loop; the page then plays on
    click(browser, "play")
    wait(d, lambda d: epoch(d) >= 70, "training")
    click(browser, "play")
    time.sleep(0.5)
    assert d.find_element(By.ID, "error").is_displayed() is False
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1600, max(900, height + 140))  # the window frame takes some
    time.sleep(0.3)
    chosen = os.environ.get("NNSCRATCH_SCREENSHOT")
    path = Path(chosen) if chosen else tmp_path / "playground.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    png = base64.b64decode(d.get_screenshot_as_base64())
    path.write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
