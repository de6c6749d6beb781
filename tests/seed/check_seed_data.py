#!/usr/bin/env python3
"""Checks the default dataset in data/seed/*.jsonl (issue #6).

Usage, from the repository root:
    /usr/bin/python3 tests/seed/check_seed_data.py [REPO_ROOT [SEEDS_DIR]] [--spans-only] [unittest options]

REPO_ROOT defaults to the current directory when it holds data/seed, else to the directory two
levels above this script. SEEDS_DIR (the five source articles, which the repository does not ship)
defaults to the environment variable ANNALS_SEEDS_DIR; without either, the checks that need the
article texts are skipped with that reason. --spans-only runs just those checks and, without the
texts, prints the reason and exits 77 (CTest's SKIP_RETURN_CODE), so the skip shows as a skip.

Each line of a seed file is one JSON object with exactly one key, "document", "entity" or
"relation", in the protobuf JSON mapping of annals.v1 (proto/annals/v1/types.proto). Files are read
in name order, which must be the order in which the articles were published.
"""
import calendar
import json
import os
import re
import sys
import unittest
from pathlib import Path

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._:-]*$")
MAX_ID_BYTES = 128
MAX_LABEL_BYTES = 1024
MAX_PREDICATE_BYTES = 128
MAX_ITEMS_PER_FILE = 1000
KINDS = {"person", "state", "organization", "project", "agreement", "event", "place", "company"}
STATUSES = {"STATUS_UNSPECIFIED", "ASSERTED", "PLANNED", "POSTPONED", "CANCELLED", "DENIED"}
TOP_KEYS = {"document", "entity", "relation"}
DOCUMENT_FIELDS = {"id", "title", "uri", "publisher", "authors", "published"}
ENTITY_FIELDS = {"id", "kind", "label", "aliases", "description", "attributes", "existence"}
RELATION_FIELDS = {"id", "subject", "predicate", "objectId", "value", "valid", "qualifiers",
                   "sources", "confidence", "status"}
SOURCE_FIELDS = {"documentId", "begin", "end", "note"}
RANGE_FIELDS = {"start", "startLatest", "startUnknown", "end", "endLatest", "endUnknown"}
DATE_FIELDS = {"year", "month", "day"}
VALUE_KINDS = {"text", "number", "quantity", "date", "flag"}

# The relation that records Putin's planned visit to Pakistan in 2012, which the March 2012
# article reports as planned and the October 2012 article as postponed.
PUTIN_VISIT_ID = "rel.putin-visit-pakistan-2012"
COPY_RUN = 12  # words; the same limit as the project's no_copied_text hook


def parse_args(argv):
    pos = [a for a in argv[1:] if not a.startswith("-")]
    rest = [a for a in argv[1:] if a.startswith("-") and a != "--spans-only"]
    if pos:
        root = Path(pos[0])
    elif (Path.cwd() / "data" / "seed").is_dir():
        root = Path.cwd()
    else:
        root = Path(__file__).resolve().parent.parent.parent
    given = pos[1] if len(pos) > 1 else os.environ.get("ANNALS_SEEDS_DIR", "")
    seeds = Path(given).resolve() if given else None
    return root.resolve(), seeds, [argv[0]] + rest


REPO, SEEDS, UNITTEST_ARGV = parse_args(sys.argv)
SEED_DIR = REPO / "data" / "seed"


class Line:
    def __init__(self, path, lineno, raw):
        self.path, self.lineno, self.raw = path, lineno, raw
        self.obj, self.error = None, None
        try:
            self.obj = json.loads(raw)
        except json.JSONDecodeError as e:
            self.error = str(e)

    @property
    def where(self):
        return f"{self.path.name}:{self.lineno}"

    @property
    def key(self):
        if isinstance(self.obj, dict) and len(self.obj) == 1:
            k = next(iter(self.obj))
            if k in TOP_KEYS and isinstance(self.obj[k], dict):
                return k
        return None

    @property
    def body(self):
        return self.obj[self.key] if self.key else None


