"""The report page as a reader sees it: rendered by headless Chromium (quick settings).

``nnscratch reproduce``'s ``index.html`` is loaded from disk in headless Chromium, as a
browser opens it. One test takes a screenshot of the page and checks it is drawn (not
blank, figures in it); the other loads a copy of the page with a small probe script and
reads back, after the load event, what Chromium made of every ``<img>``: loaded, at the
file's own pixel size, and shown wide enough to be read. Skipped, saying so, where no
Chromium is installed (Debian: ``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from nnscratch.experiments.reproduce import reproduce

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (apt-get install chromium): the page is not rendered",
)

WIDTH = 1280  # a laptop's browser window

# After the load event: each image's state and sizes, and the page's, as JSON in a <pre>.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map((img) => ({
    src: img.getAttribute("src"), complete: img.complete,
    natural: [img.naturalWidth, img.naturalHeight],
    shown: [Math.round(img.getBoundingClientRect().width),
            Math.round(img.getBoundingClientRect().height)]}));
  const page = {height: document.documentElement.scrollHeight,
                width: document.documentElement.scrollWidth};
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, page});
  document.body.appendChild(out);
});
</script></body>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "site"
    reproduce(out, seed=0, quick=True, quiet=True)
    return out


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with its own profile folder (as root it needs ``--no-sandbox``)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def pixel_size(path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR or a GIF's logical screen descriptor."""
    head = path.read_bytes()[:32]
    if head.startswith(b"\x89PNG"):
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    raise AssertionError(f"{path.name}: neither PNG nor GIF")


def test_every_image_loads_at_its_size_and_is_shown_wide_enough(site, tmp_path):
    page = (site / "index.html").read_text()
    probe = site / "probe.html"
    probe.write_text(page.replace("</body>", PROBE, 1))
    done = chromium(
        tmp_path,
        f"--window-size={WIDTH},1000",
        "--virtual-time-budget=15000",
        "--dump-dom",
        probe.as_uri(),
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no probe output; chromium said: {done.stderr[-2000:]}"
    report = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    images = {img["src"]: img for img in report["images"]}
    assert set(images) == set(re.findall(r'<img src="([^"]+)"', page))
    assert len(images) == 7
    for src, img in images.items():
        assert img["complete"], src
        assert tuple(img["natural"]) == pixel_size(site / src), src  # the very file, loaded
    # sized to be read: the wide figures near the text width, none a thumbnail
    for src in ("sweep.png", "training_curves.png"):
        assert images[src]["shown"][0] >= 700, images[src]
    for src in ("decision_boundary.png", "training.gif", "moons.png", "relu.png"):
        assert images[src]["shown"][0] >= 380, images[src]
    assert images["network.png"]["shown"][0] >= 200
    assert report["page"]["width"] <= WIDTH  # nothing wider than the window
    assert report["page"]["height"] < 6000


def test_the_screenshot_shows_the_page(site, tmp_path):
    from PIL import Image  # matplotlib's own dependency

    shot = tmp_path / "page.png"
    done = chromium(
        tmp_path,
        f"--window-size={WIDTH},2400",
        f"--screenshot={shot}",
        (site / "index.html").as_uri(),
    )
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (WIDTH, 2400)
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)  # (H,W,3)
    ink = np.any(rgb < 200, axis=-1)  # text, lines, figures
    assert ink.mean() > 0.02  # not a blank page
    colour = np.ptp(rgb, axis=-1) > 60  # the figures' blue and orange, not grey text
    assert colour.mean() > 0.002  # the figures are drawn, not only the text
