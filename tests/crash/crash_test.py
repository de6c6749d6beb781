#!/usr/bin/env python3
"""Crash safety: acknowledged writes survive SIGKILL of annalsd.

Runs the built `annalsd` on a fresh database and, many times over:
  1. starts it (127.0.0.1:0) and checks that every write acknowledged before the previous
     kill is there, exactly as acknowledged (read as of its revision);
  2. streams writes from three client threads -- unary UpsertEntities/PutRelations/
     RetractRelation and an Ingest stream -- recording every acknowledged revision and id;
  3. kills the server with SIGKILL at a random moment, mid-stream;
  4. runs `annals verify --db DIR` on the killed server's directory: indexes agree with
     records, the change log has one record per revision, the meta counters match.
At the end it restarts once more and checks every acknowledged write of the whole run, and
that DiffRevisions replays a change for every revision 1..latest (no gaps).

Prints "N kills, M acknowledged writes, 0 lost" and exits 0, or names what was lost or
inconsistent and exits 1. Writes whose call failed (the kill cut them off) are not
acknowledged; they may or may not have committed, and either is fine.

Needs python3-grpcio and the generated annals.v1 modules on PYTHONPATH
(<source>/clients/python:<build>/clients/python/gen); scripts/crash-test.sh sets that up.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from annals.v1 import diff_pb2, diff_pb2_grpc, ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc, types_pb2

SERVING_RE = re.compile(r"^annalsd: serving on 127\.0\.0\.1:(\d+) \(db (.*), revision (\d+)\)$")
START_TIMEOUT = 30
CALL_TIMEOUT = 5
PREDICATES = ["met", "visited", "signed", "supports", "trades_with"]


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNALS_")}
    return env


class Server:
    def __init__(self, annalsd, db, workdir, sync):
        self.annalsd, self.db, self.workdir, self.sync = annalsd, db, Path(workdir), sync
        self.proc = None
        self.port = None
        self.starts = 0

    def start(self):
        self.starts += 1
        out = self.workdir / f"annalsd.{self.starts}.stdout"
        err = self.workdir / f"annalsd.{self.starts}.stderr"
        cmd = [self.annalsd, "--listen", "127.0.0.1:0", "--db", self.db, "--drain-seconds", "1"]
        if self.sync:
            cmd.append("--sync")
        with open(out, "wb") as o, open(err, "wb") as e:
            self.proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=clean_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = out.read_text(errors="replace")
            if "\n" in text:
                m = SERVING_RE.match(text.split("\n", 1)[0])
                if not m:
                    raise RuntimeError(f"unexpected first line from annalsd: {text!r}")
                self.port = int(m.group(1))
                return int(m.group(3))
            if self.proc.poll() is not None:
                raise RuntimeError(f"annalsd exited with {self.proc.returncode}: {err.read_text(errors='replace')}")
            time.sleep(0.02)
        raise RuntimeError("annalsd did not start in time")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Ledger:
    """What the server acknowledged, shared by the writer threads.

    Each entry is (kind, id, revision, expected) where `expected` is what a read as of
    `revision` must show: a label for entities, (subject, predicate, object, start year,
    status) for relations, None for retractions.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []
        self.entities = []  # ids known to exist (acknowledged)
        self.live = []  # relation ids acknowledged and not retracted, for O(1) random picks
        self.live_index = {}  # id -> position in self.live
        self.max_revision = 0
        self.unknown = 0  # writes cut off by a kill: committed or not, nobody knows

    def record(self, kind, id_, revision, expected):
        with self.lock:
            self.acked.append((kind, id_, revision, expected))
            self.max_revision = max(self.max_revision, revision)
            if kind == "entity":
                self.entities.append(id_)
            elif kind == "relation":
                if id_ not in self.live_index:
                    self.live_index[id_] = len(self.live)
                    self.live.append(id_)
            elif kind == "retraction":
                self._drop(id_)

    def _drop(self, id_):
        at = self.live_index.pop(id_, None)
        if at is None:
            return
        last = self.live.pop()
        if last != id_:
            self.live[at] = last
            self.live_index[last] = at

    def pick_entities(self, rng, n):
        with self.lock:
            if len(self.entities) < n:
                return None
            return rng.sample(self.entities, n)

    def pick_live_relation(self, rng):
        with self.lock:
            if not self.live:
                return None
            return rng.choice(self.live)

    def forget_relation(self, id_):
        with self.lock:
            self._drop(id_)


def relation(rid, s, p, o, year, status):
    r = types_pb2.Relation(id=rid, subject=s, predicate=p, object_id=o, status=status)
    r.valid.start.year = year
    return r


def relation_key(r):
    return (r.subject, r.predicate, r.object_id, r.valid.start.year, r.status)


