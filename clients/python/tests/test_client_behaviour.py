"""The client's own behaviour against real servers: retries on UNAVAILABLE (and only where
safe), the default deadline, and the examples."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

import annals
from annals.v1 import types_pb2

from conftest import SEED, Server, free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAST_RETRY = annals.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Counts the attempts that leave the client, per method."""

    def __init__(self) -> None:
        self.calls: dict = {}

    def intercept_unary_unary(self, continuation, client_call_details, request):
        name = client_call_details.method.rsplit("/", 1)[-1]
        self.calls[name] = self.calls.get(name, 0) + 1
        return continuation(client_call_details, request)


def test_retries_unavailable_only_when_safe() -> None:
    counter = CountingInterceptor()
    # Nothing listens on this port: every attempt is UNAVAILABLE.
    channel = grpc.intercept_channel(grpc.insecure_channel(f"127.0.0.1:{free_port()}"), counter)
    client = annals.Client(channel, timeout=10, retry=FAST_RETRY)
    try:
        entity = types_pb2.Entity(id="a", label="A")
        for call in (lambda: client.get_entity("a"),                                   # a read
                     lambda: client.upsert_entities([entity], request_id="once"),      # a write with an id
                     lambda: client.upsert_entities([entity])):                        # a write without
            with pytest.raises(annals.AnnalsError) as err:
                call()
            assert err.value.code is grpc.StatusCode.UNAVAILABLE
    finally:
        client.close()
    assert counter.calls == {"GetEntity": 3, "UpsertEntities": 3 + 1}


def test_retry_reaches_a_server_that_comes_up_late() -> None:
    port = free_port()
    late = Server(port=port)
    starter = threading.Timer(0.7, late.start)
    options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
               ("grpc.max_reconnect_backoff_ms", 200)]
    # gRPC itself may wait a few seconds before it dials again after a refusal (seen: ~5 s).
    patient = annals.RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.5)
    starter.start()
    try:
        with annals.connect(f"127.0.0.1:{port}", retry=patient, timeout=30, options=options) as client:
            t0 = time.monotonic()
            with pytest.raises(annals.AnnalsError) as err:
                client.get_entity("nosuch")
            # It got through to the server (NOT_FOUND is an answer, and not retried).
            assert err.value.code is grpc.StatusCode.NOT_FOUND
            assert time.monotonic() - t0 >= 0.5
            assert client.upsert_entities([types_pb2.Entity(id="a", label="A")]).revision == 1
    finally:
        starter.join()
        assert not late.stop()


def test_default_deadline_applies(empty_server: Server) -> None:
    with annals.connect(empty_server.addr, timeout=1e-6) as client:
        with pytest.raises(annals.AnnalsError) as err:
            client.get_entity("a")
        assert err.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
        # A call's own timeout overrides the client's default; None means no deadline.
        with pytest.raises(annals.AnnalsError) as err:
            client.get_entity("a", timeout=None)
        assert err.value.code is grpc.StatusCode.NOT_FOUND


def run_example(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_count_predicates_example(seeded_server: Server) -> None:
    out = run_example(str(EXAMPLES / "count_predicates.py"), "--addr", seeded_server.addr, "zardari")
    assert out == "announced_visit\t1\ninvited\t1\nmet\t3\nparticipated_in\t1\nvisited\t4\n"


def test_seed_questions_example(empty_server: Server) -> None:
    out = run_example(str(EXAMPLES / "seed_questions.py"), "--addr", empty_server.addr, SEED)
    lines = out.splitlines()
    assert [line.split(":")[:2] for line in lines[:5]] == [[f"batch {i}", f" revision {i + 1}"] for i in range(5)]
    assert "Q1. When did Zardari visit Russia, according to each source?" in lines
    assert "  2011-05-11..2011-05-13   rel.zardari-visit-russia-2011-05.seed-000  (sources: seed-000)" in lines
    assert any(line.startswith("  revision 2: RELATION_ADDED    PLANNED    2012-09 ") for line in lines)
    assert re.fullmatch(r"  \d+ relation\(s\) at revision 5", lines[-1])
    # Again: every batch replays.
    again = run_example(str(EXAMPLES / "seed_questions.py"), "--addr", empty_server.addr, SEED).splitlines()
    assert again[:5] == [f"batch {i}: revision {i + 1}: replayed" for i in range(5)]
