"""The playground's server: the standard library's ``ThreadingHTTPServer``, the page's static
files and a small JSON API, nothing else to install.

Why the standard library: the page asks one thing at a time (a frame after each epoch), on
one machine, so an asynchronous stack would add a dependency and change nothing; training is
NumPy work that holds the lock, not waiting on sockets.

API (every body and answer JSON; an error is ``400 {"error": "one line"}`` and changes
nothing):

- ``GET  /api/frame?member=p`` the current frame (the mean of the members, or member ``p``)
- ``POST /api/configure {settings}`` new settings: a fresh population (a reset); with
  ``"defaults": true`` the settings not given take their defaults (a link), else they stay
- ``POST /api/step {"epochs": k, "member": p}`` train ``k`` epochs, then the frame
- ``POST /api/reset``, ``POST /api/point {"x1", "x2", "label"}``
- ``POST /api/upload`` the CSV text as the body (``?name=file.csv``)
- ``GET  /api/export?member=p`` the model file; ``GET /api/snippet`` the Python script
"""

from __future__ import annotations

import json
import mimetypes
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from nnscratch.core.callback import NonFiniteError
from nnscratch.core.checks import fail
from nnscratch.playground.settings import Settings
from nnscratch.playground.state import Playground

STATIC = Path(str(resources.files("nnscratch.playground") / "static"))
MAX_BODY = 4_000_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def static_file(url_path: str) -> Path | None:
    """The file under ``STATIC`` that ``url_path`` names, or ``None``: nothing outside it,
    whatever the ``..``, encoded slashes or links."""
    name = unquote(url_path).lstrip("/") or "index.html"
    if "\0" in name or "\\" in name:
        return None
    root = STATIC.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def _member(query: dict) -> int | None:
    raw = query.get("member", [None])[0]
    if raw in (None, "", "mean"):
        return None
    try:
        return int(raw)
    except ValueError:
        raise fail("member", "a member index or 'mean'", raw) from None


class Handler(BaseHTTPRequestHandler):
    """One request: a static file, or a call into the shared ``Playground``."""

    playground: Playground  # set on the subclass ``make_server`` builds
    server_version = "nnscratch-playground"

    def log_message(self, format, *args) -> None:  # quiet: the terminal is the teacher's
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page went away meanwhile
            self.close_connection = True

    def _json(self, value, status: int = 200) -> None:
        self._send(status, json.dumps(value).encode("utf-8"), "application/json")

    def _error(self, message: str, status: int = 400) -> None:
        self._json({"error": message.splitlines()[0] if message else "error"}, status)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise fail("request", f"a body of at most {MAX_BODY} bytes", f"{length} bytes", True)
        return self.rfile.read(length)

    def _json_body(self) -> dict:
        raw = self._body()
        try:
            value = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise fail("request", "a JSON object", "text that is not JSON", True) from None
        if not isinstance(value, dict):
            raise fail("request", "a JSON object", value)
        return value

    def _guarded(self, work) -> None:
        """Run ``work``; a ``ValueError`` (bad input) becomes one line and status 400."""
        try:
            work()
        except NonFiniteError as error:
            self._error(f"training diverged: {error}; lower the learning rate and reset")
        except (ValueError, TypeError, OverflowError) as error:
            self._error(str(error))
        except MemoryError:
            self._error("out of memory: choose a smaller population or network")

    def _host_allowed(self) -> bool:
        """On loopback, only requests that name a loopback host: a web page elsewhere cannot
        reach this server by pointing its own name at 127.0.0.1 (DNS rebinding)."""
        if self.server.server_address[0] not in LOOPBACK:
            return True
        host = urlsplit("//" + (self.headers.get("Host") or "")).hostname
        if host in LOOPBACK:
            return True
        self._error(f"host: expected a loopback name, got {host!r}", 403)
        return False

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        pg = self.playground
        if url.path == "/api/frame":
            self._guarded(lambda: self._json(pg.frame(_member(query))))
        elif url.path == "/api/export":
            self._guarded(lambda: self._export(_member(query)))
        elif url.path == "/api/snippet":
            self._guarded(lambda: self._send(200, pg.frame()["snippet"].encode(), "text/x-python"))
        elif url.path.startswith("/api/"):
            self._error(f"path: expected an API call, got {url.path!r}", 404)
        else:
            self._static(url.path)

    def _export(self, member: int | None) -> None:
        body = self.playground.export(member)
        name = "playground.npz" if member is None else f"playground-member{member}.npz"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        self._send(200, body, "application/octet-stream", headers)

    def _static(self, url_path: str) -> None:
        path = static_file(url_path)
        if path is None:
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        self._send(200, path.read_bytes(), kind)

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        actions = {
            "/api/configure": self._configure,
            "/api/step": self._step,
            "/api/reset": self._reset,
            "/api/point": self._point,
            "/api/upload": lambda: self._upload(query),
        }
        if url.path not in actions:
            self._error(f"path: expected an API call, got {url.path!r}", 404)
            return
        self._guarded(actions[url.path])

    def _configure(self) -> None:
        body = self._json_body()
        member = body.pop("member", None)
        defaults = body.pop("defaults", False)
        if not isinstance(defaults, bool):
            raise fail("defaults", "true or false", defaults)
        self.playground.configure(body, defaults)
        self._json(self.playground.frame(member))

    def _step(self) -> None:
        body = self._json_body()
        self.playground.step(body.get("epochs", 1))
        self._json(self.playground.frame(body.get("member")))

    def _reset(self) -> None:
        self._json_body()
        self.playground.reset()
        self._json(self.playground.frame())

    def _point(self) -> None:
        body = self._json_body()
        self.playground.add_point(body.get("x1"), body.get("x2"), body.get("label"))
        self._json(self.playground.frame(body.get("member")))

    def _upload(self, query: dict) -> None:
        raw = self._body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise fail("csv", "UTF-8 text", "bytes that are not UTF-8", True) from None
        name = query.get("name", ["upload.csv"])[0]
        self.playground.upload(text, name)
        self._json(self.playground.frame())


def make_server(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None):
    """A ``ThreadingHTTPServer`` on ``(host, port)`` (port 0: a free one) with its own
    ``Playground``; ``server.playground`` is that state, ``server.server_address`` the address."""
    playground = Playground(settings)
    handler = type("PlaygroundHandler", (Handler,), {"playground": playground})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.playground = playground
    return server


def serve(
    host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True, server=None
) -> None:
    """Serve the playground until Ctrl-C, which closes the socket and returns; ``server``:
    one :func:`make_server` made already (its address checked), else one on host:port."""
    server = server if server is not None else make_server(host, port)
    address = f"http://{host}:{server.server_address[1]}/"
    print(f"nnscratch playground at {address}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(address,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nplayground stopped", flush=True)
    finally:
        server.server_close()
