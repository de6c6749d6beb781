#!/usr/bin/env python3
"""The cluster on the real engine (issue #17): 3 etcd members and 3 annalsd replicas on
127.0.0.1, each in its own temporary directory, the built binaries, and faults made with
signals. Writers send writes with request ids to every replica (followers forward them to
the leader) for a fixed budget while one fault happens. Each write is a relation without an
id, so the server assigns one: a write applied twice would show as two relations.

  annals-leader   SIGKILL the annalsd that leads, start it again
  etcd-leader     SIGKILL the etcd member that leads raft, start it again
  pause-follower  SIGSTOP an annalsd follower for 3 s, then SIGCONT
  etcd-all        SIGKILL every etcd member, start them again
  rolling         restart every annalsd, one by one (SIGTERM, start), under load
  wipe-follower   SIGKILL a follower, delete its database, start it: it joins from a peer
  rejoin-trimmed  stop a follower until the log is trimmed past it, start it: it moves its
                  database aside and joins from a peer

After each: every acknowledged write is on every replica, once, at the revision it was
acknowledged with; a write that was never acknowledged is there once or not at all; all
replicas reach the same head and export the same graph at it; the change feed from 0 is
the same on every replica. When the trim scenario ran, etcd holds fewer entries than the
log's head and its history is compacted. At the end, with everything stopped: `annals verify` passes on
every database and the state digests (`annals log export`) are equal.

Usage:
  cluster_test.py --annalsd BIN --annals BIN [--faults N] [--seconds S] [--seed K] [--report FILE]
--faults N runs N faults picked at random (with --seed) instead of each scenario once.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
SERVING_RE = re.compile(r"^annalsd: serving on 127\.0\.0\.1:(\d+) ")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    def __init__(self, work, n=3):
        self.work = work
        self.members = [{"name": f"m{i}", "client": free_port(), "peer": free_port(), "proc": None} for i in range(n)]
        self.initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in self.members)

    def endpoints(self):
        return ",".join(f"127.0.0.1:{m['client']}" for m in self.members)

    def start(self, i):
        m = self.members[i]
        c, p = f"http://127.0.0.1:{m['client']}", f"http://127.0.0.1:{m['peer']}"
        log = open(self.work / f"etcd-{m['name']}.log", "ab")
        m["proc"] = subprocess.Popen(
            [ETCD, "--name", m["name"], "--data-dir", str(self.work / f"etcd-{m['name']}"),
             "--listen-client-urls", c, "--advertise-client-urls", c, "--listen-peer-urls", p,
             "--initial-advertise-peer-urls", p, "--initial-cluster", self.initial,
             "--initial-cluster-state", "new", "--initial-cluster-token", "annals-cluster-test",
             "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)

    def kill(self, i):
        p = self.members[i]["proc"]
        if p and p.poll() is None:
            p.kill()
            p.wait()

    def ctl(self, *args):
        return subprocess.run([ETCDCTL, "--endpoints", self.endpoints(), "--dial-timeout", "1s",
                               "--command-timeout", "3s", *args],
                              capture_output=True, text=True, env={**os.environ, "ETCDCTL_API": "3"})

    def leader_index(self):
        r = self.ctl("endpoint", "status", "-w", "json")
        if r.returncode != 0:
            return None
        for i, s in enumerate(json.loads(r.stdout)):
            st = s["Status"]
            if st["leader"] == st["header"]["member_id"]:
                return [m["client"] for m in self.members].index(int(s["Endpoint"].rsplit(":", 1)[1]))
        return None

    def wait_ready(self, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.leader_index() is not None:
                return
            time.sleep(0.2)
        raise RuntimeError("etcd did not elect a leader")


class Replica:
    def __init__(self, t, i):
        self.t, self.i, self.name = t, i, f"n{i}"
        self.db = t.work / f"db-{self.name}"
        self.proc, self.port = None, None
        # The binary it runs: the previous release's until the upgrade fault, with --annalsd-before.
        self.binary = t.annalsd_before or t.annalsd

    def start(self):
        out = self.t.work / f"{self.name}.out"
        err = open(self.t.work / f"{self.name}.err", "ab")
        listen = f"127.0.0.1:{self.port}" if self.port else "127.0.0.1:0"
        # A small retention floor, so the trim scenarios run in seconds (when the binary has it).
        retain = ["--log-retain-entries", "20", "--log-retain-seconds", "0"] if self.t.knows(self.binary, "--log-retain-entries") else []
        self.proc = subprocess.Popen(
            [self.binary, "--listen", listen, "--metrics-listen", "", "--db", str(self.db),
             "--etcd-endpoints", self.t.etcd.endpoints(), "--cluster-name", "test", "--node-id", self.name,
             "--lease-seconds", "2", *retain],
            stdout=open(out, "wb"), stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            m = SERVING_RE.match(out.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.t.work / f'{self.name}.err').read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start")

    def err_text(self):
        path = self.t.work / f"{self.name}.err"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


class Test:
    def __init__(self, args):
        self.annalsd, self.annals = args.annalsd, args.annals
        self.annalsd_before = args.annalsd_before
        self.helps = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="annals-cluster-")
        self.work = Path(self.tmp.name)
        self.etcd = Etcd(self.work)
        self.replicas = [Replica(self, i) for i in range(3)]
        self.acked = {}      # write (its predicate) -> (relation id, revision it was acknowledged at)
        self.unacked = set() # writes that never got an answer
        self.lock = threading.Lock()
        self.seq = 0
        self.acks = []       # when each write of the scenario was acknowledged (any writer)
        self.gaps = []       # longest wait of one writer for its write, per scenario
        self.log = []
        self.ryw_reads = 0   # reads of an acknowledged write on another replica that found it

    def knows(self, binary, flag):
        if binary not in self.helps:
            self.helps[binary] = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        return flag in self.helps[binary]

    def cli(self, addr, *args, timeout=10):
        return subprocess.run([self.annals, "--addr", addr, "--timeout", "5", "--json", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def leader(self):
        r = self.etcd.ctl("get", "/annals/test/leader", "--print-value-only")
        node = r.stdout.split(" ")[0].strip() if r.returncode == 0 and r.stdout.strip() else None
        return next((x for x in self.replicas if x.name == node), None)

    def write_loop(self, stop, writer):
        last_ack = time.time()
        longest = 0.0
        while not stop.is_set():
            with self.lock:
                self.seq += 1
                n = self.seq
            eid, rid = f"step-{writer}-{n}", f"req-w{writer}-{n}"
            done = False
            deadline = time.time() + 20
            attempt = 0
            while not done and time.time() < deadline and not stop.is_set():
                target = self.replicas[(n + attempt) % 3]
                attempt += 1
                try:
                    r = self.cli(target.addr, "relation", "put", f"writer-{writer}", eid, "target",
                                 "--request-id", rid, timeout=8)
                except subprocess.TimeoutExpired:
                    continue
                if r.returncode == 0:
                    got = json.loads(r.stdout)
                    rel = got["relations"][0] if "relations" in got else got
                    ack = (rel["id"], int(got.get("revision", rel.get("revision", 0))))
                    with self.lock:
                        if eid in self.acked and self.acked[eid] != ack:
                            raise AssertionError(f"{eid} acknowledged as {self.acked[eid]} and as {ack}")
                        self.acked[eid] = ack
                    now = time.time()
                    longest = max(longest, now - last_ack)
                    last_ack = now
                    self.acks.append(now)
                    done = True
                    if n % 5 == 0:
                        self.read_your_write(self.replicas[(n + attempt) % 3], eid, *ack)
                else:
                    time.sleep(0.1)
            if not done:
                with self.lock:
                    self.unacked.add(eid)
        with self.lock:
            self.gaps.append(max(longest, time.time() - last_ack))

    def read_your_write(self, other, eid, rid, rev):
        """Reads an acknowledged write on another replica with --min-revision: it must be
        there (that replica waits until it has applied it), unless the replica is down or
        paused by the fault (UNAVAILABLE, DEADLINE_EXCEEDED, no answer)."""
        if other.binary != self.annalsd:
            return  # the previous release ignores consistency: nothing to check there
        try:
            r = self.cli(other.addr, "--min-revision", rev, "relation", "get", rid, timeout=8)
        except subprocess.TimeoutExpired:
            return
        if r.returncode == 0:
            got = json.loads(r.stdout)
            assert got["id"] == rid and int(got["revision"]) == rev, f"{eid}: read {got} on {other.name}, wrote {rid} at {rev}"
            with self.lock:
                self.ryw_reads += 1
        else:
            assert "UNAVAILABLE" in r.stderr or "DEADLINE_EXCEEDED" in r.stderr, \
                f"{eid}: --min-revision {rev} read on {other.name} failed: {r.stderr.strip()}"

    def under_load(self, seconds, fault):
        """Runs the writers around `fault`; returns (the cluster's longest time without any
        acknowledged write, one writer's longest wait)."""
        stop = threading.Event()
        self.gaps = []
        self.acks = []
        writers = [threading.Thread(target=self.write_loop, args=(stop, w)) for w in range(3)]
        for w in writers:
            w.start()
        time.sleep(1.0)
        fault()
        time.sleep(seconds)
        stop.set()
        for w in writers:
            w.join()
        acks = sorted(self.acks)
        cluster_gap = max((b - a for a, b in zip(acks, acks[1:])), default=0.0)
        return cluster_gap, (max(self.gaps) if self.gaps else 0.0)

    def converge(self, seconds=30):
        """Waits until every replica answers at the same revision; returns it."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            revs = []
            for x in self.replicas:
                r = self.cli(x.addr, "relation", "list", "--page-size", "1")
                revs.append(int(json.loads(r.stdout).get("revision", 0)) if r.returncode == 0 else None)
            if None not in revs and len(set(revs)) == 1 and revs[0] >= max((r for _, r in self.acked.values()), default=0):
                return revs[0]
            time.sleep(0.3)
        raise AssertionError(f"replicas did not converge: revisions {revs}")

    def check(self, scenario):
        rev = self.converge()
        exports = []
        for x in self.replicas:
            path = self.work / f"export-{x.name}-{scenario}.jsonl"
            r = self.cli(x.addr, "export", path, "--as-of", rev, timeout=60)
            assert r.returncode == 0, r.stderr
            exports.append(path.read_bytes())
        assert exports[0] == exports[1] == exports[2], f"{scenario}: replicas export different graphs at {rev}"
        counts = {}
        for line in exports[0].decode().splitlines():
            if '"relation"' in line:
                rel = json.loads(line)["relation"]
                counts.setdefault(rel["predicate"], []).append(rel["id"])
        missing = [w for w in self.acked if w not in counts]
        assert not missing, f"{scenario}: acknowledged writes missing: {missing[:5]}"
        twice = [w for w, ids in counts.items() if len(ids) > 1]
        assert not twice, f"{scenario}: writes applied more than once: {twice[:5]}"
        wrong = [w for w, (rid, _) in self.acked.items() if counts[w] != [rid]]
        assert not wrong, f"{scenario}: acknowledged under another relation id: {wrong[:5]}"
        # Each acknowledged write at the revision it was acknowledged with, on every replica.
        sample = random.sample(sorted(self.acked), min(15, len(self.acked)))
        for x in self.replicas:
            for w in sample:
                rid, acked_at = self.acked[w]
                r = self.cli(x.addr, "relation", "get", rid)
                assert r.returncode == 0, r.stderr
                got = int(json.loads(r.stdout)["revision"])
                assert got == acked_at, f"{scenario}: {w} ({rid}) at {got} on {x.name}, acknowledged at {acked_at}"
        # A listing begun on one replica goes on, identically, on every other (page tokens
        # carry a revision, not a place in one replica's memory).
        first = self.cli(self.replicas[0].addr, "relation", "list", "--object", "target", "--page-size", 7)
        assert first.returncode == 0, first.stderr
        token = json.loads(first.stdout)["nextPageToken"]
        seconds = []
        for x in self.replicas:
            r = self.cli(x.addr, "relation", "list", "--object", "target", "--page-size", 7, "--page-token", token)
            assert r.returncode == 0, f"{scenario}: page 2 on {x.name}: {r.stderr}"
            seconds.append(r.stdout)
        assert seconds[0] == seconds[1] == seconds[2], f"{scenario}: the second page differs between replicas"
        # A linearizable read on any replica sees every acknowledged write.
        newest = max(r for _, r in self.acked.values())
        for x in self.replicas:
            r = self.cli(x.addr, "--linearizable", "relation", "list", "--page-size", 1)
            assert r.returncode == 0, r.stderr
            assert int(json.loads(r.stdout)["revision"]) >= newest, f"{scenario}: a linearizable read on {x.name} missed {newest}"
        # The change feed from 0, the same everywhere (each request id applied once: one
        # ENTITY change per written entity).
        feeds = []
        for x in self.replicas:
            r = self.cli(x.addr, "diff", "--from-rev", 0, "--to-rev", rev, timeout=60)
            assert r.returncode == 0, r.stderr
            feeds.append(r.stdout)
        assert feeds[0] == feeds[1] == feeds[2], f"{scenario}: change feeds differ"
        return rev

    # --- faults --------------------------------------------------------------------------
    def fault_annals_leader(self):
        victim = self.leader()
        assert victim is not None, "no annals leader"
        victim.stop(signal.SIGKILL)
        self.log.append(f"SIGKILL annalsd leader {victim.name}")
        time.sleep(1.5)
        victim.start()

    def fault_etcd_leader(self):
        i = self.etcd.leader_index()
        assert i is not None
        self.etcd.kill(i)
        self.log.append(f"SIGKILL etcd leader m{i}")
        time.sleep(2)
        self.etcd.start(i)

    def fault_pause_follower(self):
        leader = self.leader()
        victim = next(x for x in self.replicas if x is not leader)
        victim.proc.send_signal(signal.SIGSTOP)
        self.log.append(f"SIGSTOP follower {victim.name} for 3 s")
        time.sleep(3)
        victim.proc.send_signal(signal.SIGCONT)

    def fault_etcd_all(self):
        for i in range(3):
            self.etcd.kill(i)
        self.log.append("SIGKILL every etcd member")
        time.sleep(1)
        for i in range(3):
            self.etcd.start(i)

    def fault_rolling(self):
        for x in self.replicas:
            x.stop(signal.SIGTERM)
            x.start()
            time.sleep(0.5)
        self.log.append("rolling restart of every annalsd")

    def fault_wipe_follower(self):
        leader = self.leader()
        victim = next(x for x in self.replicas if x is not leader)
        victim.stop(signal.SIGKILL)
        shutil.rmtree(victim.db)
        self.log.append(f"SIGKILL follower {victim.name}, wipe its volume, start it")
        copies = victim.err_text().count("copied ")
        victim.start()
        assert victim.err_text().count("copied ") == copies + 1, f"{victim.name} did not join from a peer"

    def fault_rejoin_trimmed(self):
        leader = self.leader()
        victim = next(x for x in self.replicas if x is not leader)
        victim.stop(signal.SIGTERM)
        self.log.append(f"stop follower {victim.name} until the log is trimmed past it, start it")
        # The leader trims every 10 s, keeping 20 entries (the flags above); the writers add
        # far more than 20 meanwhile, and the stopped member no longer holds trimming back.
        time.sleep(13)
        replaced = victim.err_text().count("replacing the database with a peer's copy")
        victim.start()
        assert victim.err_text().count("replacing the database with a peer's copy") == replaced + 1, \
            f"{victim.name} was not left behind by the trim, or did not rejoin from a peer"

    def fault_upgrade(self):
        """The rolling upgrade Kubernetes does: highest ordinal first, one replica at a time,
        each restarted on the new binary (it opens the previous release's database)."""
        for x in sorted(self.replicas, key=lambda r: r.name, reverse=True):
            x.stop(signal.SIGTERM)
            x.binary = self.annalsd
            x.start()
            time.sleep(1.0)
        self.log.append("rolling upgrade of every annalsd onto the new binary")

    FAULTS = ["annals_leader", "etcd_leader", "pause_follower", "etcd_all", "rolling", "wipe_follower",
              "rejoin_trimmed"]

    def run(self, faults, seconds, report):
        for i in range(3):
            self.etcd.start(i)
        self.etcd.wait_ready()
        for x in self.replicas:
            x.start()
        deadline = time.time() + 20
        while self.leader() is None and time.time() < deadline:
            time.sleep(0.1)
        # The writers' subjects and the object every write points at.
        for name in ["target"] + [f"writer-{w}" for w in range(3)]:
            r = self.cli(self.replicas[0].addr, "entity", "put", name, "--label", name, "--request-id", f"setup-{name}")
            assert r.returncode == 0, r.stderr
        results = []
        for k, name in enumerate(faults):
            gap, wait = self.under_load(seconds, getattr(self, f"fault_{name}"))
            rev = self.check(f"{k}-{name}")
            results.append((name, gap, wait, rev, len(self.acked), len(self.unacked)))
            print(f"cluster_test: {name}: ok; no write acknowledged for at most {gap:.2f} s (one writer waited "
                  f"at most {wait:.2f} s); revision {rev}; {len(self.acked)} acknowledged, {len(self.unacked)} "
                  f"unanswered; {self.ryw_reads} read back on another replica with --min-revision", flush=True)
        assert self.ryw_reads > 0, "no acknowledged write was read back on another replica"
        # `annals cluster status` from every replica: one leader, three members caught up,
        # every etcd member answering, the log's extent consistent.
        rev = self.converge()
        for x in self.replicas:
            r = self.cli(x.addr, "cluster", "status")
            assert r.returncode == 0, r.stderr
            st = json.loads(r.stdout)
            assert st["nodeId"] == x.name and st["leaderId"] == self.leader().name, st
            assert sorted(m["nodeId"] for m in st["members"]) == ["n0", "n1", "n2"], st["members"]
            assert [m["nodeId"] for m in st["members"] if m.get("leader")] == [st["leaderId"]], st["members"]
            assert len(st["etcd"]) == 3 and not any(e.get("error") for e in st["etcd"]), st["etcd"]
            assert sum(1 for e in st["etcd"] if e.get("leader")) == 1, st["etcd"]
            assert int(st["logEntries"]) == int(st["headPosition"]) - int(st["firstPosition"]) + 1, st
        # The log stays bounded: the leader trims (every 10 s, keeping 20 entries and what
        # every member needs) and compacts etcd's history.
        if "rejoin_trimmed" in faults:
            head = int(self.etcd.ctl("get", "/annals/test/head", "--print-value-only").stdout.strip())
            keys = self.etcd.ctl("get", "/annals/test/log/", "--prefix", "--keys-only")
            assert keys.returncode == 0, keys.stderr
            held = len([k for k in keys.stdout.splitlines() if k.strip()])
            assert held < head, f"etcd holds {held} entries of {head}: the log was never trimmed"
            old = self.etcd.ctl("get", "/annals/test/head", "--rev", "2")
            assert old.returncode != 0 and "compacted" in old.stderr, f"etcd's history was not compacted: {old.stderr}"
            print(f"cluster_test: etcd holds {held} of the log's {head} entries; its history is compacted", flush=True)
        # The end: everything stopped, each database checked offline.
        for x in self.replicas:
            x.stop()
        digests = []
        for x in self.replicas:
            v = subprocess.run([self.annals, "--json", "verify", "--db", str(x.db)], capture_output=True, text=True)
            assert v.returncode == 0, f"verify {x.name}: {v.stdout}{v.stderr}"
            e = subprocess.run([self.annals, "--json", "log", "export", "--db", str(x.db),
                                str(self.work / f"log-{x.name}")], capture_output=True, text=True)
            assert e.returncode == 0, e.stderr
            digests.append(json.loads(e.stdout)["digest"])
        assert len(set(digests)) == 1, f"state digests differ: {digests}"
        print(f"cluster_test: every database verifies; one state digest {digests[0]}", flush=True)
        if report:
            with open(report, "w") as f:
                f.write("| # | fault | no write acknowledged for (s) | one writer's longest wait (s) | revision | "
                        "acknowledged so far | unanswered |\n")
                f.write("|---:|---|---:|---:|---:|---:|---:|\n")
                for k, (name, gap, wait, rev, a, u) in enumerate(results):
                    f.write(f"| {k + 1} | {name} | {gap:.2f} | {wait:.2f} | {rev} | {a} | {u} |\n")
        return results

    def close(self):
        for x in self.replicas:
            if x.proc and x.proc.poll() is None:
                x.proc.send_signal(signal.SIGCONT)
                x.proc.kill()
        for i in range(3):
            self.etcd.kill(i)
        self.tmp.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--annalsd", required=True)
    ap.add_argument("--annals", required=True)
    ap.add_argument("--annalsd-before", help="the previous release's annalsd: replicas start on it and the "
                    "'upgrade' fault rolls them onto --annalsd (scripts/upgrade-rehearsal.sh)")
    ap.add_argument("--scenarios", help="comma-separated faults to run, in order, instead of each once")
    ap.add_argument("--faults", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--report")
    args = ap.parse_args()
    random.seed(args.seed)
    faults = [random.choice(Test.FAULTS) for _ in range(args.faults)] if args.faults else list(Test.FAULTS)
    if args.scenarios:
        faults = args.scenarios.split(",")
    t = Test(args)
    try:
        results = t.run(faults, args.seconds, args.report)
    except Exception as e:  # noqa: BLE001 - report and fail
        print(f"cluster_test: FAILED: {e}", flush=True)
        for x in t.replicas:
            err = t.work / f"{x.name}.err"
            if err.exists():
                print(f"--- {x.name} stderr (end) ---\n{err.read_text(errors='replace')[-1500:]}", flush=True)
        t.close()
        return 1
    t.close()
    print(f"{len(results)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
