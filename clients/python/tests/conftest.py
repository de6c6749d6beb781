"""Fixtures that run a real ``annalsd`` on 127.0.0.1:0 (no mocks).

CTest passes the server binary in ``ANNALSD_PATH`` and the seed data in ``ANNALSD_SEED``;
without them the repository's ``build/service/annalsd`` and ``data/seed`` are used. Each
server gets a fresh temporary database, is stopped with SIGTERM at the end (which must give
exit code 0 and "stopped cleanly"), and its directory is removed.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import annals

REPO = Path(__file__).resolve().parents[3]
ANNALSD = os.environ.get("ANNALSD_PATH", str(REPO / "build/service/annalsd"))
SEED = os.environ.get("ANNALSD_SEED", str(REPO / "data/seed"))
SERVING_RE = re.compile(r"^annalsd: serving on 127\.0\.0\.1:(\d+) \(db .*, revision (\d+)\)$")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def server_env() -> dict:
    """The environment without ANNALS_* variables, which annalsd would read as flags."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ANNALS_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One annalsd process with its own database directory."""

    def __init__(self, *, load: Optional[str] = None, port: int = 0) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="annals-pyclient-")
        self.dir = Path(self.tmp.name)
        self.load = load
        self.listen_port = port
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.start_revision: Optional[int] = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Server":
        cmd = [ANNALSD, "--listen", f"127.0.0.1:{self.listen_port}", "--db", str(self.dir / "db")]
        if self.load:
            cmd += ["--load", self.load]
        self.out = open(self.dir / "stdout", "wb")
        self.err = open(self.dir / "stderr", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     env=server_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = (self.dir / "stdout").read_text(errors="replace")
            if "\n" in text:
                first = text.split("\n", 1)[0]
                m = SERVING_RE.match(first)
                if not m:
                    self.kill()
                    raise RuntimeError(f"unexpected first line from annalsd: {first!r}\n{self.stderr()}")
                self.port, self.start_revision = int(m.group(1)), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"annalsd exited with {self.proc.returncode}: {cmd}\n{self.stderr()}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"annalsd did not start within {START_TIMEOUT} s\n{self.stderr()}")

    def stderr(self) -> str:
        try:
            return (self.dir / "stderr").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> List[str]:
        """SIGTERM, then the problems seen (empty when it stopped cleanly)."""
        problems: List[str] = []
        if self.proc is not None:
            if self.proc.poll() is not None:
                problems.append(f"annalsd had already exited with {self.proc.returncode}")
            else:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    code = self.proc.wait(timeout=STOP_TIMEOUT)
                    if code != 0:
                        problems.append(f"annalsd exited with {code} after SIGTERM")
                    elif "stopped cleanly" not in self.stderr():
                        problems.append("annalsd did not say 'stopped cleanly'")
                except subprocess.TimeoutExpired:
                    problems.append("annalsd did not stop within the time allowed (killed)")
            if problems:
                problems.append(self.stderr())
        self.kill()
        return problems

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # this process only, by its own pid
            self.proc.wait(timeout=STOP_TIMEOUT)
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f is not None:
                f.close()
        self.tmp.cleanup()


def _serve(load: Optional[str] = None) -> Iterator[Server]:
    server = Server(load=load).start()
    try:
        yield server
    finally:
        problems = server.stop()
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def seeded_server() -> Iterator[Server]:
    """A server with data/seed loaded (revisions 1..5). Read-only: tests must not write to it."""
    yield from _serve(load=SEED)


@pytest.fixture(scope="session")
def seeded(seeded_server: Server) -> Iterator[annals.Client]:
    with annals.connect(seeded_server.addr) as client:
        yield client


@pytest.fixture()
def empty_server() -> Iterator[Server]:
    """A fresh server on an empty database, for one test."""
    yield from _serve()


@pytest.fixture()
def client(empty_server: Server) -> Iterator[annals.Client]:
    with annals.connect(empty_server.addr) as c:
        yield c
