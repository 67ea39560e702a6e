"""``nnscratch playground``: a live page in the browser where a population trains and the
page shows it learn: the decision boundary of every member and of their mean, where they
disagree, each neuron, the curves, the equations and the code that trains the same thing.

Training runs here, in the Python process, with nnscratch itself; the page is static
HTML/CSS/JS shipped in ``static/`` (no CDN, no build step, works offline).

- ``serve(host="127.0.0.1", port=8000, open_browser=True)``: serve until Ctrl-C.
- ``make_server(host, port)``: the server, for tests and embedding (``port=0``: a free one).
- ``Playground``: the state behind the page; ``Settings``: what the page may ask for.
"""

from nnscratch.playground.server import make_server, serve
from nnscratch.playground.settings import Settings
from nnscratch.playground.state import Playground

__all__ = ["Playground", "Settings", "make_server", "serve"]
