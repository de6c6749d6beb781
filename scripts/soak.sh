#!/usr/bin/env bash
# Soak: a bounded mixed load on loopback against the built annalsd, for 5 minutes by default.
#
#   scripts/soak.sh [--seconds N] [--ingest-rate ITEMS_PER_S] [--report FILE.md]
#   scripts/soak.sh --ingest-rate 0 --preload 200000   # reads only, at a fixed size
#
# One annalsd on a fresh database (seed data loaded), and at once:
#   - an Ingest stream of new entities and relations at --ingest-rate items/s (default 1000),
#   - a unary writer putting new versions of existing relations and retracting some,
#   - two readers: ListRelations (subject, predicate, window), Neighbors, SearchEntities,
#     GetRelation, Traverse and DiffRevisions of recent revisions, as fast as they go,
#   - a Watch stream following every commit live.
# Every 10 s (or seconds/30) it prints operations, errors, the revision, the watch lag and
# annalsd's RSS; at the end the throughput per kind, error counts, latency percentiles, a
# clean SIGTERM stop and `annals verify` of the database. --report writes the figures as
# Markdown (bench/results/YYYY-MM-DD-soak.md). Exit 1 on any error or failed check.
#
# With --ingest-rate 0 nothing is written during the run (no Ingest stream, no unary
# writer): the database keeps the size --preload gave it (relations ingested before the
# clock starts), so annalsd's memory must level off. The check: RSS at the end may exceed
# RSS at half time by at most --max-rss-growth-pct (default 10 when reads only); more is a
# failure, as a leak would be.
#
# Uses ./build (BUILD_DIR=... for another tree); Debian's python3-grpcio drives the load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
for bin in "$build/service/annalsd" "$build/clients/cli/annals" "$build/clients/python/gen/annals/v1/ingest_pb2_grpc.py"; do
  [ -e "$bin" ] || { echo "soak: $bin is missing; build first (scripts/build.sh)" >&2; exit 2; }
done
export PYTHONPATH="$root/clients/python:$build/clients/python/gen${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
export SOAK_ANNALSD="$build/service/annalsd" SOAK_ANNALS="$build/clients/cli/annals" SOAK_SEED="$root/data/seed"
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'PY'
import argparse, os, random, re, shutil, signal, subprocess, sys, tempfile, threading, time
import grpc
from annals.v1 import diff_pb2, diff_pb2_grpc, ingest_pb2, ingest_pb2_grpc, query_pb2, query_pb2_grpc, types_pb2

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=300)
ap.add_argument("--ingest-rate", type=float, default=1000, help="items per second through Ingest")
ap.add_argument("--report", default="")
ap.add_argument("--preload", type=int, default=0, help="relations ingested before the clock starts")
ap.add_argument("--max-rss-growth-pct", type=float, default=None,
                help="fail when RSS grows more than this from half time to the end (default 10 with --ingest-rate 0)")
args = ap.parse_args()
read_only = args.ingest_rate <= 0
if args.max_rss_growth_pct is None and read_only:
    args.max_rss_growth_pct = 10.0

