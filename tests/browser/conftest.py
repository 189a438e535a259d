"""Fixtures for the browser tests: a loopback static server, test audio and Chromium.

The server serves the repository's ``static/`` and ``tests/browser/`` directories, the
generated audio under ``/a/<name>``, a ``/flaky/<name>`` route that answers 404 the
first time, a ``/slow/<name>`` route that trickles bytes (to see the loading
indicator), and records POSTs to ``/save``, ``/save-flaky`` (503 the first times),
``/save-reject`` (400) and ``/events``; ``/state`` answers ``server.state`` (what
Django's ``/p/<token>/current`` would). Chromium is Debian's ``/usr/bin/chromium``
driven by Playwright; ``playwright install`` is never needed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SERVED_PREFIXES = ("/static/", "/tests/browser/")
RATE = 48000
DURATION = 3.0


def write_sine(path: Path, freq: float, *, rate: int = RATE, seconds: float = DURATION) -> None:
    """Write a stereo sine (0.25 peak) with 5 ms fades, as FLAC or WAV by suffix."""
    t = np.arange(round(seconds * rate)) / rate
    x = 0.25 * np.sin(2 * np.pi * freq * t)
    fade = round(0.005 * rate)
    ramp = np.linspace(0.0, 1.0, fade)
    x[:fade] *= ramp
    x[-fade:] *= ramp[::-1]
    sf.write(path, np.column_stack([x, x]), rate, subtype="PCM_16")


class Handler(SimpleHTTPRequestHandler):
    """Static files plus the test routes; the state lives on the server object."""

    server: TestServer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(REPO), **kwargs)

    def log_message(self, format, *args):  # silence the access log
        pass

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # A page that navigates away (a reload test) closes its pending requests: not an error.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def _audio(self, name: str, *, slow: bool = False) -> None:
        path = self.server.audio_dir / Path(name).name
        if not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "audio/flac" if path.suffix == ".flac" else "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not slow:
            self.wfile.write(data)
            return
        step = max(1, len(data) // 8)
        try:
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                self.wfile.flush()
                time.sleep(0.12)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away mid-transfer

    def do_GET(self):
        path = urlsplit(self.path).path
        self.server.hits[path] += 1
        if path.startswith("/a/"):
            self._audio(path[3:])
        elif path.startswith("/slow/"):
            self._audio(path[6:], slow=True)
        elif path.startswith("/flaky/"):
            if self.server.hits[path] == 1:
                self.send_error(HTTPStatus.NOT_FOUND)
            else:
                self._audio(path[7:])
        elif path == "/state":
            # The session's current trial, as Django's /p/<token>/current answers it.
            self._json(200, self.server.state)
        elif path.startswith(SERVED_PREFIXES):
            super().do_GET()
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def do_POST(self):
        path = urlsplit(self.path).path
        self.server.hits[path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        record = {"path": path, "headers": dict(self.headers.items()), "body": body}
        self.server.posts.append(record)
        if path == "/save-flaky" and self.server.hits[path] <= self.server.failures:
            self._json(503, {"detail": "try again"})
        elif path == "/save-reject":
            self._json(400, {"detail": "score must be an integer in 0..100"})
        elif isinstance(body, dict) and body.get("type") == "submit":
            self._json(200, {"next_url": "/tests/browser/trial_harness.html?done=1"})
        else:
            self._json(200, {"ok": True})


class TestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, audio_dir: Path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.audio_dir = audio_dir
        self.hits: Counter[str] = Counter()
        self.posts: list[dict] = []
        self.failures = 2
        self.state: dict = {"url": "/tests/browser/trial_harness.html?done=1", "trial": None}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset(self) -> None:
        self.hits.clear()
        self.posts.clear()
        self.failures = 2
        self.state = {"url": "/tests/browser/trial_harness.html?done=1", "trial": None}

    def answers(self, path: str = "/save") -> list[dict]:
        return [p for p in self.posts if p["path"] == path]


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory) -> Path:
    """Short test stimuli: 3 s stereo sines at 48 kHz (and one at 44.1 kHz)."""
    root = tmp_path_factory.mktemp("audio")
    write_sine(root / "sine440.flac", 440)
    write_sine(root / "sine880.flac", 880)
    write_sine(root / "sine660.flac", 660)
    write_sine(root / "sine440.wav", 440)
    write_sine(root / "sine440_44k.flac", 440, rate=44100)
    # Opaque keys, as a study would serve them: nothing in the name says what it is.
    for key, source in {
        "k9f2": "sine440.flac",
        "k3a7": "sine880.flac",
        "k5c1": "sine660.flac",
        "k8e4": "sine440.flac",
        "k1d6": "sine880.flac",
    }.items():
        shutil.copy(root / source, root / f"{key}.flac")
    return root


@pytest.fixture(scope="session")
def http_server(audio_dir):
    server = TestServer(audio_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(http_server):
    http_server.reset()
    return http_server


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context.new_page()
    context.close()


@pytest.fixture
def console(page) -> list[str]:
    """Everything the page writes to the console, and uncaught errors."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages
