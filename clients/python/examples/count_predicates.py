#!/usr/bin/env python3
"""Counts the relations whose subject is one entity, per predicate, and prints
``predicate<TAB>count`` sorted by predicate.

    PYTHONPATH=clients/python:build/clients/python/gen \\
        /usr/bin/python3 clients/python/examples/count_predicates.py --addr 127.0.0.1:50051 pakistan

Only ASSERTED relations count (the server's default), at the latest revision unless
``--as-of`` says otherwise. The same as ``annals --json relation list --subject E --all``.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import annals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("entity", help="the subject entity id, e.g. pakistan")
    parser.add_argument("--addr", default=os.environ.get("ANNALS_ADDR", "127.0.0.1:50051"))
    parser.add_argument("--as-of", type=int, default=0, metavar="REV", help="revision to read at (0: latest)")
    args = parser.parse_args()
    with annals.connect(args.addr) as client:
        try:
            counts = Counter(r.predicate for r in client.list_relations(subject=args.entity,
                                                                        as_of_revision=args.as_of))
        except annals.AnnalsError as e:
            print(f"count_predicates: {e}", file=sys.stderr)
            return 1
    for predicate, count in sorted(counts.items()):
        print(f"{predicate}\t{count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
