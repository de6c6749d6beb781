#!/usr/bin/env python3
"""Turns scripts/bench.sh's results file into the Markdown report and the PNG chart.

usage: report.py RESULTS.txt OUT.md OUT.png [PERF_TOP.txt]

Each line of RESULTS.txt is a tag followed by key=value pairs (see scripts/bench.sh).
"""
import os
import subprocess
import sys
import tempfile


def parse(path):
    rows = []
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        rec = {"tag": parts[0]}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                rec[k] = v
        rows.append(rec)
    return rows


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def find(rows, tag, **kv):
    for r in rows:
        if r["tag"] == tag and all(r.get(k) == str(v) for k, v in kv.items()):
            return r
    return None


def fmt_int(x):
    return "–" if x is None else f"{x:,.0f}"


def fmt_ms(x):
    return "–" if x is None else f"{x:.2f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}x"


def verdict(ok):
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def busy_note(meta):
    # The harness waits (up to 30 s) for the 1-minute load average to fall under 0.5 first.
    try:
        return ("the machine was still busy at the start" if float(meta.get("load", "0")) >= 0.5
                else "settled before the start; the end figure counts the benchmark's own processes")
    except ValueError:
        return "load unknown"


def main():
    results, out_md, out_png = sys.argv[1:4]
    perf = sys.argv[4] if len(sys.argv) > 4 else None
    rows = parse(results)
    meta = find(rows, "meta") or {}
    conc = [1, 2, 8, 32]
    L = []
    L.append(f"# Annals vs PostgreSQL 15 and the ceilings — {meta.get('date', '')}")
    L.append("")
    L.append(f"Command: `scripts/bench.sh{' --quick' if meta.get('quick') == '1' else ''}`"
             f"{' (10x step skipped)' if meta.get('scale') == '0' else ''}. "
             f"Data: {meta.get('dataset')} ({int(meta.get('rows', 0)):,} relations). "
             f"Machine: {meta.get('cores')} cores, kernel {meta.get('kernel')}, load average at start "
             f"{meta.get('load')}, at the end {(find(rows, 'meta_end') or {}).get('load', '?')} (15-minute average "
             f"{(find(rows, 'meta_end') or {}).get('load15', '?')}; {busy_note(meta)}). Each query figure: {meta.get('seconds')} s measured after "
             f"{meta.get('warmup')} s of warm-up, closed loop with N requests in flight. "
             "Client, server and PostgreSQL share the same 2 cores.")
    L.append("")

    # --- loads
    ing = find(rows, "ingest", scale=1)
    ceil = find(rows, "ceiling", scale=1)
    bulk = find(rows, "bulk", scale=1)
    bulkcli = find(rows, "bulkcli", scale=1)
    pgl = find(rows, "pg", scale=1, kind="load")
    r_ing, r_ceil, r_bulk, r_pg = (num(x.get("rate")) if x else None for x in (ing, ceil, bulk, pgl))
    r_cli = num(bulkcli.get("rate")) if bulkcli else None
    L.append("## Load")
    L.append("")
    L.append("| contender | relations | seconds | relations/s | vs PostgreSQL |")
    L.append("|---|---:|---:|---:|---:|")
    for name, r in (("Annals, streaming `Ingest` RPC (batches of 1,000, 4 in flight, WAL on, no fsync: as shipped)", ing),
                    ("Raw RocksDB WriteBatch, same keys, no gRPC (storage ceiling)", ceil),
                    ("Annals bulk path as users run it: `annals import --bulk` (parses the TSV itself, validates, sorted SSTs, one atomic ingestion; wall time of the command)", bulkcli),
                    ("Annals bulk path, storage side only: `BulkLoader` in-process on pre-parsed rows", bulk),
                    ("PostgreSQL 15: COPY + set-based INSERT + indexes + ANALYZE (fsync on)", pgl)):
        if r:
            L.append(f"| {name} | {fmt_int(num(r.get('relations')))} | {num(r.get('seconds')):.2f} | "
                     f"{fmt_int(num(r.get('rate')))} | {fmt_ratio(ratio(num(r.get('rate')), r_pg))} |")
    L.append("")
    L.append(f"Online `Ingest` / raw WriteBatch ceiling: **{fmt_ratio(ratio(r_ing, r_ceil))}** (target ≥ 0.80x). "
             f"Bulk path (`annals import --bulk`) / PostgreSQL: **{fmt_ratio(ratio(r_cli, r_pg))}** (target ≥ 2x; "
             f"storage side alone {fmt_ratio(ratio(r_bulk, r_pg))}). "
             f"Online `Ingest` / PostgreSQL: {fmt_ratio(ratio(r_ing, r_pg))}.")
    L.append("")
    runs = [f"{label} {', '.join(r['runs'].split(','))} s" for label, r in (("`annals import --bulk`", bulkcli), ("PostgreSQL", pgl))
            if r and "," in r.get("runs", "")]
    if runs:
        L.append("The two short loads were each timed several times, each into a fresh database; the tables "
                 "give the median run (" + "; ".join(runs) + ").")
        L.append("")
    L.append("All rates count relations over the whole load, entities included "
             "(the Ingest driver also reports relations-only rate: "
             f"{fmt_int(num(ing.get('relation_rate')) if ing else None)}/s; ceiling "
             f"{fmt_int(num(ceil.get('relation_rate')) if ceil else None)}/s).")
    L.append("")

    # --- queries
    def q(tag, workload, c, scale=1):
        return find(rows, tag, scale=scale, workload=workload, concurrency=c)

    L.append("## Queries")
    L.append("")
    L.append("Throughput (requests/s) and latency p50 / p99 (ms), client-side wall time per request.")
    L.append("")
    for workload, title in (("neighbors", "Neighbours of a random entity, two-year window, ≤ 100 results"),
                            ("list", "ListRelations by random predicate and two-year window, first page of 100")):
        L.append(f"### {title}")
        L.append("")
        L.append("Annals answers in the BASIC view (AIP-157: ids, predicate, valid time as written, status, "
                 "the neighbour's label); FULL (every field, sources included) beside it, without a target.")
        L.append("")
        L.append("| in flight | Annals QPS | p50 | p99 | empty RPC QPS | p50 | p99 | PostgreSQL QPS | p50 | p99 "
                 "| Annals / empty | Annals / PG | FULL QPS | FULL / empty |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in conc:
            a, e, p = q("annals", workload, c), q("empty", "health", c), q("pg", workload, c)
            f = q("annals_full", workload, c)
            g = lambda r, k: num(r.get(k)) if r else None
            L.append(f"| {c} | {fmt_int(g(a, 'qps'))} | {fmt_ms(g(a, 'p50_ms'))} | {fmt_ms(g(a, 'p99_ms'))} "
                     f"| {fmt_int(g(e, 'qps'))} | {fmt_ms(g(e, 'p50_ms'))} | {fmt_ms(g(e, 'p99_ms'))} "
                     f"| {fmt_int(g(p, 'qps'))} | {fmt_ms(g(p, 'p50_ms'))} | {fmt_ms(g(p, 'p99_ms'))} "
                     f"| {fmt_ratio(ratio(g(a, 'qps'), g(e, 'qps')))} | {fmt_ratio(ratio(g(a, 'qps'), g(p, 'qps')))} "
                     f"| {fmt_int(g(f, 'qps'))} | {fmt_ratio(ratio(g(f, 'qps'), g(e, 'qps')))} |")
        L.append("")

    def cpu(r):
        return fmt_int(num(r.get("cpu_us_per_call"))) if r and r.get("cpu_us_per_call") else "–"
    L.append("Server CPU per call (µs, user + system of annalsd over the measured seconds / calls), "
             "neighbours BASIC / FULL vs the empty RPC: " + "; ".join(
                 f"c={c}: {cpu(q('annals', 'neighbors', c))} / {cpu(q('annals_full', 'neighbors', c))} "
                 f"vs {cpu(q('empty', 'health', c))}" for c in conc) + ".")
    L.append("")
    if any(q("busiest", "busiest", c) for c in conc):
        L.append("### The busiest entity (issue #19): ICEWS14's, both directions, March–October 2014, 100 results")
        L.append("")
        L.append("| in flight | Annals BASIC QPS | p50 | p99 | server CPU µs/call | empty RPC QPS | server CPU µs/call "
                 "| PostgreSQL QPS | p50 | Annals / empty | Annals / PG | FULL QPS | FULL CPU µs/call |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in conc:
            a, e = q("busiest", "busiest", c), q("busiest_empty", "health", c)
            f, p = q("busiest_full", "busiest", c), q("pg_busiest", "busiest", c)
            g = lambda r, k: num(r.get(k)) if r else None
            L.append(f"| {c} | {fmt_int(g(a, 'qps'))} | {fmt_ms(g(a, 'p50_ms'))} | {fmt_ms(g(a, 'p99_ms'))} | {cpu(a)} "
                     f"| {fmt_int(g(e, 'qps'))} | {cpu(e)} | {fmt_int(g(p, 'qps'))} | {fmt_ms(g(p, 'p50_ms'))} "
                     f"| {fmt_ratio(ratio(g(a, 'qps'), g(e, 'qps')))} | {fmt_ratio(ratio(g(a, 'qps'), g(p, 'qps')))} "
                     f"| {fmt_int(g(f, 'qps'))} | {cpu(f)} |")
        L.append("")

    L.append("### Graph queries (issue #4), one request in flight")
    L.append("")
    L.append("| query | Annals p50 | p99 | QPS | PostgreSQL p50 | p99 | QPS |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for workload, title in (("traverse", "Traverse depth 2 from the 100 busiest entities (fan-out 1,000, ≤ 10,000 results)"),
                            ("paths", "FindPaths, shortest (k=1, ≤ 3 hops) between random pairs"),
                            ("paths_in_time", "FindPaths, time-respecting, same kind of pairs (no PostgreSQL query)")):
        a, p = q("annals", workload, 1), q("pg", workload, 1)
        g = lambda r, k: num(r.get(k)) if r else None
        L.append(f"| {title} | {fmt_ms(g(a, 'p50_ms'))} | {fmt_ms(g(a, 'p99_ms'))} | {fmt_int(g(a, 'qps'))} "
                 f"| {fmt_ms(g(p, 'p50_ms'))} | {fmt_ms(g(p, 'p99_ms'))} | {fmt_int(g(p, 'qps'))} |")
    L.append("")
    L.append("PostgreSQL's traversal is a recursive CTE with the same per-entity fan-out cap; its path query is a "
             "meet-in-the-middle CTE returning the hop count only (bench/pg/*.sql). Annals returns the records "
             "(entities and relations, or the path's relations).")
    L.append("")

    # --- scale
    ing10 = find(rows, "ingest", scale=10)
    pgl10 = find(rows, "pg", scale=10, kind="load")
    scale_ok = None
    if ing10:
        L.append("## Scale: 10x (ICEWS05-15 replicated with renamed entities)")
        L.append("")
        L.append("| contender | 1x relations/s | 10x relations/s | 10x / 1x |")
        L.append("|---|---:|---:|---:|")
        L.append(f"| Annals Ingest | {fmt_int(r_ing)} | {fmt_int(num(ing10.get('rate')))} | "
                 f"{fmt_ratio(ratio(num(ing10.get('rate')), r_ing))} |")
        if pgl10:
            L.append(f"| PostgreSQL | {fmt_int(r_pg)} | {fmt_int(num(pgl10.get('rate')))} | "
                     f"{fmt_ratio(ratio(num(pgl10.get('rate')), r_pg))} |")
        L.append("")
        L.append("Neighbour queries at 10x against 1x:")
        L.append("")
        L.append("| in flight | Annals QPS 1x → 10x | Annals p50 1x → 10x (ms) | p50 ratio | p99 1x → 10x | "
                 "PostgreSQL QPS 1x → 10x | PG p50 1x → 10x |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|")
        scale_ok = True
        for c in conc:
            a1, a10 = q("annals", "neighbors", c), q("annals", "neighbors", c, 10)
            p1, p10 = q("pg", "neighbors", c), q("pg", "neighbors", c, 10)
            g = lambda r, k: num(r.get(k)) if r else None
            rr = ratio(g(a10, "p50_ms"), g(a1, "p50_ms"))
            if rr is None or rr > 1.5:
                scale_ok = False
            L.append(f"| {c} | {fmt_int(g(a1, 'qps'))} → {fmt_int(g(a10, 'qps'))} "
                     f"| {fmt_ms(g(a1, 'p50_ms'))} → {fmt_ms(g(a10, 'p50_ms'))} | {fmt_ratio(rr)} "
                     f"| {fmt_ms(g(a1, 'p99_ms'))} → {fmt_ms(g(a10, 'p99_ms'))} "
                     f"| {fmt_int(g(p1, 'qps'))} → {fmt_int(g(p10, 'qps'))} "
                     f"| {fmt_ms(g(p1, 'p50_ms'))} → {fmt_ms(g(p10, 'p50_ms'))} |")
        L.append("")

    # --- the cluster (issue #17)
    sync = find(rows, "ingest_sync", scale=1)
    c1 = find(rows, "cluster_ingest", scale=1, replicas=1)
    c3 = find(rows, "cluster_ingest", scale=1, replicas=3)
    ryw = find(rows, "cluster_ryw", scale=1)
    fo = find(rows, "cluster_failover", scale=1)
    r_sync, r_c1, r_c3 = (num(x.get("rate")) if x else None for x in (sync, c1, c3))
    if c1 or c3:
        L.append("## The cluster: Ingest through etcd, read-your-writes, failover, joining from a peer (issues #17, #18)")
        L.append("")
        L.append("Three etcd 3.4 members (fsync before acknowledging, default timings) and annalsd replicas, all on "
                 "this machine's loopback, sharing its cores with the client; the same streaming load as above.")
        L.append("")
        L.append("| contender | relations/s | vs single node `--sync` | vs single node |")
        L.append("|---|---:|---:|---:|")
        for name, r in (("single node, no fsync (as shipped)", ing), ("single node `--sync` (fsync before every ack)", sync),
                        ("cluster: 3 etcd members, 1 replica", c1), ("cluster: 3 etcd members, 3 replicas (no target: 3 replicas share 2 cores)", c3)):
            if r:
                rate = num(r.get("rate"))
                L.append(f"| {name} | {fmt_int(rate)} | {fmt_ratio(ratio(rate, r_sync))} | {fmt_ratio(ratio(rate, r_ing))} |")
        L.append("")
        if ryw:
            L.append(f"Read-your-writes on a follower (acknowledgement on the leader → a `min_revision` read of that "
                     f"write answered by a follower), {ryw.get('samples')} writes: p50 **{fmt_ms(num(ryw.get('p50_ms')))} ms**, "
                     f"p99 {fmt_ms(num(ryw.get('p99_ms')))} ms (the write itself: p50 {fmt_ms(num(ryw.get('write_p50_ms')))} ms). "
                     f"A `LINEARIZABLE` read on the follower: p50 {fmt_ms(num(ryw.get('linearizable_p50_ms')))} ms, "
                     f"p99 {fmt_ms(num(ryw.get('linearizable_p99_ms')))} ms.")
            L.append("")
        lg = find(rows, "cluster_log", scale=1)
        if lg:
            L.append(f"The log after the 3-replica load: head {lg.get('head')}, etcd holds {lg.get('entries')} entries "
                     f"from {lg.get('first')}; etcd's database {num(lg.get('etcd_db_bytes')) / 2**20:,.0f} MiB "
                     f"({num(lg.get('etcd_in_use_bytes')) / 2**20:,.0f} MiB in use; the default quota is 2,048 MiB).")
            L.append("")
        bs = find(rows, "cluster_bootstrap", scale=1)
        if bs:
            L.append(f"Joining from a peer: a follower's volume wiped, it copied {num(bs.get('bytes')) / 2**20:,.0f} MiB "
                     f"from a member in **{bs.get('copy')}** and served again {bs.get('serving_seconds')} s after it "
                     f"was started.")
            L.append("")
        if fo:
            L.append(f"Failover: one writer, one `UpsertEntities` at a time with a request id, 1 s deadline, the next "
                     f"replica after a failure (20 ms pause); the annalsd leader SIGKILLed 3 s in. Longest time between "
                     f"two acknowledged writes: **{num(fo.get('longest_gap_s')):.2f} s** ({fo.get('acked')} writes "
                     f"acknowledged in {fo.get('seconds')} s, {fo.get('failed_calls')} failed calls).")
            L.append("")

    # --- memory and disk
    L.append("## Memory and disk")
    L.append("")
    L.append("| | 1x | 10x |")
    L.append("|---|---:|---:|")
    rss = lambda r: (f"{num(r.get('rss_kb')) / 1024:,.0f} MiB" if r and r.get("rss_kb") else "–")
    L.append(f"| annalsd peak RSS during the Ingest load (VmHWM) | {rss(ing)} | {rss(ing10)} |")
    L.append(f"| annalsd peak RSS during the queries | {rss(find(rows, 'annals_rss', scale=1))} "
             f"| {rss(find(rows, 'annals_rss', scale=10))} |")

    def per_rel(r, key, rel):
        if not r or rel in (None, 0) or not r.get(key):
            return "–"
        return f"{num(r.get(key)) / rel:,.0f} B ({num(r.get(key)) / 2**20:,.0f} MiB)"
    rel1 = num(ing.get("relations")) if ing else None
    rel10 = num(ing10.get("relations")) if ing10 else None
    L.append(f"| Annals bytes on disk per relation, right after the Ingest load (SSTs + WAL) "
             f"| {per_rel(ing, 'disk_bytes', rel1)} | {per_rel(ing10, 'disk_bytes', rel10)} |")
    L.append(f"| Annals bytes on disk per relation, after the server stopped "
             f"| {per_rel(find(rows, 'annals_disk', scale=1), 'disk_bytes', rel1)} "
             f"| {per_rel(find(rows, 'annals_disk', scale=10), 'disk_bytes', rel10)} |")
    L.append(f"| Annals after `annals import --bulk` (SSTs only) | {per_rel(bulkcli, 'disk_bytes', rel1)} | – |")
    L.append(f"| Raw RocksDB ceiling | {per_rel(ceil, 'disk_bytes', rel1)} | – |")
    L.append(f"| PostgreSQL database size (tables + indexes) | {per_rel(pgl, 'db_bytes', rel1)} "
             f"| {per_rel(pgl10, 'db_bytes', rel10)} |")
    L.append(f"| PostgreSQL pg_wal directory | {per_rel(pgl, 'wal_bytes', rel1)} | {per_rel(pgl10, 'wal_bytes', rel10)} |")
    L.append("")

    # --- targets
    L.append("## Targets (read from the harness, not asserted by tests)")
    L.append("")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    x = ratio(r_ing, r_ceil)
    L.append(f"| online Ingest ≥ 80% of the raw WriteBatch ceiling | {fmt_ratio(x)} | {verdict(None if x is None else x >= 0.8)} |")
    x = ratio(r_cli, r_pg)
    L.append(f"| bulk load (`annals import --bulk`) ≥ 2x PostgreSQL | {fmt_ratio(x)} (storage side alone "
             f"{fmt_ratio(ratio(r_bulk, r_pg))}) | {verdict(None if x is None else x >= 2)} |")
    ratios_e = [ratio(num((q('annals', 'neighbors', c) or {}).get('qps')), num((q('empty', 'health', c) or {}).get('qps'))) for c in conc]
    ok = None if None in ratios_e else all(r >= 0.6 for r in ratios_e)
    L.append(f"| neighbours ≥ 60% of the empty-RPC ceiling at every concurrency | "
             f"{', '.join(fmt_ratio(r) for r in ratios_e)} (c = 1, 2, 8, 32) | {verdict(ok)} |")
    ratios_p = [ratio(num((q('annals', 'neighbors', c) or {}).get('qps')), num((q('pg', 'neighbors', c) or {}).get('qps'))) for c in conc]
    x = ratios_p[1]
    L.append(f"| neighbours ≥ PostgreSQL at 2 in flight | {fmt_ratio(x)} | {verdict(None if x is None else x >= 1)} |")
    ok = None if None in ratios_p[2:] else all(r >= 3 for r in ratios_p[2:])
    L.append(f"| neighbours ≥ 3x PostgreSQL at 8+ in flight | {', '.join(fmt_ratio(r) for r in ratios_p[2:])} (c = 8, 32) | {verdict(ok)} |")
    L.append(f"| at 10x data, neighbour p50 within 1.5x of 1x | see the scale table | {verdict(scale_ok)} |")
    rss10 = max([num(r.get("rss_kb")) for r in (ing10, find(rows, "annals_rss", scale=10)) if r and r.get("rss_kb")] or [0])
    L.append(f"| RSS under 1 GiB at 4.6M relations | {rss10 / 1024:,.0f} MiB | "
             f"{verdict(None if not ing10 else rss10 < 1024 * 1024)} |")
    x = ratio(r_c1, r_sync)
    if c1:
        L.append(f"| cluster Ingest (3 etcd members, 1 replica) ≥ 60% of single-node `--sync` | {fmt_ratio(x)} "
                 f"| {verdict(None if x is None else x >= 0.6)} |")
    if fo:
        x = num(fo.get("longest_gap_s"))
        L.append(f"| write unavailability while the leader is killed ≤ 5 s | {x:.2f} s | {verdict(x <= 5)} |")
    if ryw:
        x = num(ryw.get("p50_ms"))
        L.append(f"| read-your-writes on a follower, p50 ≤ 20 ms | {fmt_ms(x)} ms (p99 {fmt_ms(num(ryw.get('p99_ms')))}) "
                 f"| {verdict(x <= 20)} |")
    L.append("")

    if perf and os.path.exists(perf) and os.path.getsize(perf) > 0:
        L.append("## Profile of annalsd during the Ingest load (perf, cpu-clock, self time)")
        L.append("")
        L.append("```")
        L.extend(l.rstrip() for l in open(perf).readlines()[:25])
        L.append("```")
        L.append("")

    has_queries = any(r["tag"] in ("annals", "pg") for r in rows)
    if has_queries:
        L.append(f"![throughput against concurrency]({os.path.basename(out_png)})")
        L.append("")
    L.append(f"Raw figures: `{os.path.basename(out_md)[:-3]}.txt`.")
    open(out_md, "w").write("\n".join(L) + "\n")

    # --- chart
    if not has_queries:
        return
    with tempfile.TemporaryDirectory() as tmp:
        series = [("Annals neighbours", "annals", "neighbors"), ("PostgreSQL neighbours", "pg", "neighbors"),
                  ("empty RPC (transport ceiling)", "empty", "health"), ("Annals ListRelations", "annals", "list"),
                  ("PostgreSQL ListRelations", "pg", "list")]
        plots = []
        for i, (title, tag, workload) in enumerate(series):
            path = os.path.join(tmp, f"s{i}.dat")
            with open(path, "w") as f:
                for c in conc:
                    r = q(tag, workload, c)
                    if r and r.get("qps"):
                        f.write(f"{c} {r['qps']}\n")
            dash = " dt 2" if workload == "list" else ""
            plots.append(f"'{path}' using 1:2 with linespoints lw 2{dash} title '{title}'")
        script = os.path.join(tmp, "chart.gp")
        with open(script, "w") as f:
            f.write("set terminal pngcairo size 820,520 noenhanced\n" if has_cairo() else "set terminal png size 820,520 noenhanced\n")
            f.write(f"set output '{out_png}'\n")
            f.write(f"set title 'Throughput against requests in flight ({meta.get('dataset')}, {meta.get('date')})'\n")
            f.write("set logscale x 2\nset xtics (1, 2, 8, 32)\nset xlabel 'requests in flight'\n")
            f.write("set ylabel 'requests per second'\nset yrange [0:*]\nset key inside top left box opaque\nset grid\n")
            f.write("plot " + ", ".join(plots) + "\n")
        subprocess.run(["gnuplot", script], check=False)


def has_cairo():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True).stderr
        return "pngcairo" in out
    except OSError:
        return False


if __name__ == "__main__":
    main()