ANNALSD, ANNALS, SEED = os.environ["SOAK_ANNALSD"], os.environ["SOAK_ANNALS"], os.environ["SOAK_SEED"]
PREDICATES = ["met", "visited", "signed", "supports", "trades_with", "criticised"]
env = {k: v for k, v in os.environ.items() if not k.startswith("ANNALS_")}
work = tempfile.mkdtemp(prefix="annals-soak-")
db = os.path.join(work, "db")
out = open(os.path.join(work, "annalsd.out"), "wb")
err = open(os.path.join(work, "annalsd.err"), "wb")
proc = subprocess.Popen([ANNALSD, "--listen", "127.0.0.1:0", "--db", db, "--load", SEED],
                        stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
port = None
deadline = time.time() + 60
while time.time() < deadline and port is None:
    m = re.search(rb"serving on 127\.0\.0\.1:(\d+)", open(os.path.join(work, "annalsd.out"), "rb").read())
    if m:
        port = int(m.group(1))
    elif proc.poll() is not None:
        sys.exit(f"soak: annalsd exited: {open(os.path.join(work, 'annalsd.err')).read()}")
    else:
        time.sleep(0.05)
if port is None:
    proc.kill()
    sys.exit("soak: annalsd did not start")

channel = grpc.insecure_channel(f"127.0.0.1:{port}")
ingest = ingest_pb2_grpc.IngestServiceStub(channel)
query = query_pb2_grpc.QueryServiceStub(channel)
diff = diff_pb2_grpc.DiffServiceStub(channel)

lock = threading.Lock()
ops, errors, lat = {}, {}, {}
entities = ["pakistan", "russia", "zardari", "putin"]
relations = []
watched = {"revision": 0, "changes": 0}
stop = threading.Event()


def count(kind, seconds=None, error=None):
    with lock:
        if error is not None:
            errors[kind] = errors.get(kind, 0) + 1
            if errors[kind] <= 3:
                print(f"soak: {kind} error: {error}", flush=True)
            return
        ops[kind] = ops.get(kind, 0) + 1
        if seconds is not None:
            lat.setdefault(kind, []).append(seconds)


def timed(kind, fn):
    t = time.perf_counter()
    try:
        r = fn()
    except grpc.RpcError as e:
        count(kind, error=f"{e.code().name}: {e.details()}")
        return None
    count(kind, time.perf_counter() - t)
    return r


def ingester():
    rng = random.Random(1)
    n = 0
    batch_items = 50
    interval = batch_items / args.ingest_rate
    pending = []

    def batches():
        nonlocal n
        next_at = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(next_at - now, 0.1))
                continue
            next_at += interval
            b = ingest_pb2.IngestRequest()
            ids = []
            for _ in range(batch_items // 2):
                n += 1
                ids.append(f"s{n}")
                b.entities.append(types_pb2.Entity(id=f"s{n}", label=f"Soak entity {n} {rng.choice(PREDICATES)}", kind="thing"))
            with lock:
                pool = entities[-2000:]
            for _ in range(batch_items - len(ids)):
                n += 1
                r = types_pb2.Relation(id=f"sr{n}", subject=rng.choice(ids), predicate=rng.choice(PREDICATES),
                                       object_id=rng.choice(pool + ids))
                r.valid.start.year = rng.randint(1990, 2024)
                if rng.random() < 0.5:
                    r.valid.start.month = rng.randint(1, 12)
                b.relations.append(r)
            pending.append((time.perf_counter(), ids, [r.id for r in b.relations]))
            yield b

    while not stop.is_set():
        try:
            for ack in ingest.Ingest(batches()):
                t, ids, rids = pending.pop(0)
                if len(ack.errors):
                    count("Ingest", error=str(ack.errors[0]))
                    continue
                count("Ingest", time.perf_counter() - t)
                with lock:
                    entities.extend(ids)
                    relations.extend(rids)
        except grpc.RpcError as e:
            if not stop.is_set():
                count("Ingest", error=f"{e.code().name}: {e.details()}")
                time.sleep(0.5)


def writer():
    rng = random.Random(2)
    while not stop.is_set():
        with lock:
            if not relations or len(entities) < 2:
                rid = None
            else:
                rid = rng.choice(relations[-5000:])
                s, o = rng.sample(entities[-5000:], 2)
        if rid is None:
            time.sleep(0.05)
            continue
        if rng.random() < 0.1:
            with lock:
                if rid in relations:
                    relations.remove(rid)
            timed("RetractRelation", lambda: ingest.RetractRelation(
                ingest_pb2.RetractRelationRequest(id=rid, reason="soak"), timeout=10))
        else:
            r = types_pb2.Relation(id=rid, subject=s, predicate=rng.choice(PREDICATES), object_id=o,
                                   status=rng.choice([types_pb2.ASSERTED, types_pb2.PLANNED]))
            r.valid.start.year = rng.randint(1990, 2024)
            timed("PutRelations", lambda: ingest.PutRelations(ingest_pb2.PutRelationsRequest(relations=[r]), timeout=10))
        time.sleep(0.01)


def reader(seed):
    rng = random.Random(seed)
    while not stop.is_set():
        with lock:
            e = rng.choice(entities)
            rid = rng.choice(relations) if relations else None
        op = rng.random()
        if op < 0.25:
            req = query_pb2.ListRelationsRequest(subject=e, page_size=100)
            if rng.random() < 0.5:
                req.window.start.year = rng.randint(1990, 2024)
                req.window.end.year = req.window.start.year + rng.randint(0, 5)
            timed("ListRelations", lambda: query.ListRelations(req, timeout=10))
        elif op < 0.35:
            req = query_pb2.ListRelationsRequest(predicate=rng.choice(PREDICATES), page_size=100)
            req.window.start.year = rng.randint(1990, 2024)
            timed("ListRelations(predicate)", lambda: query.ListRelations(req, timeout=10))
        elif op < 0.55:
            timed("Neighbors", lambda: query.Neighbors(query_pb2.NeighborsRequest(entity_id=e, limit=100), timeout=10))
        elif op < 0.7:
            timed("SearchEntities", lambda: query.SearchEntities(
                query_pb2.SearchEntitiesRequest(query=rng.choice(["soak", "entity 1", "pak", "met", "vis"]), page_size=20),
                timeout=10))
        elif op < 0.85 and rid:
            def get():
                try:
                    return query.GetRelation(query_pb2.GetRelationRequest(id=rid, show_retracted=True), timeout=10)
                except grpc.RpcError as ex:
                    if ex.code() == grpc.StatusCode.NOT_FOUND:
                        return None
                    raise
            timed("GetRelation", get)
        elif op < 0.95:
            timed("Traverse", lambda: query.Traverse(
                query_pb2.TraverseRequest(start_ids=[e], max_depth=2, max_results=500), timeout=10))
        else:
            def recent():
                latest = watched["revision"]
                n = 0
                # Preloaded revisions hold 1,000 relations each: two of them, not twenty.
                span = 2 if args.preload else 20
                for _ in diff.DiffRevisions(diff_pb2.DiffRevisionsRequest(from_revision=max(0, latest - span)), timeout=10):
                    n += 1
                return n
            timed("DiffRevisions(recent)", recent)


def watcher():
    while not stop.is_set():
        call = diff.Watch(diff_pb2.WatchRequest(from_revision=watched["revision"]))
        try:
            for change in call:
                with lock:
                    if change.revision < watched["revision"]:
                        errors["Watch order"] = errors.get("Watch order", 0) + 1
                    watched["revision"] = change.revision
                    watched["changes"] += 1
                if stop.is_set():
                    call.cancel()
                    return
        except grpc.RpcError as e:
            if stop.is_set():
                return
            count("Watch", error=f"{e.code().name}: {e.details()}")
            time.sleep(0.5)


def rss_mb():
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def latest_revision():
    try:
        return query.ListRelations(query_pb2.ListRelationsRequest(page_size=1), timeout=10).revision
    except grpc.RpcError:
        return -1


def preload(n):
    """n relations (and n/5 entities) through Ingest before the clock, in batches of 1,000."""
    rng = random.Random(5)
    made = 0

    def batches():
        nonlocal made
        while made < n:
            b = ingest_pb2.IngestRequest()
            base = len(entities)
            ids = [f"p{base + i}" for i in range(200)]
            for i in ids:
                b.entities.append(types_pb2.Entity(id=i, label=f"Preloaded {i} {rng.choice(PREDICATES)}", kind="thing"))
            pool = entities + ids
            for _ in range(min(1000, n - made)):
                made += 1
                r = types_pb2.Relation(id=f"pr{made}", subject=rng.choice(pool), predicate=rng.choice(PREDICATES),
                                       object_id=rng.choice(pool))
                r.valid.start.year = rng.randint(1990, 2024)
                b.relations.append(r)
                relations.append(r.id)
            entities.extend(ids)
            yield b

    for ack in ingest.Ingest(batches()):
        if len(ack.errors):
            sys.exit(f"soak: preload batch rejected: {ack.errors[0]}")
    print(f"soak: preloaded {made} relations, {len(entities)} entities", flush=True)


if args.preload > 0:
    preload(args.preload)
    watched["revision"] = latest_revision()

writers = () if read_only else (ingester, writer)
threads = [threading.Thread(target=f, daemon=True) for f in writers + (watcher,)]
threads += [threading.Thread(target=reader, args=(s,), daemon=True) for s in (3, 4)]
start = time.monotonic()
for t in threads:
    t.start()
step = max(1.0, min(10.0, args.seconds / 30))
samples = []
print(f"soak: annalsd pid {proc.pid} on 127.0.0.1:{port}, db {db}; {args.seconds:.0f} s, ingest {args.ingest_rate:.0f} items/s",
      flush=True)
print(f"{'t (s)':>6} {'ops':>9} {'ops/s':>8} {'errors':>6} {'revision':>9} {'watch lag':>9} {'RSS MB':>7}", flush=True)
last_ops, last_t = 0, 0.0
next_sample = step
while True:
    now = time.monotonic() - start
    if now >= args.seconds:
        break
    time.sleep(max(0.0, min(next_sample, args.seconds) - now))
    now = time.monotonic() - start
    if now < next_sample and now < args.seconds:
        continue
    next_sample += step
    with lock:
        total, errs = sum(ops.values()), sum(errors.values())
    rev = latest_revision()
    lag = rev - watched["revision"]
    rss = rss_mb()
    rate = (total - last_ops) / max(1e-9, now - last_t)
    last_ops, last_t = total, now
    samples.append((now, total, rate, errs, rev, lag, rss))
    print(f"{now:6.0f} {total:9d} {rate:8.0f} {errs:6d} {rev:9d} {lag:9d} {rss:7.0f}", flush=True)

stop.set()
elapsed = time.monotonic() - start
time.sleep(0.5)
final_rev = latest_revision()
time.sleep(1.0)
final_lag = final_rev - watched["revision"]
proc.send_signal(signal.SIGTERM)
try:
    code = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    code = -9
for t in threads:
    t.join(timeout=5)
verify = subprocess.run([ANNALS, "verify", "--db", db], capture_output=True, text=True, env=env)


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


rows = []
for kind in sorted(set(ops) | set(errors)):
    n = ops.get(kind, 0)
    rows.append((kind, n, n / elapsed, errors.get(kind, 0), pct(lat.get(kind, []), 50), pct(lat.get(kind, []), 99)))
total_errors = sum(errors.values())
# Memory from half time to the end: with a fixed database it must level off.
half = [x for x in samples if x[0] >= elapsed / 2]
rss_half, rss_end = (half[0][6], samples[-1][6]) if half else (0.0, 0.0)
rss_growth_pct = 100.0 * (rss_end - rss_half) / rss_half if rss_half > 0 else 0.0
rss_ok = args.max_rss_growth_pct is None or rss_growth_pct <= args.max_rss_growth_pct
rss_line = (f"RSS from half time to the end: {rss_half:.0f} -> {rss_end:.0f} MB ({rss_growth_pct:+.1f}%"
            + (f"; limit +{args.max_rss_growth_pct:.0f}%: {'levelled off' if rss_ok else 'STILL GROWING'})"
               if args.max_rss_growth_pct is not None else ")"))
failed = total_errors > 0 or code != 0 or verify.returncode != 0 or final_lag > 0 or not rss_ok

lines = []
lines.append(f"| kind | calls | calls/s | errors | p50 ms | p99 ms |")
lines.append(f"|---|---:|---:|---:|---:|---:|")
for kind, n, rate, e, p50, p99 in rows:
    lines.append(f"| {kind} | {n} | {rate:.1f} | {e} | {p50:.2f} | {p99:.2f} |")
table = "\n".join(lines)
over_time = ["| t (s) | calls so far | calls/s | errors | revision | watch lag (revisions) | annalsd RSS (MB) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
for s in samples:
    over_time.append(f"| {s[0]:.0f} | {s[1]} | {s[2]:.0f} | {s[3]} | {s[4]} | {s[5]} | {s[6]:.0f} |")
print()
print(table)
print()
print(f"soak: {elapsed:.0f} s, {sum(ops.values())} calls, {total_errors} errors, revision {final_rev}, "
      f"{watched['changes']} changes watched (lag at the end {final_lag}), RSS {samples[0][6] if samples else 0:.0f} -> "
      f"{samples[-1][6] if samples else 0:.0f} MB, SIGTERM exit {code}")
print(f"soak: {rss_line}")
print(f"soak: {verify.stdout.strip() or verify.stderr.strip()}")
if args.report:
    with open(args.report, "w") as f:
        f.write(f"# Soak run, {time.strftime('%Y-%m-%d')}\n\n")
        preload_flag = f" --preload {args.preload}" if args.preload else ""
        f.write(f"`scripts/soak.sh --seconds {args.seconds:.0f} --ingest-rate {args.ingest_rate:.0f}{preload_flag}` on "
                f"{os.cpu_count()} cores ({os.uname().sysname} {os.uname().release}); annalsd (RelWithDebInfo) on loopback, "
                f"fresh database with the seed data{f' plus {args.preload} preloaded relations' if args.preload else ''}, "
                "default flags (no --sync).\n\n")
        if read_only:
            f.write("Load, all at once: nothing written during the run (the database keeps its size), two readers "
                    "(ListRelations by subject and by predicate with windows, Neighbors, SearchEntities, GetRelation, "
                    f"Traverse depth 2, DiffRevisions of the last {2 if args.preload else 20} revisions) as fast as they "
                    "go, and one live Watch.\n\n")
        else:
            f.write("Load, all at once: one Ingest stream (batches of 25 entities + 25 relations, paced), a unary writer "
                    "(new versions and retractions of existing relations), two readers (ListRelations by subject and by "
                    "predicate with windows, Neighbors, SearchEntities, GetRelation, Traverse depth 2, DiffRevisions of "
                    "the last 20 revisions) as fast as they go, and one live Watch.\n\n")
        f.write(f"## Result\n\n{elapsed:.0f} s, {sum(ops.values())} calls, **{total_errors} errors**, final revision "
                f"{final_rev}, {watched['changes']} changes delivered to the watch (lag at the end: {final_lag} "
                f"revisions), SIGTERM exit {code}, `annals verify`: `{(verify.stdout.strip() or verify.stderr.strip()).splitlines()[0]}`.\n\n"
                f"{rss_line}.\n\n")
        f.write(table + "\n\n## Over time\n\n" + "\n".join(over_time) + "\n")
    print(f"soak: report written to {args.report}")
shutil.rmtree(work, ignore_errors=True) if not failed else print(f"soak: work dir kept: {work}")
sys.exit(1 if failed else 0)
PY
/usr/bin/python3 "$script" "$@"