class Writer(threading.Thread):
    """Unary writes until told to stop or the server goes away."""

    def __init__(self, name, channel, ledger, stop, seed):
        super().__init__(daemon=True, name=name)
        self.ingest = ingest_pb2_grpc.IngestServiceStub(channel)
        self.ledger, self.stop_event, self.rng = ledger, stop, random.Random(seed)
        self.counter = 0
        self.error = None

    def next_id(self, prefix):
        self.counter += 1
        return f"{self.name}-{prefix}{self.counter}"

    def run(self):
        try:
            while not self.stop_event.is_set():
                if not self.step():
                    return
        except Exception as e:  # a bug in this script, not a lost write
            self.error = e

    def step(self):
        rng, ledger = self.rng, self.ledger
        op = rng.random()
        try:
            if op < 0.3:
                ids = [self.next_id("e") for _ in range(rng.randint(1, 3))]
                labels = {i: f"Entity {i} {rng.randint(0, 10**6)}" for i in ids}
                resp = self.ingest.UpsertEntities(
                    ingest_pb2.UpsertEntitiesRequest(
                        entities=[types_pb2.Entity(id=i, label=labels[i], kind="thing") for i in ids]),
                    timeout=CALL_TIMEOUT)
                for i in ids:
                    ledger.record("entity", i, resp.revision, labels[i])
            elif op < 0.75:
                ends = ledger.pick_entities(rng, 2)
                if ends is None:
                    return True
                rid = self.next_id("r")
                r = relation(rid, ends[0], rng.choice(PREDICATES), ends[1], rng.randint(1990, 2020), types_pb2.ASSERTED)
                resp = self.ingest.PutRelations(ingest_pb2.PutRelationsRequest(relations=[r]), timeout=CALL_TIMEOUT)
                ledger.record("relation", rid, resp.revision, relation_key(r))
            elif op < 0.9:
                rid = ledger.pick_live_relation(rng)
                ends = ledger.pick_entities(rng, 2)
                if rid is None or ends is None:
                    return True
                r = relation(rid, ends[0], rng.choice(PREDICATES), ends[1], rng.randint(1990, 2020),
                             rng.choice([types_pb2.ASSERTED, types_pb2.PLANNED, types_pb2.DENIED]))
                resp = self.ingest.PutRelations(ingest_pb2.PutRelationsRequest(relations=[r]), timeout=CALL_TIMEOUT)
                if resp.written_count:
                    ledger.record("relation", rid, resp.revision, relation_key(r))
            else:
                rid = ledger.pick_live_relation(rng)
                if rid is None:
                    return True
                ledger.forget_relation(rid)  # nobody else retracts it meanwhile
                resp = self.ingest.RetractRelation(ingest_pb2.RetractRelationRequest(id=rid, reason="crash test"),
                                                   timeout=CALL_TIMEOUT)
                ledger.record("retraction", rid, resp.revision, None)
        except grpc.RpcError as e:
            code = e.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
                        grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
                with ledger.lock:
                    ledger.unknown += 1
                return False  # the server is gone (killed)
            if code == grpc.StatusCode.FAILED_PRECONDITION:
                return True  # an unacknowledged retraction had committed before a kill
            raise
        return True


class IngestWriter(Writer):
    """An Ingest stream: batches of new entities and relations between them."""

    def run(self):
        try:
            self.stream()
        except Exception as e:
            self.error = e

    def batches(self, pending, window):
        while not self.stop_event.is_set():
            # At most two batches unacknowledged: gRPC would otherwise read ahead without bound.
            if not window.acquire(timeout=0.05):
                continue
            batch = ingest_pb2.IngestRequest()
            ids = [self.next_id("i") for _ in range(self.rng.randint(2, 8))]
            expected = []
            for i in ids:
                label = f"Ingested {i}"
                batch.entities.append(types_pb2.Entity(id=i, label=label, kind="thing"))
                expected.append(("entity", i, label))
            for _ in range(self.rng.randint(0, 6)):
                rid = self.next_id("ir")
                r = relation(rid, self.rng.choice(ids), self.rng.choice(PREDICATES), self.rng.choice(ids),
                             self.rng.randint(1990, 2020), types_pb2.ASSERTED)
                batch.relations.append(r)
                expected.append(("relation", rid, relation_key(r)))
            pending.append(expected)
            yield batch

    def stream(self):
        pending = []
        window = threading.Semaphore(2)
        try:
            for ack in self.ingest.Ingest(self.batches(pending, window), timeout=60):
                expected = pending.pop(0)
                window.release()
                if len(ack.errors):
                    raise RuntimeError(f"Ingest refused a good batch: {ack.errors}")
                for kind, id_, value in expected:
                    self.ledger.record(kind, id_, ack.revision, value)
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN,
                                grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            with self.ledger.lock:
                self.ledger.unknown += len(pending)


