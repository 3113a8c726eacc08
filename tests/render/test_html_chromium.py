"""``-o html`` in a real browser: headless Chromium (Debian's ``chromium``, which ``.ci/run``
installs) parses the page as browsers do, draws one SVG bar per init or sidecar container,
runs no script from a hostile pod, and takes a screenshot that shows the timeline."""

from __future__ import annotations

import collections
import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from podinit_diag import diagnose_path
from podinit_diag.core.model import Report
from podinit_diag.engine import diagnose
from podinit_diag.render import html
from podinit_diag.render.common import clean

from ..conftest import FIXTURES
from .test_hostile_text import NOW, hostile_bundle
from .test_html import THREE, hostile_report, parse, sections

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
    ),
]

# What works headless as root in a container, with nothing fetched from the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Colours of the page's CSS that only the timeline's SVG paints.
EARLIER_RUNS = bytes.fromhex("e0a030")  # the hatching of a container's earlier runs
BLOCKING = bytes.fromhex("c62828")  # the outline of the blocking container's bar
WAITING = bytes.fromhex("d0d7de")  # back-off after the last run


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Report]]:
    reports = [r for name in THREE for r in diagnose_path(FIXTURES / name)]
    reports += [hostile_report(), diagnose(hostile_bundle(), now=NOW)]
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html.render(reports), encoding="utf-8")
    return path, reports


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = page.parent / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()} | {"HOME": str(home)}
    done = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={home / 'profile'}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_chromium_draws_one_bar_per_container_and_runs_no_script(
    page: tuple[Path, list[Report]],
) -> None:
    path, reports = page
    dom = chromium(path, "--dump-dom").stdout
    parsed = parse(dom)
    # the hostile pods' <script>, <img onerror> and <svg onload> stayed text
    assert not parsed.all("script") and not parsed.all("img")
    assert not any(k.startswith("on") for e in parsed.elements for k in e.attrs)
    assert len(parsed.all("section", "pod")) == len(reports)
    for r, section in zip(reports, sections(dom), strict=True):
        assert len(section.all("svg")) == 1
        bars = section.all("rect", "bar")
        # the names as the page shows them: control characters as visible escapes
        assert [b.attrs["data-container"] for b in bars] == [clean(s.name) for s in r.timeline]


def test_chromium_screenshot_shows_the_timeline(page: tuple[Path, list[Report]]) -> None:
    path, _ = page
    shot = path.parent / "page.png"
    chromium(path, f"--screenshot={shot}", "--window-size=1200,900")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    width, height, pixels = read_png(data)
    assert (width, height) == (1200, 900)
    colours = collections.Counter(pixels)
    assert len(colours) > 100, "a page of text and bars, not one colour"
    ((_, most),) = colours.most_common(1)  # the background
    assert most < 0.95 * width * height
    for colour in (EARLIER_RUNS, BLOCKING, WAITING):
        assert colours[colour] > 50, f"#{colour.hex()} is not on the screenshot"


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """The RGB pixels of an 8-bit RGB or RGBA PNG, with the standard library only."""
    pos, chunks = 8, []
    width = height = 0
    bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour_type in (2, 6) and interlace == 0
            bpp = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            chunks.append(body)
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    prev = bytearray(stride)
    pixels = []
    for y in range(height):
        at = y * (stride + 1)
        line = unfilter(raw[at], bytearray(raw[at + 1 : at + 1 + stride]), prev, bpp)
        pixels += [bytes(line[i : i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return width, height, pixels


def unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """One scanline with its PNG filter (None, Sub, Up, Average, Paeth) undone."""
    if kind == 0:
        return line
    n = len(line)
    if kind == 2:  # Up, most of a screenshot's lines: all bytes at once (see _add_bytes)
        return bytearray(_add_bytes(int.from_bytes(line), int.from_bytes(prev), n))
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif kind == 3:
        for i in range(bpp):
            line[i] = (line[i] + (prev[i] >> 1)) & 255
        for i in range(bpp, n):
            line[i] = (line[i] + ((line[i - bpp] + prev[i]) >> 1)) & 255
    else:  # Paeth: the first pixel has no left or corner neighbour, so predicts up
        for i in range(bpp):
            line[i] = (line[i] + prev[i]) & 255
        for i in range(bpp, n):
            a, b, c = line[i - bpp], prev[i], prev[i - bpp]
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return line


def _add_bytes(x: int, y: int, n: int) -> bytes:
    """The ``n`` bytes of ``x`` and ``y`` added byte by byte modulo 256: the low seven bits
    are added without a carry into the next byte, the top bit is their xor with both top
    bits. Big-integer operations run in C, a loop over a screenshot's bytes would not."""
    low = int.from_bytes(b"\x7f" * n)
    top = int.from_bytes(b"\x80" * n)
    return (((x & low) + (y & low)) ^ ((x ^ y) & top)).to_bytes(n)
