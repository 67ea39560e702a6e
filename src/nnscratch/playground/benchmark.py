"""Frames per second of the playground while it trains (a benchmark, not a test).

``python -m nnscratch.playground.benchmark [--population 16] [--hidden 8,8] [--points 500]
[--frames 100]`` times what the page asks for while playing: one epoch, then the frame (the
``GRID x GRID`` boundary of every member, their disagreement, the curves, the neurons) as
JSON, over HTTP on loopback, the way the page asks. It prints the frames per second and
the share of each part.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--hidden", default="8,8")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args(argv)
    r = measure(args.population, args.hidden, args.points, args.frames)
    print(
        f"population {args.population}, hidden {args.hidden}, {args.points} points, "
        f"{GRID}x{GRID} grid: {1 / r['http_s']:.1f} frames/s over HTTP "
        f"(epoch {1000 * r['step_s']:.1f} ms + frame {1000 * r['frame_s']:.1f} ms in process)"
    )


if __name__ == "__main__":
    main()