def check_acked(channel, entries, in_flight=256):
    """The acknowledged writes that cannot be read back as acknowledged (reads as of each
    write's revision, `in_flight` at a time)."""
    query = query_pb2_grpc.QueryServiceStub(channel)
    lost = []

    def judge(entry, future):
        kind, id_, revision, expected = entry
        try:
            got = future.result()
        except grpc.RpcError as e:
            return f"{e.code().name}: {e.details()}"
        if got.revision != revision:
            return f"the version read is from revision {got.revision}"
        if kind == "entity":
            return None if got.label == expected else f"read label {got.label!r}"
        if kind == "retraction":
            return None if got.retracted else "not retracted"
        if got.retracted or relation_key(got) != expected:
            return f"read {relation_key(got)}, retracted={got.retracted}"
        return None

    for start in range(0, len(entries), in_flight):
        chunk = entries[start:start + in_flight]
        futures = []
        for kind, id_, revision, _ in chunk:
            if kind == "entity":
                futures.append(query.GetEntity.future(query_pb2.GetEntityRequest(id=id_, as_of_revision=revision),
                                                      timeout=CALL_TIMEOUT * 4))
            else:
                futures.append(query.GetRelation.future(
                    query_pb2.GetRelationRequest(id=id_, as_of_revision=revision, show_retracted=True),
                    timeout=CALL_TIMEOUT * 4))
        for entry, future in zip(chunk, futures):
            problem = judge(entry, future)
            if problem:
                lost.append((entry[0], entry[1], entry[2], problem))
    return lost


def run_verify(annals, db):
    done = subprocess.run([annals, "verify", "--db", db], capture_output=True, text=True, env=clean_env(), timeout=120)
    return done.returncode, (done.stdout + done.stderr).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--annalsd", required=True)
    ap.add_argument("--annals", required=True, help="the CLI, for `annals verify`")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--sync", action="store_true", help="run annalsd with --sync")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--min-run", type=float, default=0.05, help="shortest run before a kill, seconds")
    ap.add_argument("--max-run", type=float, default=0.6, help="longest run before a kill, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="annals-crash-"))
    db = str(work / "db")
    # Private copies: a rebuild of the build tree during the run must not pull the binary
    # out from under a restart.
    annalsd = str(work / "annalsd")
    shutil.copy2(args.annalsd, annalsd)
    args.annals = shutil.copy2(args.annals, str(work / "annals"))
    server = Server(annalsd, db, work, args.sync)
    ledger = Ledger()
    checked = 0
    failures = []
    started = time.monotonic()
    print(f"crash-test: seed {seed}, {args.kills} kills, work dir {work}{', --sync' if args.sync else ''}", flush=True)
    kill = 0
    try:
        for kill in range(1, args.kills + 1):
            revision = server.start()
            channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
            # What the last life acknowledged must all be there.
            if revision < ledger.max_revision:
                failures.append(f"restart {kill}: the server came back at revision {revision}, "
                                f"but revision {ledger.max_revision} was acknowledged")
            with ledger.lock:
                fresh = ledger.acked[checked:]
                checked = len(ledger.acked)
            for lost in check_acked(channel, fresh):
                failures.append(f"restart {kill}: lost {lost}")

            stop = threading.Event()
            writers = [Writer(f"w{kill}a", channel, ledger, stop, rng.random()),
                       Writer(f"w{kill}b", channel, ledger, stop, rng.random()),
                       IngestWriter(f"w{kill}c", channel, ledger, stop, rng.random())]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(args.min_run, args.max_run))
            server.kill()
            stop.set()
            for w in writers:
                w.join(timeout=CALL_TIMEOUT + 5)
                if w.is_alive():
                    failures.append(f"kill {kill}: writer {w.name} did not stop")
                if w.error:
                    failures.append(f"kill {kill}: writer {w.name} failed: {w.error!r}")
            channel.close()

            code, out = run_verify(args.annals, db)
            if code != 0:
                failures.append(f"kill {kill}: annals verify exited {code}:\n{out}")
            if failures:
                break
            if kill % 10 == 0 or kill == args.kills:
                print(f"crash-test: {kill} kills, {len(ledger.acked)} acknowledged writes, "
                      f"revision {ledger.max_revision}, {time.monotonic() - started:.1f} s", flush=True)

        # Once more: the whole run's acknowledged writes, and the change log through the API.
        if not failures:
            revision = server.start()
            channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
            for lost in check_acked(channel, ledger.acked):
                failures.append(f"final check: lost {lost}")
            diff = diff_pb2_grpc.DiffServiceStub(channel)
            seen = set()
            for change in diff.DiffRevisions(diff_pb2.DiffRevisionsRequest(from_revision=0, to_revision=revision),
                                             timeout=120):
                seen.add(change.revision)
            missing = sorted(set(range(1, revision + 1)) - seen)
            if missing:
                failures.append(f"final check: DiffRevisions has no change for revisions {missing[:20]}")
            channel.close()
            server.stop()
            code, out = run_verify(args.annals, db)
            if code != 0:
                failures.append(f"final verify exited {code}:\n{out}")
            else:
                print(f"crash-test: {out.splitlines()[0]}")
    except Exception as e:  # the harness itself broke (could not start annalsd, ...)
        failures.append(f"kill {kill}: {e!r}")
    finally:
        server.kill()

    kills = min(kill, args.kills) if args.kills > 0 else 0
    lost = sum(1 for f in failures if "lost" in f)
    print(f"{kills} kills, {len(ledger.acked)} acknowledged writes, {lost} lost "
          f"({ledger.unknown} unacknowledged writes cut off; {time.monotonic() - started:.1f} s)")
    if failures:
        for f in failures[:50]:
            print(f"crash-test: FAILED: {f}", file=sys.stderr)
        print(f"crash-test: work dir kept: {work}", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
