#!/usr/bin/env python3
"""Loads JSON Lines files through the client's Ingest stream, then asks three questions of
the seed data (data/seed: Pakistan-Russia relations, 2011-2014).

    PYTHONPATH=clients/python:build/clients/python/gen \\
        /usr/bin/python3 clients/python/examples/seed_questions.py --addr 127.0.0.1:50051 data/seed

Each file is one batch with a content-derived request id, so running it again writes
nothing (the acks say "replayed"). Against a server started with ``--load data/seed`` the
files are already there under other request ids: their content is unchanged, so nothing new
is written either.
"""
from __future__ import annotations

import argparse
import os
import sys

import annals
from annals.v1 import diff_pb2, query_pb2, types_pb2


def load(client: annals.Client, paths: list[str]) -> bool:
    ok = True
    for ack in client.ingest(annals.batches_from_files(paths)):
        if ack.errors:
            ok = False
            for e in ack.errors:
                print(f"batch {ack.batch_index}: {e.field}: {e.description}", file=sys.stderr)
            continue
        state = "replayed" if ack.replayed else f"{ack.entities_written} entities, {ack.documents_written} documents, " \
                                                 f"{ack.relations_written} relations, {ack.unchanged_count} unchanged"
        print(f"batch {ack.batch_index}: revision {ack.revision}: {state}")
    return ok


def sources(relation: types_pb2.Relation) -> str:
    return ", ".join(dict.fromkeys(s.document_id for s in relation.sources))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="JSON Lines files or directories of *.jsonl")
    parser.add_argument("--addr", default=os.environ.get("ANNALS_ADDR", "127.0.0.1:50051"))
    args = parser.parse_args()

    with annals.connect(args.addr) as client:
        if not load(client, args.paths):
            return 1

        print("\nQ1. When did Zardari visit Russia, according to each source?")
        for r in sorted(client.list_relations(subject="zardari", predicate="visited", object_id="russia"),
                        key=lambda r: r.id):
            print(f"  {annals.format_range(r.valid):24} {r.id}  (sources: {sources(r)})")

        print("\nQ2. What did Annals record, revision by revision, of Putin's visit to Pakistan?")
        for v in client.get_history(relation_id="rel.putin-visit-pakistan-2012"):
            status = types_pb2.Status.Name(v.relation.status)
            print(f"  revision {v.revision}: {diff_pb2.ChangeKind.Name(v.kind):17} {status:10} "
                  f"{annals.format_range(v.relation.valid):12} (sources: {sources(v.relation)})")

        print("\nQ3. Which relations of Pakistan certainly held at some time in 2011?")
        got = client.neighbors("pakistan", window=annals.window("2011", "2011", certainly=True))
        for n in sorted(got.neighbors, key=lambda n: (n.relation.predicate, n.neighbor.id, n.relation.id)):
            arrow = "->" if n.direction == query_pb2.OUT else "<-"
            other = n.neighbor.label or "(a value)"
            print(f"  {arrow} {n.relation.predicate:32} {other:40} {annals.format_range(n.relation.valid)}")
        print(f"  {len(got.neighbors)} relation(s) at revision {got.revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