def load():
    files = sorted(SEED_DIR.glob("*.jsonl"))
    out = []
    for f in files:
        lines = []
        with open(f, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                if raw.strip():
                    lines.append(Line(f, n, raw))
        out.append((f, lines))
    return out


FILES = load()


def items(kind, files=None):
    for f, lines in (FILES if files is None else files):
        for ln in lines:
            if ln.key == kind:
                yield f, ln, ln.body


def load_articles():
    """Maps document id -> article text (None when the seeds dir is absent)."""
    if SEEDS is None or not SEEDS.is_dir():
        return None
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    by_doc = {}
    for _, ln, d in items("document"):
        name = None
        uri = d.get("uri", "")
        for fname in texts:
            if uri.endswith(fname):
                name = fname
        if name is None:  # fall back on the numeric prefix: seed-003 -> 003_*.txt
            m = re.match(r"^seed-(\d{3})$", d.get("id", ""))
            cands = [n for n in texts if m and n.startswith(m.group(1) + "_")]
            name = cands[0] if len(cands) == 1 else None
        if name is not None:
            by_doc[d["id"]] = texts[name]
    return by_doc


ARTICLES = load_articles()
SKIP_NO_SEEDS = ("ANNALS_SEEDS_DIR is not set: the seed articles are not shipped, so the span and copy "
                 "checks cannot run" if SEEDS is None else
                 f"ANNALS_SEEDS_DIR={SEEDS} is not a directory of the seed articles: span and copy checks skipped")
SPANS_ONLY = "--spans-only" in sys.argv


# ---- dates --------------------------------------------------------------------------------

def date_problems(d, where):
    if not isinstance(d, dict):
        return [f"{where}: date is not an object"]
    probs = [f"{where}: unknown field {k!r}" for k in d if k not in DATE_FIELDS]
    y, m, dd = d.get("year", 0), d.get("month", 0), d.get("day", 0)
    if not all(isinstance(v, int) for v in (y, m, dd)):
        return probs + [f"{where}: year/month/day must be integers"]
    if y == 0:
        probs.append(f"{where}: year 0 does not exist")
    if not 0 <= m <= 12:
        probs.append(f"{where}: month {m} outside 1-12")
    if dd and not m:
        probs.append(f"{where}: day given without month")
    if m and 1 <= m <= 12 and dd:
        last = calendar.monthrange(y if y > 0 else 2000 + y % 400, m)[1]
        if not 1 <= dd <= last:
            probs.append(f"{where}: day {dd} invalid for {y}-{m:02d}")
    elif dd < 0:
        probs.append(f"{where}: negative day")
    return probs


def earliest(d):
    return (d.get("year", 0), d.get("month", 0) or 1, d.get("day", 0) or 1)


def latest(d):
    y, m = d.get("year", 0), d.get("month", 0) or 12
    if d.get("day"):
        return (y, m, d["day"])
    return (y, m, calendar.monthrange(y if y > 0 else 2000 + y % 400, m)[1])


NEG_INF, POS_INF = (float("-inf"),), (float("inf"),)


def range_bounds(r):
    """(s-, s+, e-, e+) of a valid range, as in docs/time.md; days are (y, m, d) tuples.

    An endpoint with neither date nor `*_latest` is unbounded (start: -inf, end: +inf); `*_unknown`
    is -inf..+inf. `*_latest` alone means "no later than": the lower bound is unbounded."""
    def side(first, last, unknown, unset):
        if r.get(unknown):
            return NEG_INF, POS_INF
        lo = earliest(r[first]) if first in r else None
        hi = latest(r[last]) if last in r else latest(r[first]) if first in r else None
        if lo is None and hi is None:
            return unset, unset
        return (lo if lo is not None else NEG_INF), hi
    s_lo, s_hi = side("start", "startLatest", "startUnknown", NEG_INF)
    e_lo, e_hi = side("end", "endLatest", "endUnknown", POS_INF)
    return s_lo, s_hi, e_lo, e_hi


def range_problems(r, where):
    if not isinstance(r, dict):
        return [f"{where}: time range is not an object"]
    probs = [f"{where}: unknown field {k!r}" for k in r if k not in RANGE_FIELDS]
    for k in ("start", "startLatest", "end", "endLatest"):
        if k in r:
            probs += date_problems(r[k], f"{where}.{k}")
    if probs:
        return probs
    for side in ("start", "end"):
        if r.get(f"{side}Unknown") and (side in r or f"{side}Latest" in r):
            probs.append(f"{where}: {side}Unknown together with a {side} date")
    if "start" in r and "startLatest" in r and earliest(r["start"]) > latest(r["startLatest"]):
        probs.append(f"{where}: start is after startLatest")
    if "end" in r and "endLatest" in r and earliest(r["end"]) > latest(r["endLatest"]):
        probs.append(f"{where}: end is after endLatest")
    s_lo, _, _, e_hi = range_bounds(r)
    if s_lo > e_hi:  # it would have to start after it ended
        probs.append(f"{where}: earliest start {r.get('start')} is after latest end {r.get('endLatest', r.get('end'))}")
    return probs


def value_problems(v, where):
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in VALUE_KINDS:
        return [f"{where}: a Value needs exactly one of {sorted(VALUE_KINDS)}"]
    k, x = next(iter(v.items()))
    if k == "date":
        return date_problems(x, f"{where}.date")
    if k == "quantity":
        if not isinstance(x, dict) or not isinstance(x.get("amount"), (int, float)) or not x.get("unit"):
            return [f"{where}: quantity needs a numeric amount and a unit"]
    if k == "number" and not isinstance(x, (int, float)):
        return [f"{where}: number is not numeric"]
    if k == "text" and not isinstance(x, str):
        return [f"{where}: text is not a string"]
    if k == "flag" and not isinstance(x, bool):
        return [f"{where}: flag is not a boolean"]
    return []


def day_span(r):
    """(first possible day, last possible day) of a relation's valid range; None = unbounded."""
    if not r:
        return (None, None)
    s_lo, _, _, e_hi = range_bounds(r)
    return (None if s_lo == NEG_INF else s_lo, None if e_hi == POS_INF else e_hi)


def disjoint(a, b):
    (alo, ahi), (blo, bhi) = day_span(a), day_span(b)
    return (ahi is not None and blo is not None and ahi < blo) or \
           (bhi is not None and alo is not None and bhi < alo)


def source_docs(rel):
    return {s.get("documentId") for s in rel.get("sources", [])}


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def shingles(ws):
    return {" ".join(ws[i:i + COPY_RUN]) for i in range(len(ws) - COPY_RUN + 1)}


class SeedData(unittest.TestCase):
    maxDiff = None

    def report(self, problems, what):
        if problems:
            shown = "\n  ".join(problems[:40])
            more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
            self.fail(f"{len(problems)} {what}:\n  {shown}{more}")

    def test_00_files_present(self):
        self.assertTrue(SEED_DIR.is_dir(), f"{SEED_DIR} does not exist")
        self.assertGreaterEqual(len(FILES), 1, f"no *.jsonl files in {SEED_DIR}")

    def test_01_lines_parse_with_one_key(self):
        probs = []
        for f, lines in FILES:
            for ln in lines:
                if ln.error:
                    probs.append(f"{ln.where}: not JSON ({ln.error})")
                elif ln.key is None:
                    keys = list(ln.obj) if isinstance(ln.obj, dict) else type(ln.obj).__name__
                    probs.append(f"{ln.where}: needs exactly one of {sorted(TOP_KEYS)} holding an object, got {keys}")
        self.report(probs, "malformed lines")

    def test_02_line_order_and_one_document_per_file(self):
        probs = []
        rank = {"document": 0, "entity": 1, "relation": 2}
        for f, lines in FILES:
            kinds = [ln.key for ln in lines if ln.key]
            if kinds.count("document") != 1 or not kinds or kinds[0] != "document":
                probs.append(f"{f.name}: must start with exactly one document line")
            for a, b in zip(kinds, kinds[1:]):
                if rank[a] > rank[b]:
                    probs.append(f"{f.name}: a {b} line follows a {a} line (order: document, entities, relations)")
                    break
            if len(kinds) > MAX_ITEMS_PER_FILE:
                probs.append(f"{f.name}: {len(kinds)} items, more than {MAX_ITEMS_PER_FILE}")
        self.report(probs, "file layout problems")

    def test_03_files_in_publication_order(self):
        docs = [(f.name, d) for f, _, d in items("document")]
        pubs = [(earliest(d["published"]), name) for name, d in docs if isinstance(d.get("published"), dict)]
        self.assertEqual(len(pubs), len(docs), "every document needs a published date")
        for (a, na), (b, nb) in zip(pubs, pubs[1:]):
            self.assertLessEqual(a, b, f"{nb} was published before {na} but sorts after it")

    def test_04_ids_match_pattern(self):
        probs = []
        for kind in TOP_KEYS:
            for f, ln, o in items(kind):
                i = o.get("id")
                if not isinstance(i, str) or not ID_RE.match(i) or len(i.encode()) > MAX_ID_BYTES:
                    probs.append(f"{ln.where}: {kind} id {i!r} does not match {ID_RE.pattern} (<= {MAX_ID_BYTES} bytes)")
        self.report(probs, "bad ids")

    def test_05_no_duplicate_ids_in_a_file(self):
        probs = []
        for f, lines in FILES:
            seen = {}
            for ln in lines:
                if ln.key:
                    k = (ln.key, ln.body.get("id"))
                    if k in seen:
                        probs.append(f"{ln.where}: {k[0]} id {k[1]!r} repeats line {seen[k]}")
                    seen[k] = ln.lineno
        self.report(probs, "duplicate ids")

    def test_06_entities_declared_once(self):
        probs, seen = [], {}
        for f, ln, e in items("entity"):
            i = e.get("id")
            if i in seen:
                probs.append(f"{ln.where}: entity {i!r} already declared at {seen[i]}")
            else:
                seen[i] = ln.where
        self.report(probs, "entities declared more than once")

    def test_07_documents_declared_once(self):
        probs, seen = [], {}
        for f, ln, d in items("document"):
            if d.get("id") in seen:
                probs.append(f"{ln.where}: document {d.get('id')!r} already declared at {seen[d.get('id')]}")
            seen[d.get("id")] = ln.where
        self.report(probs, "documents declared more than once")

    def test_08_fields_and_enums(self):
        probs = []
        for f, ln, d in items("document"):
            probs += [f"{ln.where}: document field {k!r} unknown" for k in d if k not in DOCUMENT_FIELDS]
            if "published" in d:
                probs += date_problems(d["published"], f"{ln.where}: published")
        for f, ln, e in items("entity"):
            probs += [f"{ln.where}: entity field {k!r} unknown" for k in e if k not in ENTITY_FIELDS]
            if e.get("kind") not in KINDS:
                probs.append(f"{ln.where}: kind {e.get('kind')!r} not one of {sorted(KINDS)}")
            label = e.get("label")
            if not isinstance(label, str) or not label or len(label.encode()) > MAX_LABEL_BYTES:
                probs.append(f"{ln.where}: label must be a non-empty string of <= {MAX_LABEL_BYTES} bytes")
            if not e.get("description"):
                probs.append(f"{ln.where}: entity {e.get('id')!r} has no description")
            if not isinstance(e.get("aliases", []), list):
                probs.append(f"{ln.where}: aliases must be a list")
        for f, ln, r in items("relation"):
            probs += [f"{ln.where}: relation field {k!r} unknown" for k in r if k not in RELATION_FIELDS]
            p = r.get("predicate")
            if not isinstance(p, str) or not p or len(p.encode()) > MAX_PREDICATE_BYTES or \
                    any(ord(c) < 32 or ord(c) == 127 for c in p):
                probs.append(f"{ln.where}: predicate {p!r} must be 1-{MAX_PREDICATE_BYTES} bytes, no control chars")
            if r.get("status") not in STATUSES:
                probs.append(f"{ln.where}: status {r.get('status')!r} not one of {sorted(STATUSES)}")
            if ("objectId" in r) == ("value" in r):
                probs.append(f"{ln.where}: relation needs exactly one of objectId and value")
            if "value" in r:
                probs += value_problems(r["value"], f"{ln.where}: value")
            for k, v in (r.get("qualifiers") or {}).items():
                probs += value_problems(v, f"{ln.where}: qualifier {k}")
            c = r.get("confidence")
            if c is not None and not (isinstance(c, (int, float)) and 0 <= c <= 1):
                probs.append(f"{ln.where}: confidence {c!r} outside 0-1")
            for s in r.get("sources", []):
                probs += [f"{ln.where}: source field {k!r} unknown" for k in s if k not in SOURCE_FIELDS]
        self.report(probs, "schema problems")

    def test_09_relation_endpoints_declared_before_use(self):
        probs, declared = [], set()
        for f, lines in FILES:
            declared |= {ln.body.get("id") for ln in lines if ln.key == "entity"}
            for ln in lines:
                if ln.key != "relation":
                    continue
                r = ln.body
                for k in ("subject", "objectId"):
                    if k in r and r[k] not in declared:
                        probs.append(f"{ln.where}: relation {r.get('id')!r} {k} {r[k]!r} is not declared in this or an earlier file")
        self.report(probs, "undeclared relation endpoints")

    def test_10_sources_name_declared_documents(self):
        probs, declared = [], set()
        for f, lines in FILES:
            declared |= {ln.body.get("id") for ln in lines if ln.key == "document"}
            for ln in lines:
                if ln.key != "relation":
                    continue
                r = ln.body
                if not r.get("sources"):
                    probs.append(f"{ln.where}: relation {r.get('id')!r} has no source")
                for s in r.get("sources", []):
                    if s.get("documentId") not in declared:
                        probs.append(f"{ln.where}: source document {s.get('documentId')!r} not declared in this or an earlier file")
                    b, e = s.get("begin"), s.get("end")
                    if not (isinstance(b, int) and isinstance(e, int) and 0 <= b < e):
                        probs.append(f"{ln.where}: source span [{b}, {e}) must satisfy 0 <= begin < end")
                    if not s.get("note"):
                        probs.append(f"{ln.where}: source without a note")
        self.report(probs, "source problems")

    @unittest.skipIf(ARTICLES is None, SKIP_NO_SEEDS)
    def test_11_source_spans_inside_articles(self):
        probs = []
        for f, ln, r in items("relation"):
            for s in r.get("sources", []):
                text = ARTICLES.get(s.get("documentId"))
                if text is None:
                    probs.append(f"{ln.where}: no article text for document {s.get('documentId')!r}")
                    continue
                b, e = s.get("begin", -1), s.get("end", -1)
                if not (0 <= b < e <= len(text)):
                    probs.append(f"{ln.where}: span [{b}, {e}) outside {s['documentId']} (length {len(text)} code points)")
                elif not text[b:e].strip():
                    probs.append(f"{ln.where}: span [{b}, {e}) of {s['documentId']} is only whitespace")
        self.report(probs, "source spans outside the article texts")

    def test_12_dates_valid(self):
        probs = []
        for f, ln, e in items("entity"):
            if "existence" in e:
                probs += range_problems(e["existence"], f"{ln.where}: entity {e['id']} existence")
        for f, ln, r in items("relation"):
            if "valid" in r:
                probs += range_problems(r["valid"], f"{ln.where}: relation {r.get('id')} valid")
        self.report(probs, "invalid dates")

    def test_12b_no_unknown_start_ending_at_publication(self):
        """A report that something held (or had happened) when the article was written gives no
        end: `startUnknown` with an end in the article's own publication period says it stopped
        then. Use `startLatest` (and, for an event, `endLatest`) without start/end instead."""
        probs = []
        for f, lines in FILES:
            docs = [ln.body for ln in lines if ln.key == "document"]
            pub = docs[0].get("published") if docs else None
            if not isinstance(pub, dict) or "year" not in pub:
                continue
            period = {"year": pub["year"], "month": pub["month"]} if pub.get("month") else {"year": pub["year"]}
            p_lo, p_hi = earliest(period), latest(period)
            for ln in lines:
                if ln.key != "relation":
                    continue
                v = ln.body.get("valid") or {}
                if not v.get("startUnknown") or not ("end" in v or "endLatest" in v):
                    continue
                _, _, e_lo, e_hi = range_bounds(v)
                if e_lo <= p_hi and e_hi >= p_lo:
                    probs.append(f"{ln.where}: relation {ln.body.get('id')} has an unknown start and ends in the "
                                 f"article's publication period {period}; write startLatest/endLatest instead")
        self.report(probs, "relations that end when their article was published")

    def test_13_relation_redeclared_only_as_new_version(self):
        probs, last = [], {}
        for f, lines in FILES:
            for ln in lines:
                if ln.key != "relation":
                    continue
                r, i = ln.body, ln.body.get("id")
                if i in last:
                    prev_where, prev = last[i]
                    if prev == r:
                        probs.append(f"{ln.where}: relation {i!r} repeats {prev_where} unchanged")
                    if (prev.get("subject"), prev.get("predicate")) != (r.get("subject"), r.get("predicate")):
                        probs.append(f"{ln.where}: relation {i!r} changes subject/predicate from {prev_where}")
                    gone = [s for s in prev.get("sources", []) if s not in r.get("sources", [])]
                    if gone:
                        probs.append(f"{ln.where}: new version of {i!r} drops {len(gone)} source(s) of {prev_where}")
                last[i] = (ln.where, r)
        self.report(probs, "bad relation versions")

    def test_14_putin_visit_planned_then_postponed(self):
        by_month = {}
        for f, ln, d in items("document"):
            p = d.get("published", {})
            by_month[(p.get("year"), p.get("month"))] = f
        mar, octo = by_month.get((2012, 3)), by_month.get((2012, 10))
        self.assertIsNotNone(mar, "no seed file for the article published in March 2012")
        self.assertIsNotNone(octo, "no seed file for the article published in October 2012")
        got = {}
        for f, ln, r in items("relation"):
            if r.get("id") == PUTIN_VISIT_ID:
                got[f] = r
        self.assertIn(mar, got, f"{PUTIN_VISIT_ID} missing from {mar.name}")
        self.assertIn(octo, got, f"{PUTIN_VISIT_ID} missing from {octo.name}")
        self.assertEqual(got[mar].get("status"), "PLANNED", f"{PUTIN_VISIT_ID} in {mar.name} should be PLANNED")
        self.assertEqual(got[octo].get("status"), "POSTPONED", f"{PUTIN_VISIT_ID} in {octo.name} should be POSTPONED")
        docs = lambda fpath: {ln.body["id"] for ln in dict(FILES)[fpath] if ln.key == "document"}
        self.assertTrue(source_docs(got[octo]) & docs(octo),
                        f"the POSTPONED version of {PUTIN_VISIT_ID} must cite the October 2012 article")
        self.assertTrue(source_docs(got[octo]) & docs(mar),
                        f"the POSTPONED version of {PUTIN_VISIT_ID} should keep the March 2012 source")

    def test_15_disagreeing_claims_kept(self):
        rels = {}
        for f, ln, r in items("relation"):
            rels[r.get("id")] = r  # latest version
        # explicit cross-references must resolve
        probs = []
        for i, r in rels.items():
            ref = (r.get("qualifiers") or {}).get("conflicts_with", {}).get("text")
            for other in (ref or "").split():
                if other not in rels:
                    probs.append(f"relation {i!r} names unknown conflicting relation {other!r}")
        self.report(probs, "dangling conflicts_with references")
        groups = {}
        for i, r in rels.items():
            if "objectId" in r and r.get("status") in ("ASSERTED", None):
                groups.setdefault((r["subject"], r["predicate"], r["objectId"]), []).append(r)
        pairs = []
        for key, rs in groups.items():
            for a_i, a in enumerate(rs):
                for b in rs[a_i + 1:]:
                    if source_docs(a) != source_docs(b) and disjoint(a.get("valid"), b.get("valid")):
                        ref = (a.get("qualifiers") or {}).get("conflicts_with", {}).get("text", "")
                        if b["id"] in ref.split():
                            pairs.append((a["id"], b["id"]))
        self.assertTrue(pairs, "no pair of claims from different articles that date the same event differently "
                               "(same subject/predicate/object, disjoint valid time, linked by conflicts_with)")
        print(f"\n  disagreeing pairs: {len(pairs)}, e.g. {pairs[0][0]} vs {pairs[0][1]}", file=sys.stderr)

    @unittest.skipIf(ARTICLES is None, SKIP_NO_SEEDS)
    def test_16_no_text_copied_from_articles(self):
        seed_runs = {}
        for p in sorted(SEEDS.glob("*.txt")):
            for s in shingles(words(p.read_text(encoding="utf-8", errors="replace"))):
                seed_runs.setdefault(s, p.name)
        probs = []
        paths = sorted(p for p in SEED_DIR.iterdir() if p.is_file()) + [Path(__file__).resolve()]
        for p in paths:
            hits = [s for s in shingles(words(p.read_text(encoding="utf-8"))) if s in seed_runs]
            if hits:
                probs.append(f"{p.name}: {len(hits)} runs of {COPY_RUN}+ words from {seed_runs[hits[0]]}, e.g. {hits[0]!r}")
        self.report(probs, "files with text copied from the articles")


def print_counts():
    print(f"seed data: {SEED_DIR}")
    print(f"seed articles: {SEEDS}" if ARTICLES is not None else f"seed articles: none ({SKIP_NO_SEEDS})")
    tot = [0, 0, 0]
    for f, lines in FILES:
        c = [sum(1 for ln in lines if ln.key == k) for k in ("document", "entity", "relation")]
        tot = [a + b for a, b in zip(tot, c)]
        print(f"  {f.name}: {c[0]} documents, {c[1]} entities, {c[2]} relations")
    print(f"  total: {tot[0]} documents, {tot[1]} entities, {tot[2]} relations")
    distinct = len({ln.body.get("id") for _, lines in FILES for ln in lines if ln.key == "relation"})
    print(f"  distinct relation ids: {distinct}")


if __name__ == "__main__":
    print_counts()
    if SPANS_ONLY:
        if ARTICLES is None:
            print(f"SKIPPED: {SKIP_NO_SEEDS}")
            sys.exit(77)
        UNITTEST_ARGV += ["SeedData.test_11_source_spans_inside_articles", "SeedData.test_16_no_text_copied_from_articles"]
    unittest.main(argv=UNITTEST_ARGV, verbosity=2)
