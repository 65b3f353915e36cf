"""A real process, really killed: `kill -9` loses nothing committed, SIGTERM commits and exits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import orjson
from websockets.sync.client import connect

from server.store import replay

ROOT = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "server", "serve"]


class Process:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.log = log.open("a")
        env = {**os.environ, "SMALLWOOD_ADMIN_TOKEN": "t"}
        self.proc = subprocess.Popen(
            [*SERVE, "--data-dir", str(data_dir), "--tick", "0.05", "--port", "0", "--seed", "4"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.url = self._url()

    def _url(self) -> str:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = stdout.readline()
            found = re.search(r"viewer\s+http://([\d.]+:\d+)/", line)
            if found:
                return found.group(1)
        self.log.flush()
        raise AssertionError(f"the server did not print its URL; its log:\n{self.log_text()}")

    def log_text(self) -> str:
        return Path(self.log.name).read_text()[-3000:]

    def watch(self, seconds: float) -> int:
        """The highest tick a viewer saw, following every delta for `seconds`."""
        highest = 0
        with connect(f"ws://{self.url}/ws") as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                message = orjson.loads(ws.recv(timeout=2))
                highest = max(highest, message["tick"])
        return highest

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def resumed_at(log: Path) -> list[int]:
    return [int(n) for n in re.findall(r"resumed 'The Wood' at tick (\d+)", log.read_text())]


def test_kill_9_then_resume_loses_nothing_committed(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    committed: list[int] = []
    for _ in range(2):
        server = Process(data, log)
        try:
            seen = server.watch(0.5)
            os.kill(server.proc.pid, signal.SIGKILL)
            assert server.proc.wait(5) == -signal.SIGKILL
        finally:
            server.close()
        report = replay(data)
        assert report.ok, report
        assert report.ticks >= seen  # every tick a viewer saw had been committed
        committed.append(report.ticks)

    server = Process(data, log)
    try:
        server.watch(0.3)
        server.proc.send_signal(signal.SIGTERM)
        out, _ = server.proc.communicate(timeout=30)
        assert server.proc.returncode == 0
    finally:
        server.close()
    assert resumed_at(log) == committed  # each restart picked up at the last committed tick
    stopped = int(re.findall(r"stopped at tick (\d+)", out)[-1])
    report = replay(data)
    assert report.ok and report.ticks == stopped  # SIGTERM: the last tick committed, no more
