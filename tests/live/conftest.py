"""Fixtures of the live tests: real servers started for a test and stopped after it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if REDIS is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    socket_path = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [REDIS, "--port", "0", "--unixsocket", str(socket_path), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"unix://{socket_path}?db=0"
    finally:
        server.terminate()
        server.wait(10)
