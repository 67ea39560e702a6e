"""Frames per second of the playground while it trains (a benchmark, not a test).

``python -m nnscratch.playground.benchmark [--population 16] [--hidden 8,8] [--points 500]
[--frames 100]`` times what the page asks for while playing: one epoch, then the frame (the
``GRID x GRID`` boundary of every member, their disagreement, the curves, the neurons) as
JSON, over HTTP on loopback, the way the page asks. It prints the frames per second and
the share of each part.

``--browser`` measures the page itself as well: headless Chromium (Debian's ``chromium``
and ``chromium-driver``, driven by Selenium) opens the page with the same settings, presses
play and counts the epochs the page draws in ``--seconds`` seconds. The page draws every
epoch (it asks for the next one while it draws this one), so epochs per second are its
frames per second, with the browser and the server sharing the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import threading
import time
import urllib.parse

from nnscratch.playground.server import make_server
from nnscratch.playground.state import GRID


def _post(conn: http.client.HTTPConnection, path: str, body: dict) -> dict:
    conn.request("POST", path, body=json.dumps(body).encode())
    response = conn.getresponse()
    value = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(value)
    return value


def measure(population: int, hidden: str, points: int, frames: int) -> dict:
    """Seconds per frame over HTTP, and in-process seconds for the epoch and the frame."""
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
    settings = {"dataset": "circle", "population": population, "hidden": hidden}
    settings.update(points=points, train_ratio=0.5, batch_size=10, lr=0.03)
    _post(conn, "/api/configure", settings)
    for _ in range(3):  # warm up (imports, the compiled epoch where numba is there)
        _post(conn, "/api/step", {"epochs": 1})
    start = time.perf_counter()
    for _ in range(frames):
        _post(conn, "/api/step", {"epochs": 1})
    http_s = (time.perf_counter() - start) / frames
    pg = server.playground
    start = time.perf_counter()
    for _ in range(frames):
        pg.step(1)
    step_s = (time.perf_counter() - start) / frames
    start = time.perf_counter()
    for _ in range(frames):
        json.dumps(pg.frame())
    frame_s = (time.perf_counter() - start) / frames
    conn.close()
    server.shutdown()
    server.server_close()
    return {"http_s": http_s, "step_s": step_s, "frame_s": frame_s}


def browser_fps(population: int, hidden: str, points: int, seconds: float) -> dict:
    """Epochs drawn per second by the page in headless Chromium while it plays."""
    from selenium import webdriver  # the dev extra; imported only when asked for
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        raise SystemExit("--browser needs chromium and chromedriver on PATH")
    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        settings = {"dataset": "circle", "population": population, "hidden": hidden}
        settings.update(points=points, train_ratio=0.5, batch_size=10, lr=0.03)
        host, port = server.server_address[:2]
        driver.get(f"http://{host}:{port}/#{urllib.parse.urlencode(settings)}")

        def epoch() -> int:
            return int(driver.find_element(By.ID, "epoch").text)

        deadline = time.monotonic() + 30
        while server.playground.settings.population != population or epoch() != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not take its settings")
            time.sleep(0.05)
        driver.find_element(By.ID, "play").click()
        time.sleep(2.0)  # warm up: the first epochs import and compile
        e0, t0 = epoch(), time.perf_counter()
        time.sleep(seconds)
        e1, t1 = epoch(), time.perf_counter()
        driver.find_element(By.ID, "play").click()
        return {"page_fps": (e1 - e0) / (t1 - t0), "epochs": e1 - e0}
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--hidden", default="8,8")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    parser.add_argument("--seconds", type=float, default=10.0, help="of play, with --browser")
    args = parser.parse_args(argv)
    r = measure(args.population, args.hidden, args.points, args.frames)
    print(
        f"population {args.population}, hidden {args.hidden}, {args.points} points, "
        f"{GRID}x{GRID} grid: {1 / r['http_s']:.1f} frames/s over HTTP "
        f"(epoch {1000 * r['step_s']:.1f} ms + frame {1000 * r['frame_s']:.1f} ms in process)"
    )
    if args.browser:
        b = browser_fps(args.population, args.hidden, args.points, args.seconds)
        print(
            f"the page in headless Chromium: {b['page_fps']:.1f} frames/s "
            f"({b['epochs']} epochs drawn in {args.seconds:g} s, every epoch shown)"
        )


if __name__ == "__main__":
    main()
