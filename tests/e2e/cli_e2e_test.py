#!/usr/bin/env python3
"""End-to-end test of the built binaries: a real `annalsd` on 127.0.0.1:0, driven by the
real `annals` command-line client.

Run by CTest as
  python3 tests/e2e/cli_e2e_test.py --annalsd PATH --annals PATH --seed data/seed [unittest args]

Each TestCase class gets a fresh server on a fresh temporary database (setUpClass) and stops
it with SIGTERM at the end (tearDownClass), checking that it exits 0 and says it stopped
cleanly. Expectations are worked out by hand from the API (proto/annals/v1/*.proto), the CLI's
documented flags and the seed data, not copied from program output.

Stdlib only (Python 3.11).
"""
import argparse
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANNALSD = str(REPO / "build/service/annalsd")
ANNALS = str(REPO / "build/clients/cli/annals")
SEED = str(REPO / "data/seed")

START_TIMEOUT = 20  # seconds to wait for "annalsd: serving on ..."
STOP_TIMEOUT = 10  # seconds annalsd gets to exit after SIGTERM
CALL_TIMEOUT = 30  # seconds any one `annals` run may take

SERVING_RE = re.compile(r"^annalsd: serving on 127\.0\.0\.1:(\d+) \(db (.*), revision (\d+)\)$")
SUMMARY_RE = re.compile(
    r"^imported (\d+) rows in (\d+) batches: (\d+) written, (\d+) unchanged, (\d+) rejected, "
    r"(\d+) batches already imported; revision (\d+)$",
    re.MULTILINE)

# Every server this script started, so none outlives it whatever happens.
_LIVE_SERVERS = []


def clean_env():
    """The environment without ANNALS_* variables (ANNALS_ADDR, ANNALS_DB, ... would leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ANNALS_")}


class Server:
    """One annalsd process on 127.0.0.1:0 with its stdout/stderr captured in files."""

    def __init__(self, workdir, db, load=None, name="annalsd"):
        self.workdir = Path(workdir)
        self.db = str(db)
        self.load = load
        self.out_path = self.workdir / f"{name}.stdout"
        self.err_path = self.workdir / f"{name}.stderr"
        self.proc = None
        self.port = None
        self.start_revision = None
        self.serving_line = None

    def start(self):
        cmd = [ANNALSD, "--listen", "127.0.0.1:0", "--db", self.db]
        if self.load:
            cmd += ["--load", self.load]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=clean_env())
        _LIVE_SERVERS.append(self)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.out_path.read_text(errors="replace")
            if "\n" in text:
                self.serving_line = text.split("\n", 1)[0]
                m = SERVING_RE.match(self.serving_line)
                if not m:
                    self.kill()
                    raise RuntimeError(f"annalsd's first stdout line is not 'annalsd: serving on 127.0.0.1:PORT "
                                       f"(db ..., revision N)': {self.serving_line!r}\nstderr:\n{self.stderr()}")
                self.port = int(m.group(1))
                self.start_revision = int(m.group(3))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"annalsd exited with code {self.proc.returncode} before serving: {cmd}\n"
                                   f"stdout:\n{text}\nstderr:\n{self.stderr()}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"annalsd did not print its serving line within {START_TIMEOUT} s: {cmd}\n"
                           f"stderr:\n{self.stderr()}")

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def stderr(self):
        try:
            return self.err_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        """SIGTERM; returns a list of problems (empty when it exited 0 and said 'stopped cleanly')."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            self._forget()
            return [f"annalsd was not running at stop time (exit code {code}); stderr:\n{self.stderr()}"]
        self.proc.send_signal(signal.SIGTERM)
        problems = []
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return [f"annalsd did not exit within {STOP_TIMEOUT} s of SIGTERM (killed); stderr:\n{self.stderr()}"]
        self._forget()
        if code != 0:
            problems.append(f"annalsd exited with code {code} after SIGTERM, expected 0")
        if "stopped cleanly" not in self.stderr():
            problems.append("annalsd's stderr lacks 'stopped cleanly' after SIGTERM")
        if problems:
            problems.append(f"stderr was:\n{self.stderr()}")
        return problems

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # this process only, by its own pid
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._forget()

    def _forget(self):
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)


class CliTestCase(unittest.TestCase):
    """A server per class and helpers to run the CLI against it."""

    load = None  # a seed directory for --load, set by subclasses
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="annals-e2e-")
        cls.workdir = Path(cls.tmp.name)
        cls.db = cls.workdir / "db"
        try:
            cls.server = Server(cls.workdir, cls.db, load=cls.load).start()
        except BaseException:
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            problems = cls.server.stop()
            if problems:
                raise AssertionError("unclean server shutdown:\n" + "\n".join(problems))
        finally:
            cls.tmp.cleanup()

    # --- running the CLI -------------------------------------------------------------------

    def annals(self, *args, json_out=False):
        cmd = [ANNALS, "--addr", self.server.addr, "--timeout", "10"]
        if json_out:
            cmd.append("--json")
        cmd += [str(a) for a in args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=CALL_TIMEOUT, env=clean_env(),
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail(f"`annals {' '.join(cmd[1:])}` did not finish within {CALL_TIMEOUT} s")

    @staticmethod
    def describe(result):
        return (f"command: annals {' '.join(result.args[1:])}\nexit code: {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")

    def ok(self, *args):
        """Runs a command that must succeed; returns its stdout."""
        result = self.annals(*args)
        self.assertEqual(result.returncode, 0, "expected exit code 0\n" + self.describe(result))
        return result.stdout

    def ok_json(self, *args):
        """Runs a command with --json that must succeed; returns the parsed object."""
        result = self.annals(*args, json_out=True)
        self.assertEqual(result.returncode, 0, "expected exit code 0\n" + self.describe(result))
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as e:
            self.fail(f"--json output is not one JSON object ({e})\n" + self.describe(result))

    def fails(self, code, *args, json_out=False):
        """Runs a command that must exit with `code`; returns the CompletedProcess."""
        result = self.annals(*args, json_out=json_out)
        self.assertEqual(result.returncode, code, f"expected exit code {code}\n" + self.describe(result))
        return result

    def rpc_fails(self, grpc_code, *args):
        """A command that must fail as an RPC: exit 1, stderr 'annals: CODE: message'."""
        result = self.fails(1, *args)
        self.assertTrue(result.stderr.startswith(f"annals: {grpc_code}: "),
                        f"expected stderr to start with 'annals: {grpc_code}: '\n" + self.describe(result))
        return result

    def latest_revision(self):
        """The latest revision as a read reports it (int64 in JSON is a string; 0 is omitted)."""
        return int(self.ok_json("relation", "list", "--page-size", "1").get("revision", "0"))

    def list_ids(self, *args):
        """Ids of `relation list --all ARGS`, in listing order."""
        return [r["id"] for r in self.ok_json("relation", "list", "--all", *args).get("relations", [])]

    def put_entities(self, *ids):
        for entity_id in ids:
            self.ok("entity", "put", entity_id, "--label", f"Label of {entity_id}")


class EmptyDatabaseTest(CliTestCase):
    """A server on an empty database. Each test uses its own entity ids; revisions are taken
    relative to what the test reads first (except test_01, which runs first on the fresh db)."""

    def test_01_entity_put_get_round_trip_unchanged_put_and_as_of(self):
        self.assertEqual(self.server.start_revision, 0, "a fresh database should be served at revision 0")
        self.assertEqual(self.latest_revision(), 0, "nothing written yet, so reads should answer at revision 0")

        out = self.ok("entity", "put", "russia", "--label", "Russia", "--kind", "state",
                      "--alias", "Russian Federation", "--alias", "RF")
        self.assertEqual(out.splitlines()[0], "written at revision 1",
                         "the first write to an empty db commits revision 1")

        entity = self.ok_json("entity", "get", "russia")
        self.assertEqual(entity["id"], "russia")
        self.assertEqual(entity["label"], "Russia")
        self.assertEqual(entity["kind"], "state")
        self.assertEqual(entity["aliases"], ["Russian Federation", "RF"], "aliases keep their order")
        self.assertEqual(entity["revision"], "1", "revision is an int64, a JSON string, and the put made it 1")
        text = self.ok("entity", "get", "russia")
        self.assertIn("Russia", text.splitlines()[0])
        self.assertIn("(state)", text.splitlines()[0])
        self.assertIn("revision 1", text)

        # The same record again: nothing to write, no new revision.
        out = self.ok("entity", "put", "russia", "--label", "Russia", "--kind", "state",
                      "--alias", "Russian Federation", "--alias", "RF")
        self.assertEqual(out.splitlines()[0], "unchanged at revision 1",
                         "an identical put must say 'unchanged' and not bump the revision")
        response = self.ok_json("entity", "put", "russia", "--label", "Russia", "--kind", "state",
                                "--alias", "Russian Federation", "--alias", "RF")
        self.assertEqual(response.get("writtenCount", 0), 0, f"identical put wrote something: {response}")
        self.assertEqual(response.get("unchangedCount"), 1, f"identical put should count 1 unchanged: {response}")
        self.assertEqual(self.latest_revision(), 1, "identical puts must not create revisions")
        self.assertEqual(self.ok_json("entity", "get", "russia")["revision"], "1")

        # A changed record is a new version; the old one stays readable as of revision 1.
        out = self.ok("entity", "put", "russia", "--label", "Russian Federation", "--kind", "state")
        self.assertEqual(out.splitlines()[0], "written at revision 2")
        latest = self.ok_json("entity", "get", "russia")
        self.assertEqual((latest["label"], latest["revision"]), ("Russian Federation", "2"))
        self.assertNotIn("aliases", latest, "a put replaces the whole record: the aliases were dropped")
        old = self.ok_json("entity", "get", "russia", "--as-of", "1")
        self.assertEqual((old["label"], old["revision"]), ("Russia", "1"), "--as-of 1 must show the old label")
        self.assertEqual(old["aliases"], ["Russian Federation", "RF"])
        self.assertIn("Russia  (state)", self.ok("entity", "get", "russia", "--as-of", "1").splitlines()[0])

        self.rpc_fails("NOT_FOUND", "entity", "get", "no-such-entity")

    def test_02_document_and_relation_put_get_and_rejected_put_writes_nothing(self):
        self.put_entities("t2.russia", "t2.pakistan")
        out = self.ok("document", "put", "t2.doc", "--title", "Test article", "--published", "2011-05-23",
                      "--author", "A. Writer")
        doc_revision = int(re.match(r"written at revision (\d+)$", out.splitlines()[0]).group(1))
        self.assertIn("t2.doc  Test article  revision", out)

        out = self.ok("relation", "put", "t2.russia", "supports_membership", "t2.pakistan", "--id", "rel.t2.support",
                      "--start", "2011", "--end", "2011-05",
                      "--source", "t2.doc:100-250", "--source", "t2.doc:300-310:second mention")
        self.assertEqual(out.splitlines()[0], f"written at revision {doc_revision + 1}")

        rel = self.ok_json("relation", "get", "rel.t2.support")
        self.assertEqual((rel["subject"], rel["predicate"], rel["objectId"]),
                         ("t2.russia", "supports_membership", "t2.pakistan"))
        self.assertEqual(rel["valid"], {"start": {"year": 2011}, "end": {"year": 2011, "month": 5}},
                         "--start 2011 --end 2011-05 keeps year and month precision")
        self.assertEqual(rel["sources"], [
            {"documentId": "t2.doc", "begin": 100, "end": 250},
            {"documentId": "t2.doc", "begin": 300, "end": 310, "note": "second mention"},
        ])
        self.assertEqual(rel["revision"], str(doc_revision + 1))
        self.assertNotIn("retracted", rel)
        text = self.ok("relation", "get", "rel.t2.support")
        self.assertIn("t2.russia --supports_membership--> t2.pakistan", text)
        self.assertIn("valid: 2011..2011-05", text)
        self.assertIn("source: t2.doc [100, 250)", text)
        self.assertEqual(self.list_ids("--document", "t2.doc"), ["rel.t2.support"],
                         "relation list --document finds the relation citing the document")

        # References to things that do not exist: INVALID_ARGUMENT naming the field, nothing written.
        before = self.latest_revision()
        r = self.rpc_fails("INVALID_ARGUMENT", "relation", "put", "t2.nobody", "supports_membership", "t2.pakistan",
                           "--id", "rel.t2.bad")
        self.assertIn("relations[0].subject", r.stderr, "the error must name the bad field")
        self.assertIn("t2.nobody", r.stderr, "the error must name the missing entity")
        r = self.rpc_fails("INVALID_ARGUMENT", "relation", "put", "t2.russia", "supports_membership", "t2.nobody",
                           "--id", "rel.t2.bad")
        self.assertIn("relations[0].object_id", r.stderr)
        r = self.rpc_fails("INVALID_ARGUMENT", "relation", "put", "t2.russia", "supports_membership", "t2.pakistan",
                           "--id", "rel.t2.bad", "--source", "t2.nodoc:1-2")
        self.assertIn("relations[0].sources[0].document_id", r.stderr)
        self.assertEqual(self.latest_revision(), before, "a rejected put must not commit a revision")
        self.rpc_fails("NOT_FOUND", "relation", "get", "rel.t2.bad")
        self.assertEqual(self.list_ids("--subject", "t2.russia"), ["rel.t2.support"])

    def test_03_window_semantics_possibly_and_certainly(self):
        self.put_entities("w.visitor", "w.host")
        self.ok("relation", "put", "w.visitor", "visited", "w.host", "--id", "rel.w.visit", "--on", "2011-05")
        self.ok("relation", "put", "w.visitor", "supports", "w.host", "--id", "rel.w.support", "--start", "2011")
        self.assertEqual(self.ok_json("relation", "get", "rel.w.visit")["valid"],
                         {"start": {"year": 2011, "month": 5}, "end": {"year": 2011, "month": 5}},
                         "--on is a point event: start = end")
        self.assertEqual(self.ok_json("relation", "get", "rel.w.support")["valid"], {"start": {"year": 2011}},
                         "no --end: still holding, end unset")

        def listed(*window):
            return set(self.list_ids("--subject", "w.visitor", *window))

        visit, support = "rel.w.visit", "rel.w.support"
        # A visit on some day(s) of May 2011.
        self.assertIn(visit, listed("--at", "2011", "--certainly"),
                      "whatever its days, a May 2011 visit certainly fell in 2011")
        self.assertIn(visit, listed("--from", "2011-05-10", "--to", "2011-05-20"),
                      "a May 2011 visit possibly fell in 10-20 May")
        self.assertNotIn(visit, listed("--from", "2011-05-10", "--to", "2011-05-20", "--certainly"),
                         "a May 2011 visit may have been on 2 May: not certainly in 10-20 May")
        self.assertNotIn(visit, listed("--at", "2011-06"), "a May 2011 visit did not happen in June 2011")
        self.assertNotIn(visit, listed("--from", "2030"), "a May 2011 visit is not in a window from 2030")
        # Support since some day of 2011, still holding.
        self.assertIn(support, listed("--at", "2012-06-01", "--certainly"),
                      "support since 2011 and still holding certainly held on 2012-06-01")
        self.assertIn(support, listed("--at", "2011-06-01"), "support since 2011 possibly held on 2011-06-01")
        self.assertNotIn(support, listed("--at", "2011-06-01", "--certainly"),
                         "support since 2011 may have begun in December 2011: not certainly on 2011-06-01")
        self.assertNotIn(support, listed("--at", "2010"), "support since 2011 did not hold in 2010")
        self.assertNotIn(support, listed("--to", "2010-12-31"), "support since 2011 is not in a window ending 2010")
        self.assertIn(support, listed("--from", "2030", "--certainly"),
                      "support with no end still holds: certainly in a window from 2030")
        self.assertEqual(listed("--at", "2011", "--certainly"), {visit, support})

    def test_04_status_filter_and_new_version_history(self):
        self.put_entities("s.putin", "s.pakistan")
        out = self.ok("relation", "put", "s.putin", "visited", "s.pakistan", "--id", "rel.s.visit",
                      "--on", "2012-09", "--status", "planned")
        planned_rev = int(re.match(r"written at revision (\d+)$", out.splitlines()[0]).group(1))
        self.assertEqual(self.list_ids("--subject", "s.putin"), [],
                         "a planned visit did not happen: not listed by default (ASSERTED only)")
        self.assertEqual(self.list_ids("--subject", "s.putin", "--status", "planned"), ["rel.s.visit"])
        self.assertEqual(self.list_ids("--subject", "s.putin", "--status", "postponed"), [])

        out = self.ok("relation", "put", "s.putin", "visited", "s.pakistan", "--id", "rel.s.visit",
                      "--on", "2012-10-03", "--status", "postponed")
        self.assertEqual(out.splitlines()[0], f"written at revision {planned_rev + 1}",
                         "the same --id records a new version in the next revision")

        old = self.ok_json("relation", "get", "rel.s.visit", "--as-of", planned_rev)
        self.assertEqual(old["status"], "PLANNED", f"as of revision {planned_rev} the visit was PLANNED")
        self.assertEqual(old["valid"]["start"], {"year": 2012, "month": 9})
        self.assertEqual(old["revision"], str(planned_rev))
        new = self.ok_json("relation", "get", "rel.s.visit")
        self.assertEqual(new["status"], "POSTPONED", "the latest version is POSTPONED")
        self.assertEqual(new["valid"]["start"], {"year": 2012, "month": 10, "day": 3})
        self.assertEqual(new["revision"], str(planned_rev + 1))
        self.assertIn("status: POSTPONED", self.ok("relation", "get", "rel.s.visit"))
        self.assertEqual(self.list_ids("--subject", "s.putin", "--status", "planned"), [],
                         "its latest version is no longer planned")
        self.assertEqual(self.list_ids("--subject", "s.putin", "--status", "postponed"), ["rel.s.visit"])
        self.assertEqual(self.list_ids("--subject", "s.putin", "--status", "planned", "--as-of", planned_rev),
                         ["rel.s.visit"], "listing as of the old revision sees the planned version")
        self.assertEqual(self.list_ids("--subject", "s.putin"), [], "postponed is not asserted either")

    def test_05_retract_hides_relation_but_history_keeps_it(self):
        self.put_entities("r.a", "r.b")
        out = self.ok("relation", "put", "r.a", "member_of", "r.b", "--id", "rel.r.claim", "--start", "2011")
        put_rev = int(re.match(r"written at revision (\d+)$", out.splitlines()[0]).group(1))

        retracted = self.ok_json("relation", "retract", "rel.r.claim", "--reason", "misread the source")
        self.assertTrue(retracted.get("retracted"), f"retract returns the retracted version: {retracted}")
        self.assertEqual(retracted.get("retractionReason"), "misread the source")
        self.assertEqual(retracted["revision"], str(put_rev + 1), "a retraction is a write: the next revision")

        r = self.rpc_fails("NOT_FOUND", "relation", "get", "rel.r.claim")
        self.assertIn("rel.r.claim", r.stderr)
        shown = self.ok_json("relation", "get", "rel.r.claim", "--show-retracted")
        self.assertTrue(shown.get("retracted"), "--show-retracted returns the retracted version")
        self.assertEqual(shown.get("retractionReason"), "misread the source")
        self.assertIn("RETRACTED: misread the source", self.ok("relation", "get", "rel.r.claim", "--show-retracted"))
        before = self.ok_json("relation", "get", "rel.r.claim", "--as-of", put_rev)
        self.assertNotIn("retracted", before, f"as of revision {put_rev} it was not retracted yet")
        self.assertEqual(before["revision"], str(put_rev))
        self.assertEqual(self.list_ids("--subject", "r.a"), [], "a retracted relation is not listed")
        self.assertEqual(self.list_ids("--subject", "r.a", "--as-of", put_rev), ["rel.r.claim"],
                         "listing as of before the retraction still shows it")

        rev = self.latest_revision()
        r = self.rpc_fails("FAILED_PRECONDITION", "relation", "retract", "rel.r.claim", "--reason", "again")
        self.assertIn("rel.r.claim", r.stderr)
        self.assertEqual(self.latest_revision(), rev, "a refused retraction writes nothing")
        self.rpc_fails("NOT_FOUND", "relation", "retract", "rel.r.never-written")

    def test_05b_delete_refused_while_named_then_cascades(self):
        self.put_entities("x.a", "x.b")
        self.ok("relation", "put", "x.a", "met", "x.b", "--id", "rel.x.met", "--start", "2012")
        rev = self.latest_revision()
        r = self.rpc_fails("FAILED_PRECONDITION", "entity", "delete", "x.b")
        self.assertIn("rel.x.met", r.stderr)
        self.assertEqual(self.latest_revision(), rev, "a refused delete writes nothing")
        deleted = self.ok_json("entity", "delete", "x.b", "--cascade")
        self.assertEqual(deleted["revision"], str(rev + 1))
        self.assertEqual(deleted.get("retractedRelationIds"), ["rel.x.met"])
        self.rpc_fails("NOT_FOUND", "entity", "get", "x.b")
        self.assertEqual(self.ok_json("entity", "get", "x.b", "--as-of", rev)["id"], "x.b")
        self.assertEqual(self.list_ids("--subject", "x.a"), [], "the cascade retracted the relation")
        self.rpc_fails("NOT_FOUND", "entity", "delete", "x.b")

    def test_06_pagination_tokens_visit_every_relation_once(self):
        objects = [f"pg.o{i}" for i in range(1, 8)]
        self.put_entities("pg.hub", *objects)
        expected = set()
        for i, obj in enumerate(objects, 1):
            self.ok("relation", "put", "pg.hub", "links", obj, "--id", f"rel.pg.{i}")
            expected.add(f"rel.pg.{i}")

        first = self.ok_json("relation", "list", "--subject", "pg.hub", "--page-size", "3")
        self.assertEqual(len(first.get("relations", [])), 3, "--page-size 3 gives 3 of the 7")
        self.assertTrue(first.get("nextPageToken"), f"4 more relations: a nextPageToken is expected: {first}")
        # A write between pages must not change what later pages see: the token carries the revision.
        self.put_entities("pg.o8")
        self.ok("relation", "put", "pg.hub", "links", "pg.o8", "--id", "rel.pg.8")

        seen, sizes, page = [], [], first
        for _ in range(10):
            seen += [r["id"] for r in page.get("relations", [])]
            sizes.append(len(page.get("relations", [])))
            self.assertEqual(page.get("revision"), first.get("revision"), "every page answers at the first's revision")
            token = page.get("nextPageToken")
            if not token:
                break
            page = self.ok_json("relation", "list", "--subject", "pg.hub", "--page-size", "3", "--page-token", token)
        self.assertEqual(sizes, [3, 3, 1], "7 relations in pages of 3")
        self.assertEqual(len(seen), len(set(seen)), f"a relation came twice: {seen}")
        self.assertEqual(set(seen), expected, "the pages together are exactly the 7 relations of the first revision")

        self.assertEqual(set(self.list_ids("--subject", "pg.hub", "--as-of", first["revision"], "--page-size", "3")),
                         expected, "--all follows the tokens to the end")
        everything = self.ok_json("relation", "list", "--subject", "pg.hub", "--all", "--page-size", "3")
        self.assertEqual(len(everything["relations"]), 8, "--all at the latest revision sees the 8th as well")
        self.assertNotIn("nextPageToken", everything, "--all leaves no token behind")
        text = self.ok("relation", "list", "--subject", "pg.hub", "--page-size", "3")
        self.assertIn("more: --page-token ", text, "the table tells how to continue")

    def test_07_search_folds_case_and_accents(self):
        self.ok("entity", "put", "abdullah-gul", "--label", "Abdullah Gül", "--kind", "person")

        def found(query, *more):
            return [e["id"] for e in self.ok_json("search", query, *more).get("entities", [])]

        self.assertIn("abdullah-gul", found("gul"), "'gul' must find 'Abdullah Gül' (accent folded)")
        self.assertIn("abdullah-gul", found("ABDULLAH"), "'ABDULLAH' must find 'Abdullah Gül' (case folded)")
        self.assertIn("abdullah-gul", found("GÜL"), "'GÜL' must find 'Abdullah Gül'")
        self.assertIn("abdullah-gul", found("abdullah g"), "a word sequence prefix matches")
        self.assertIn("abdullah-gul", found("gul", "--kind", "person"))
        self.assertNotIn("abdullah-gul", found("gul", "--kind", "state"), "--kind filters")
        self.assertNotIn("abdullah-gul", found("ul"), "matching is by word prefix: 'ul' starts no word")
        self.assertIn("Abdullah Gül", self.ok("search", "gul"))

    def write_import_file(self, name, prefix):
        """~27 lines: a document, 8 entities, 16 good relations, one malformed line and one
        relation naming a missing entity. Returns (path, malformed line no, bad line no)."""
        lines = [json.dumps({"document": {"id": f"{prefix}.doc", "title": "Import test"}})]
        for i in range(8):
            lines.append(json.dumps({"entity": {"id": f"{prefix}.e{i}", "kind": "thing", "label": f"Thing {i}"}}))
        malformed = bad = None
        for i in range(16):
            if i == 4:
                lines.append('{"relation": {"subject": "' + prefix + '.e0", ')
                malformed = len(lines)
            if i == 12:
                lines.append(json.dumps({"relation": {"id": f"rel.{prefix}.bad", "subject": f"{prefix}.e0",
                                                      "predicate": "imported_link", "objectId": f"{prefix}.missing"}}))
                bad = len(lines)
            lines.append(json.dumps({"relation": {
                "id": f"rel.{prefix}.{i}", "subject": f"{prefix}.e0", "predicate": "imported_link",
                "objectId": f"{prefix}.e{1 + i % 7}", "valid": {"start": {"year": 2000 + i}},
                "sources": [{"documentId": f"{prefix}.doc", "begin": i, "end": i + 1}]}}))
        path = self.workdir / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, malformed, bad, len(lines)

    def test_08_import_reports_bad_lines_and_writes_the_rest_once(self):
        path, malformed, bad, rows = self.write_import_file("import.jsonl", "imp")
        good_relations = {f"rel.imp.{i}" for i in range(16)}
        before = self.latest_revision()

        result = self.fails(1, "import", path, "--batch-size", "10")
        self.assertIn(f"{path}:{malformed}:", result.stderr, f"stderr must name malformed line {malformed}")
        bad_report = [l for l in result.stderr.splitlines() if l.startswith(f"{path}:{bad}:")]
        self.assertTrue(bad_report, f"stderr must name line {bad} (missing entity)\n" + self.describe(result))
        self.assertIn("imp.missing", bad_report[0])
        m = SUMMARY_RE.search(result.stdout)
        self.assertIsNotNone(m, "no 'imported N rows ...' summary line\n" + self.describe(result))
        self.assertEqual(int(m.group(1)), rows, f"{rows} non-blank lines were read")
        self.assertEqual(int(m.group(3)), rows - 2, "all good lines were written")
        self.assertEqual(int(m.group(5)), 2, "the summary must report 2 rejected lines")

        self.assertEqual(set(self.list_ids("--subject", "imp.e0", "--predicate", "imported_link")), good_relations,
                         "every good relation was written, the bad one was not")
        self.assertEqual(set(self.list_ids("--document", "imp.doc")), good_relations)
        for i in range(8):
            self.assertEqual(self.ok_json("entity", "get", f"imp.e{i}")["label"], f"Thing {i}")
        self.rpc_fails("NOT_FOUND", "relation", "get", "rel.imp.bad")
        after = self.latest_revision()
        # Batches of 10 items: lines 1-10, 11-21 (without 14), 22-27 (sent again without 23):
        # three commits.
        self.assertEqual(after, before + 3, "three batches committed, one revision each")

        again = self.fails(1, "import", path, "--batch-size", "10")
        self.assertIn(f"{path}:{malformed}:", again.stderr)
        self.assertIn(f"{path}:{bad}:", again.stderr)
        m = SUMMARY_RE.search(again.stdout)
        self.assertIsNotNone(m, "no summary line on the re-run\n" + self.describe(again))
        self.assertEqual(int(m.group(5)), 2, "the re-run rejects the same 2 lines")
        self.assertEqual(self.latest_revision(), after, "re-running the same import must write nothing")
        self.assertEqual(set(self.list_ids("--subject", "imp.e0", "--predicate", "imported_link")), good_relations)

    def test_09_neighbors_directions_status_and_limit(self):
        self.put_entities("nb.hub", "nb.a", "nb.b", "nb.c", "nb.d")
        self.ok("relation", "put", "nb.hub", "knows", "nb.a", "--id", "rel.nb.1")
        self.ok("relation", "put", "nb.hub", "knows", "nb.b", "--id", "rel.nb.2")
        self.ok("relation", "put", "nb.c", "knows", "nb.hub", "--id", "rel.nb.3")
        self.ok("relation", "put", "nb.d", "knows", "nb.hub", "--id", "rel.nb.4", "--status", "planned")

        def neighbours(*args):
            response = self.ok_json("neighbors", "nb.hub", *args)
            return {(n["relation"]["id"], n["neighbor"]["id"], n["direction"]) for n in response.get("neighbors", [])}

        out_edges = {("rel.nb.1", "nb.a", "OUT"), ("rel.nb.2", "nb.b", "OUT")}
        in_edges = {("rel.nb.3", "nb.c", "IN")}
        self.assertEqual(neighbours("--direction", "out"), out_edges, "out: relations whose subject is the hub")
        self.assertEqual(neighbours("--direction", "in"), in_edges,
                         "in: relations whose object is the hub (the planned one is not asserted)")
        self.assertEqual(neighbours("--direction", "both"), out_edges | in_edges)
        self.assertEqual(neighbours(), out_edges | in_edges, "--direction defaults to both")
        self.assertEqual(neighbours("--status", "planned"), {("rel.nb.4", "nb.d", "IN")})
        labels = {n["neighbor"]["id"]: n["neighbor"]["label"]
                  for n in self.ok_json("neighbors", "nb.hub")["neighbors"]}
        self.assertEqual(labels["nb.a"], "Label of nb.a", "the neighbour entity comes with its label")

        limited = self.ok_json("neighbors", "nb.hub", "--limit", "2")
        self.assertEqual(len(limited["neighbors"]), 2, "--limit 2 returns 2 of the 3")
        self.assertTrue(limited.get("truncated"), "3 matched, 2 returned: truncated")
        text = self.ok("neighbors", "nb.hub", "--limit", "2")
        self.assertIn("more: --page-token", text, "the table must say more neighbours follow, and how to get them")
        self.assertNotIn("more:", self.ok("neighbors", "nb.hub", "--limit", "3"), "3 of 3 is not truncated")
        self.assertNotIn("more:", self.ok("neighbors", "nb.hub", "--direction", "out", "--limit", "2"),
                         "2 of 2 is not truncated")
        # Pages: the second page goes on where the first stopped; --all follows every token.
        second = self.ok_json("neighbors", "nb.hub", "--page-size", "2", "--page-token", limited["nextPageToken"])
        self.assertEqual(len(second["neighbors"]), 1)
        self.assertFalse(second.get("truncated"))
        paged = {n["relation"]["id"] for n in limited["neighbors"] + second["neighbors"]}
        self.assertEqual(paged, {"rel.nb.1", "rel.nb.2", "rel.nb.3"})
        everything = self.ok_json("neighbors", "nb.hub", "--page-size", "1", "--all")
        self.assertEqual({n["relation"]["id"] for n in everything["neighbors"]}, paged)
        # BASIC: the same relations, the other end named by id, label and kind only.
        basic = self.ok_json("neighbors", "nb.hub", "--view", "basic")
        self.assertEqual({(n["relation"]["id"], n["neighbor"]["id"], n["direction"]) for n in basic["neighbors"]},
                         out_edges | in_edges)
        for n in basic["neighbors"]:
            self.assertNotIn("sources", n["relation"])
            self.assertNotIn("revision", n["neighbor"])
        self.fails(2, "neighbors", "nb.hub", "--view", "everything")
        self.rpc_fails("NOT_FOUND", "neighbors", "nb.nobody")

    def test_10_usage_errors_exit_2_before_any_call(self):
        self.put_entities("u.a", "u.b")
        before = self.latest_revision()
        r = self.fails(2, "relation", "list", "--at", "2011-13x")
        self.assertIn("2011-13x", r.stderr)
        self.assertIn("not a date", r.stderr)
        r = self.fails(2, "relation", "list", "--status", "bogus")
        self.assertIn("bogus", r.stderr)
        self.fails(2, "relation", "list", "--at", "2011", "--from", "2010")
        self.fails(2, "neighbors", "u.a", "--at", "2011-13x")
        self.fails(2, "neighbors", "u.a", "--direction", "sideways")
        self.fails(2, "relation", "put", "u.a", "visited", "u.b", "--id", "rel.u.x", "--status", "bogus")
        self.fails(2, "relation", "put", "u.a", "visited", "u.b", "--id", "rel.u.x", "--start", "2011-13x")
        self.fails(2, "relation", "put", "u.a", "visited", "u.b", "--id", "rel.u.x", "--source", "no-span")
        self.fails(2, "relation", "put", "u.a", "visited", "--id", "rel.u.x")  # no object at all
        self.assertEqual(self.latest_revision(), before, "usage errors write nothing")
        self.rpc_fails("NOT_FOUND", "relation", "get", "rel.u.x")
        # Well-formed but not a calendar date: the server checks it and names the field.
        r = self.rpc_fails("INVALID_ARGUMENT", "relation", "list", "--at", "2011-13")
        self.assertIn("window.start", r.stderr)

    # --- behaviours that were bugs when this test was first written --------------------

    def test_11_bad_at_date_message_names_the_at_flag(self):
        r = self.fails(2, "relation", "list", "--at", "2011-13x")
        self.assertIn("--at '2011-13x'", r.stderr, "the message must name the flag that was given (--at)")

    def test_12_command_line_parse_errors_exit_2(self):
        codes = {
            "unknown flag": self.annals("relation", "list", "--bogus").returncode,
            "missing required --label": self.annals("entity", "put", "u.c").returncode,
            "non-numeric --page-size": self.annals("relation", "list", "--page-size", "abc").returncode,
            "unknown subcommand": self.annals("bogus").returncode,
        }
        self.assertEqual(codes, {k: 2 for k in codes}, "every usage error must exit 2")

    def test_13_relation_put_default_status_is_asserted(self):
        self.put_entities("d.a", "d.b")
        self.ok("relation", "put", "d.a", "knows", "d.b", "--id", "rel.d.default")
        self.assertEqual(self.list_ids("--subject", "d.a"), ["rel.d.default"])
        self.assertEqual(self.list_ids("--subject", "d.a", "--status", "asserted"), ["rel.d.default"],
                         "a relation put with the default status (asserted) must be listed with --status asserted")
        self.assertEqual(self.ok_json("relation", "get", "rel.d.default").get("status"), "ASSERTED")

    def test_14_import_rerun_summary_reports_nothing_written(self):
        path, _, _, rows = self.write_import_file("rerun.jsonl", "rer")
        self.fails(1, "import", path, "--batch-size", "10")
        revision = self.latest_revision()
        again = self.fails(1, "import", path, "--batch-size", "10")
        self.assertEqual(self.latest_revision(), revision)
        m = SUMMARY_RE.search(again.stdout)
        self.assertIsNotNone(m, "no summary line\n" + self.describe(again))
        self.assertEqual(int(m.group(3)), 0, "a re-run that committed nothing must report 0 written\n"
                         + self.describe(again))


    def test_15_diff_history_and_watch(self):
        self.put_entities("df.x", "df.y")
        start = self.latest_revision()
        self.ok("relation", "put", "df.x", "visited", "df.y", "--id", "df.visit", "--on", "2011-05",
                "--status", "planned")
        self.ok("relation", "put", "df.x", "visited", "df.y", "--id", "df.visit", "--on", "2011-09",
                "--status", "postponed")
        self.ok("relation", "put", "df.x", "supports", "df.y", "--id", "df.support", "--start", "2011")
        # What the service learned since `start`: one JSON object per change, in commit order.
        out = self.annals("diff", "--from-rev", start, "df.x", json_out=True)
        self.assertEqual(out.returncode, 0, self.describe(out))
        changes = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        self.assertEqual([(c["id"], c["kind"]) for c in changes],
                         [("df.visit", "RELATION_ADDED"), ("df.visit", "RELATION_CHANGED"),
                          ("df.support", "RELATION_ADDED")])
        self.assertEqual(changes[1]["relationBefore"]["status"], "PLANNED")
        self.assertEqual(changes[1]["relationAfter"]["status"], "POSTPONED")
        # The same claim's versions, oldest first.
        history = self.ok("history", "df.visit").splitlines()
        self.assertEqual(len(history), 2, history)
        self.assertIn("RELATION_ADDED", history[0])
        self.assertIn("PLANNED", history[0])
        self.assertIn("RELATION_CHANGED", history[1])
        # How the world changed between 2010 and 2013: the support began (the visit never
        # happened as dated, and it is not asserted anyway).
        vt = self.ok_json("diff", "--at", "2010", "--vs", "2013", "df.x", "df.y")
        self.assertEqual([r["id"] for r in vt.get("began", [])], ["df.support"])
        self.assertNotIn("ended", vt)
        # A watcher sees a commit made after it connected.
        latest = self.latest_revision()
        watcher = subprocess.Popen([ANNALS, "--addr", self.server.addr, "--json", "watch", "--from-rev", str(latest)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        try:
            time.sleep(0.3)
            self.ok("relation", "put", "df.y", "met", "df.x", "--id", "df.met", "--on", "2012")
            line = watcher.stdout.readline()
            self.assertTrue(line, "the watcher printed nothing")
            seen = json.loads(line)
            self.assertEqual((seen["id"], seen["kind"], int(seen["revision"])), ("df.met", "RELATION_ADDED", latest + 1))
            self.assertTrue(seen.get("resumeToken"))
        finally:
            watcher.kill()
            watcher.wait(timeout=10)


    def test_16_icews_import_keeps_names_dates_and_reports_bad_rows(self):
        rows = [
            "John Kerry\tExpress intent to meet or negotiate\tChina\t2014-11-04",
            "China\tHost a visit\tJohn Kerry\t2014-11-05",
            "John Kerry\tExpress intent to meet or negotiate\tChina\t2014-11-04",  # the same event again
            "Abdullah Gül\tMake statement\tTurkey\t2014-02-30",  # no such day: the server says so
            "Turkey\tConsult\tAbdullah Gül\t2014-13",  # not a date at all
            "Abdullah Gül\tMake statement\tTurkey\t2014-03-01",
        ]
        path = Path(self.tmp.name) / "events.tsv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        before = self.latest_revision()
        r = self.fails(1, "import", path, "--format", "icews", "--batch-size", "4")
        self.assertIn(f"{path}:5: date '2014-13': want YYYY-MM-DD", r.stderr)
        self.assertRegex(r.stderr, rf"{re.escape(str(path))}:4: relations\[\d+\]\.valid\.start: day 30 out of range")
        m = SUMMARY_RE.search(r.stdout)
        self.assertIsNotNone(m, self.describe(r))
        self.assertEqual((int(m.group(1)), int(m.group(5))), (6, 2), "6 rows read, 2 rejected")
        # Names become the same ids every time; the original name is the label.
        kerry = self.ok_json("entity", "get", "john-kerry")
        self.assertEqual(kerry["label"], "John Kerry")
        # test_07 made an "abdullah-gul" by hand; the importer's id for the name has a hash.
        gul = [e for e in self.ok_json("search", "abdullah")["entities"] if e["id"].startswith("abdullah-g-l-")]
        self.assertEqual(len(gul), 1, "the accented name maps to one hashed id")
        self.assertEqual(gul[0]["label"], "Abdullah Gül")
        # The repeated row is a second event, not a duplicate key; both are dated 2014-11-04.
        kerry_rels = self.ok_json("relation", "list", "--subject", "john-kerry", "--all").get("relations", [])
        self.assertEqual(len(kerry_rels), 2)
        self.assertEqual({tuple(sorted(x["valid"]["start"].items())) for x in kerry_rels},
                         {(("day", 4), ("month", 11), ("year", 2014))})
        # Again: nothing new is written.
        revision = self.latest_revision()
        self.assertGreater(revision, before)
        again = self.fails(1, "import", path, "--format", "icews", "--batch-size", "4")
        self.assertEqual(self.latest_revision(), revision, self.describe(again))

    def test_17_yago_import_keeps_vague_and_unknown_dates(self):
        rows = [
            "<Government_of_Canada>\t<owns>\t<RCAF_Station_Grostenquin>\t1952-##-##\t####-##-##",
            "<Some_Band>\t<created>\t<Some_Album>\t195#-##-##\t195#-##-##",
            "<Euripides>\t<created>\t<Medea_(play)>\t-431-##-##\t####-##-##",
            "<Bad_Row>\t<created>\t<Thing>\t307-13047-09\t####-##-##",
            "<Late_Start>\t<owns>\t<Thing>\t1990-##-##\t1980-##-##",
        ]
        path = Path(self.tmp.name) / "yago.tsv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        r = self.fails(1, "import", path, "--format", "yago")
        self.assertIn(f"{path}:4: start date '307-13047-09'", r.stderr)
        self.assertRegex(r.stderr, rf"{re.escape(str(path))}:5: relations\[\d+\]\.valid\.end: the range ends before")
        owns = self.ok_json("relation", "list", "--subject", "government-of-canada").get("relations", [])
        self.assertEqual(len(owns), 1)
        self.assertEqual(owns[0]["valid"], {"start": {"year": 1952}, "endUnknown": True})
        # An unknown end: possibly holding in 1960, never certainly; certainly within 1952.
        self.assertEqual(len(self.list_ids("--subject", "government-of-canada", "--at", "1960")), 1)
        self.assertEqual(self.list_ids("--subject", "government-of-canada", "--at", "1960", "--certainly"), [])
        self.assertEqual(len(self.list_ids("--subject", "government-of-canada", "--at", "1952", "--certainly")), 1)
        band = self.ok_json("relation", "list", "--subject", "some-band")["relations"][0]
        self.assertEqual(band["valid"], {"start": {"year": 1950}, "startLatest": {"year": 1959},
                                         "end": {"year": 1950}, "endLatest": {"year": 1959}})
        medea = self.ok_json("relation", "list", "--subject", "euripides")["relations"][0]
        self.assertEqual(medea["valid"]["start"], {"year": -431})

    def test_18_real_icews14_test_split_imports_completely(self):
        # The shipped, gzip-compressed file: `annals import` reads it as it is.
        data = REPO / "data" / "icews14" / "test.tsv.gz"
        r = self.ok("import", data, "--format", "icews", "--batch-size", "2000")
        m = SUMMARY_RE.search(r)
        self.assertIsNotNone(m, r)
        self.assertEqual(int(m.group(1)), 8963)
        self.assertEqual(int(m.group(5)), 0, "no row of the real data set is rejected")
        self.assertRegex(r, r"rows/s")

    def test_19_gzip_import_stops_at_a_damaged_member_and_a_rerun_writes_nothing_twice(self):
        # 60 made-up events in three gzip members (as pigz or bgzip write them), 10 rows a batch.
        rows = [f"Gzip Actor {i % 7}\tGzip consult\tGzip Actor {(i + 3) % 7}\t2014-03-{1 + i % 28:02d}" for i in range(60)]
        text = ("\n".join(rows) + "\n").encode()
        whole = gzip.compress(text[:1000], mtime=0) + gzip.compress(text[1000:2500], mtime=0) + \
            gzip.compress(text[2500:], mtime=0)
        path = Path(self.tmp.name) / "events.data"  # the name says nothing of gzip
        # First a copy cut short in its last member: the batches before the cut are written.
        path.write_bytes(whole[:-40])
        before = self.latest_revision()
        r = self.fails(1, "import", path, "--format", "icews", "--batch-size", "10", json_out=True)
        summary = json.loads(r.stdout)
        stopped = summary["stopped"]
        self.assertEqual(stopped["file"], str(path))
        self.assertIn("truncated", stopped["error"])
        self.assertIn(f"{path}: line ", r.stderr)
        taken = stopped["takenThroughLine"]
        self.assertGreater(taken, 0)
        self.assertLess(taken, 60)
        self.assertEqual(summary["rows"], taken)
        listed = lambda: {i for i in self.list_ids("--predicate", "Gzip consult") if i.startswith("icews:")}
        self.assertEqual(len(listed()), taken)
        # The mended file: only the rest is written; then a third run writes nothing.
        path.write_bytes(whole)
        r = self.ok("import", path, "--format", "icews", "--batch-size", "10")
        self.assertEqual(len(listed()), 60, r)
        revision = self.latest_revision()
        self.assertGreater(revision, before)
        self.ok("import", path, "--format", "icews", "--batch-size", "10")
        self.assertEqual(self.latest_revision(), revision)
        # A checksum that fails is an error naming the file and a line.
        bad = bytearray(gzip.compress(text, mtime=0))
        bad[-8] ^= 1
        path.write_bytes(bytes(bad))
        r = self.fails(1, "import", path, "--format", "icews", "--batch-size", "100")
        self.assertRegex(r.stderr, rf"{re.escape(str(path))}: line \d+: corrupt gzip data \(incorrect data check\)")
        self.assertEqual(self.latest_revision(), revision)


class SeedDatabaseTest(CliTestCase):
    """A server started with --load data/seed: five files, five revisions."""

    ZARDARI_VISITS = {  # data/seed/README.md: the disagreeing claims of Zardari's visit to Russia
        "rel.zardari-visit-russia-2011-05.seed-000": "seed-000",  # 11-13 May 2011
        "rel.zardari-visit-russia-2011-05.seed-001": "seed-001",  # May 2011
        "rel.zardari-visit-russia-2012.seed-002": "seed-002",  # "earlier this year", 2012
        "rel.zardari-visit-russia-2011-09.seed-003": "seed-003",  # September 2011
    }

    @classmethod
    def setUpClass(cls):
        cls.load = SEED
        cls.seed_files = sorted(p.name for p in Path(SEED).glob("*.jsonl"))
        super().setUpClass()

    def test_11_seed_loads_as_five_revisions_and_putin_visit_history(self):
        self.assertEqual(self.seed_files, ["000_purushottam_2011.jsonl", "001_desilva-ranasinghe_2012.jsonl",
                                           "002_chauhan_2012.jsonl", "003_hanif_2013.jsonl", "004_fazil_2014.jsonl"])
        self.assertEqual(self.server.start_revision, 5,
                         f"five seed files, one commit each: {self.server.serving_line!r}")
        stderr = self.server.stderr()
        for revision, name in enumerate(self.seed_files, 1):
            self.assertRegex(stderr, rf"loaded \S*{re.escape(name)}: revision {revision}\b",
                             f"{name} must be committed as revision {revision} (name order)")
        self.assertEqual(self.latest_revision(), 5)

        rel_id = "rel.putin-visit-pakistan-2012"
        self.rpc_fails("NOT_FOUND", "relation", "get", rel_id, "--as-of", "1")  # first written by 001
        planned = self.ok_json("relation", "get", rel_id, "--as-of", "2")
        self.assertEqual(planned.get("status"), "PLANNED", "as of revision 2 (file 001) the visit is PLANNED")
        self.assertEqual(planned["valid"], {"start": {"year": 2012, "month": 9}, "end": {"year": 2012, "month": 9}})
        self.assertEqual(planned["revision"], "2")
        postponed = self.ok_json("relation", "get", rel_id, "--as-of", "3")
        self.assertEqual(postponed.get("status"), "POSTPONED", "as of revision 3 (file 002) it is POSTPONED")
        self.assertEqual(postponed["revision"], "3")
        latest = self.ok_json("relation", "get", rel_id)
        self.assertEqual((latest.get("status"), latest["revision"]), ("POSTPONED", "4"),
                         "file 003 writes the last version, still POSTPONED")
        self.assertEqual({s["documentId"] for s in latest["sources"]}, {"seed-001", "seed-002", "seed-003"},
                         "each new version keeps the earlier sources and adds its own")
        self.assertNotIn(rel_id, self.list_ids("--subject", "putin", "--object", "pakistan"),
                         "a postponed visit is not listed by default")
        self.assertIn(rel_id, self.list_ids("--subject", "putin", "--object", "pakistan", "--status", "postponed"))
        self.assertIn(rel_id, self.list_ids("--subject", "putin", "--status", "planned", "--as-of", "2"))

    def test_12_restart_with_same_load_writes_nothing(self):
        def snapshot():
            listing = self.ok_json("relation", "list", "--all", "--page-size", "1000")
            return listing.get("revision"), {(r["id"], r["revision"]) for r in listing.get("relations", [])}

        revision, relations = snapshot()
        self.assertEqual(revision, "5")
        self.assertGreater(len(relations), 100, "the seed holds a few hundred relations")

        problems = self.server.stop()
        self.assertEqual(problems, [], "the first server must stop cleanly")
        type(self).server = Server(self.workdir, self.db, load=SEED, name="annalsd-restarted").start()
        self.assertEqual(self.server.start_revision, 5,
                         f"loading the same files again must write nothing: {self.server.serving_line!r}")
        self.assertEqual(snapshot(), (revision, relations), "the restarted server answers with the same data")
        self.assertEqual(self.ok_json("entity", "get", "zardari").get("revision"),
                         self.ok_json("entity", "get", "zardari", "--as-of", "5").get("revision"))

    def test_13_zardari_visits_to_russia_are_disagreeing_claims_with_own_sources(self):
        listing = self.ok_json("relation", "list", "--subject", "zardari", "--predicate", "visited",
                               "--object", "russia", "--all")
        relations = {r["id"]: r for r in listing.get("relations", [])}
        self.assertEqual(set(relations), set(self.ZARDARI_VISITS),
                         "each article's claim of Zardari's visit is its own relation")
        for rel_id, document in self.ZARDARI_VISITS.items():
            rel = relations[rel_id]
            self.assertEqual({s["documentId"] for s in rel.get("sources", [])}, {document},
                             f"{rel_id} must cite its own article {document} only")
            conflicts = rel.get("qualifiers", {}).get("conflicts_with", {}).get("text", "").split()
            self.assertTrue(conflicts, f"{rel_id} must name the claims it disagrees with")
            self.assertTrue(set(conflicts) <= set(self.ZARDARI_VISITS) - {rel_id},
                            f"{rel_id} conflicts_with {conflicts} must name other Zardari-visit claims")
        self.assertEqual(len({d for d in self.ZARDARI_VISITS.values()}), 4, "four different articles")

        def at(*window):
            return set(self.list_ids("--subject", "zardari", "--predicate", "visited", "--object", "russia", *window))

        may = {"rel.zardari-visit-russia-2011-05.seed-000", "rel.zardari-visit-russia-2011-05.seed-001"}
        self.assertEqual(at("--at", "2011-05", "--certainly"), may, "only 000 and 001 put the visit in May 2011")
        self.assertEqual(at("--at", "2011"), may | {"rel.zardari-visit-russia-2011-09.seed-003"})
        self.assertEqual(at("--at", "2012", "--certainly"), {"rel.zardari-visit-russia-2012.seed-002"},
                         "002's visit fell somewhere in January-September 2012")
        self.assertEqual(at("--at", "2012-05", "--certainly"), set(),
                         "002's visit is not certainly in May 2012")

    def test_15_graph_queries_on_the_seed(self):
        # Paths: Gazprom backs TAPI directly; the 2-hop paths go through Pakistan.
        paths = self.ok_json("paths", "gazprom", "tapi-pipeline", "--max-hops", "2", "-k", "3")["paths"]
        self.assertEqual([len(p["steps"]) for p in paths], [1, 2, 2])
        self.assertEqual(paths[0]["steps"][0]["relation"]["id"], "rel.gazprom-backs-tapi.seed-000")
        for p in paths[1:]:
            self.assertEqual(p["steps"][0]["entityId"], "pakistan")
        # Conflicts: the four Zardari visit claims, each from its own article.
        groups = self.ok_json("conflicts", "zardari", "russia")["groups"]
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0]["reason"], "dates")
        self.assertEqual({c["id"] for c in groups[0]["claims"]}, set(self.ZARDARI_VISITS))
        # Aggregate: the trade figures as a trajectory, certain in their years.
        agg = self.ok_json("aggregate", "pakistan", "--by", "year", "--predicate", "bilateral_trade")["buckets"]
        self.assertEqual([(b["period"], b["count"], b["sums"][0]["amount"]) for b in agg],
                         [("2003", "1", 92e6), ("2006", "1", 441e6), ("2008", "1", 630e6)])
        months = self.ok_json("aggregate", "pakistan", "--by", "month", "--predicate", "bilateral_trade")["buckets"]
        self.assertEqual(len(months), 36, "each yearly figure is possible in each of its 12 months")
        self.assertTrue(all("count" not in b for b in months), "and certain in none")
        # Timeline: the pair's relations in valid-time order, with the cited documents.
        timeline = self.ok_json("timeline", "pakistan", "russia", "--by", "year")
        periods = [g["period"] for g in timeline["groups"]]
        dated = [p for p in periods if p[:1].isdigit()]
        self.assertEqual(dated, sorted(dated), periods)
        self.assertIn("2011", periods)
        self.assertTrue({d["id"] for d in timeline["documents"]} <= {f"seed-00{i}" for i in range(5)})
        # Traverse: the Sochi summit's participants, and an honest cut at a small limit.
        around = self.ok_json("traverse", "sochi-summit-2010", "--depth", "1")
        self.assertIn("zardari", {e["id"] for e in around["entities"]})
        self.assertNotIn("truncated", around)
        cut = self.ok_json("traverse", "pakistan", "--depth", "2", "--limit", "20")
        self.assertTrue(cut["truncated"])
        self.assertEqual(cut["truncation"]["bound"], "max_results")
        self.assertTrue(cut["frontier"])


    def test_14_export_then_import_gives_an_identical_graph(self):
        first = Path(self.tmp.name) / "export-1.jsonl"
        r = self.annals("export", first)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("exported 5 documents", r.stderr)
        other = Server(self.tmp.name, Path(self.tmp.name) / "db-copy", name="copy")
        other.start()
        try:
            copy_addr = other.addr
            imported = subprocess.run([ANNALS, "--addr", copy_addr, "import", str(first), "--batch-size", "100"],
                                      capture_output=True, text=True, timeout=120, env=clean_env())
            self.assertEqual(imported.returncode, 0, imported.stderr)
            second = Path(self.tmp.name) / "export-2.jsonl"
            again = subprocess.run([ANNALS, "--addr", copy_addr, "export", str(second)],
                                   capture_output=True, text=True, timeout=120, env=clean_env())
            self.assertEqual(again.returncode, 0, again.stderr)
        finally:
            problems = other.stop()
        self.assertEqual(problems, [])
        a = first.read_text(encoding="utf-8").splitlines()
        b = second.read_text(encoding="utf-8").splitlines()
        self.assertEqual(len(a), len(b))
        self.assertEqual(a, b, "the re-exported graph differs from the original")
        kinds = [next(iter(json.loads(line))) for line in a]
        self.assertEqual(kinds.count("document"), 5)
        self.assertGreater(kinds.count("relation"), 300)


class BulkImportTest(unittest.TestCase):
    """`annals import --bulk --db DIR`: written straight into a stopped server's database as
    one revision, all or nothing (docs/bulk-import.md). Expectations worked out by hand from
    the files the test writes."""

    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="annals-bulk-")
        self.workdir = Path(self.tmp.name)
        self.db = self.workdir / "db"
        self.server = None

    def tearDown(self):
        try:
            if self.server is not None:
                problems = self.server.stop()
                self.assertFalse(problems, "\n".join(problems))
        finally:
            self.tmp.cleanup()

    def cli(self, *args, addr=None):
        cmd = [ANNALS] + (["--addr", addr, "--timeout", "10"] if addr else []) + [str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=CALL_TIMEOUT, env=clean_env(),
                              stdin=subprocess.DEVNULL)

    def write(self, name, records, extra_lines=()):
        path = self.workdir / name
        lines = [json.dumps(r) for r in records] + list(extra_lines)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    @staticmethod
    def graph(prefix, relations):
        records = [{"document": {"id": f"{prefix}.doc", "title": "Bulk test"}}]
        records += [{"entity": {"id": f"{prefix}.e{i}", "label": f"Bulk Thing {i}"}} for i in range(4)]
        records += [{"relation": {"id": f"rel.{prefix}.{i}", "subject": f"{prefix}.e0", "predicate": "bulk_link",
                                  "objectId": f"{prefix}.e{1 + i % 3}", "valid": {"start": {"year": 1990 + i}},
                                  "sources": [{"documentId": f"{prefix}.doc", "begin": i, "end": i + 1}]}}
                    for i in range(relations)]
        return records

    def revision_of_stopped_db(self):
        """The revision `annals verify` reports (it also checks indexes against records)."""
        r = self.cli("--json", "verify", "--db", self.db)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return int(json.loads(r.stdout).get("revision", 0))

    def test_bulk_import_is_one_revision_reports_bad_lines_and_refuses_what_it_cannot_do_whole(self):
        good = self.write("bulk.jsonl", self.graph("blk", 12), extra_lines=['{"relation": {"subject": '])
        r = self.cli("import", "--bulk", "--db", self.db, good)
        self.assertEqual(r.returncode, 1, "one malformed line: exit 1, the rest imported\n" + r.stdout + r.stderr)
        self.assertIn(f"{good}:18:", r.stderr, "the malformed line is named by number")
        m = SUMMARY_RE.search(r.stdout)
        self.assertIsNotNone(m, r.stdout)
        # 1 document + 4 entities + 12 relations written, the 18th line rejected, one revision.
        self.assertEqual((int(m.group(1)), int(m.group(3)), int(m.group(5)), int(m.group(7))), (18, 17, 1, 1))
        self.assertIn("bulk: one revision", r.stdout)
        self.assertEqual(self.revision_of_stopped_db(), 1)

        # The same relations again: refused whole, nothing written.
        again = self.cli("import", "--bulk", "--db", self.db, good)
        self.assertEqual(again.returncode, 1)
        self.assertIn("nothing was written", again.stderr)
        self.assertIn("already exists", again.stderr)
        # A relation naming an entity that exists nowhere: refused whole, even its good neighbours.
        dangling = self.write("dangling.jsonl", [
            {"entity": {"id": "blk.new", "label": "New"}},
            {"relation": {"id": "rel.blk.ok", "subject": "blk.new", "predicate": "bulk_link", "objectId": "blk.e1"}},
            {"relation": {"id": "rel.blk.dangling", "subject": "blk.new", "predicate": "bulk_link",
                          "objectId": "blk.nowhere"}}])
        r = self.cli("import", "--bulk", "--db", self.db, dangling)
        self.assertEqual(r.returncode, 1)
        self.assertIn("blk.nowhere", r.stderr)
        self.assertIn("nothing was written", r.stderr)
        self.assertEqual(self.revision_of_stopped_db(), 1, "refused imports take no revision")

        # A gzip file that ends early: nothing of it is written, though its first rows were fine.
        rows = "".join(json.dumps(r) + "\n" for r in self.graph("blk3", 3)).encode()
        cut = self.workdir / "cut.jsonl.gz"
        cut.write_bytes(gzip.compress(rows, mtime=0)[:-12])
        r = self.cli("import", "--bulk", "--db", self.db, "--batch-size", "1", cut)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{cut}: line ", r.stderr)
        self.assertIn("nothing was written", r.stderr)
        self.assertEqual(self.revision_of_stopped_db(), 1, "nothing of the damaged file is there")

        # A server on the database sees exactly the first import, indexes included.
        self.server = Server(self.workdir, self.db).start()
        self.assertEqual(self.server.start_revision, 1)
        listed = self.cli("--json", "relation", "list", "--all", "--subject", "blk.e0", "--predicate", "bulk_link",
                          addr=self.server.addr)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual({x["id"] for x in json.loads(listed.stdout)["relations"]}, {f"rel.blk.{i}" for i in range(12)})
        by_doc = self.cli("--json", "relation", "list", "--all", "--document", "blk.doc", addr=self.server.addr)
        self.assertEqual(len(json.loads(by_doc.stdout)["relations"]), 12)
        found = self.cli("--json", "search", "bulk thing", addr=self.server.addr)
        self.assertEqual(len(json.loads(found.stdout)["entities"]), 4, "the name index was built too")
        self.assertEqual(self.cli("entity", "get", "blk.new", addr=self.server.addr).returncode, 1,
                         "nothing of the refused import is there")

        # While annalsd holds the database, a bulk import stops at once and writes nothing.
        more = self.write("more.jsonl", self.graph("blk2", 2))
        r = self.cli("import", "--bulk", "--db", self.db, more)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stop the annalsd", r.stderr)


class LogCommandsTest(unittest.TestCase):
    """`annals log export` and `annals log replay` on the built binaries (docs/commit-log.md):
    a history written through a real server, exported from its stopped database and replayed
    into an empty one, gives the same state digest, every revision and every request id's
    answer."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="annals-log-")
        self.workdir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def cli(self, *args, addr=None):
        cmd = [ANNALS] + (["--addr", addr, "--timeout", "10"] if addr else []) + [str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=CALL_TIMEOUT, env=clean_env(),
                              stdin=subprocess.DEVNULL)

    def ok_json(self, *args, addr=None):
        r = self.cli("--json", *args, addr=addr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def test_export_then_replay_into_an_empty_database_is_an_exact_copy_of_the_history(self):
        db, copy = self.workdir / "db", self.workdir / "copy"
        server = Server(self.workdir, db, load=SEED).start()
        try:
            a = server.addr
            self.assertEqual(self.cli("relation", "retract", "rel.putin-visit-pakistan-2012", "--reason", "log test",
                                      "--request-id", "retract-1", addr=a).returncode, 0)
            # A request id whose items are unchanged: an entry without a revision.
            self.assertEqual(self.cli("entity", "put", "pakistan", "--label", "Pakistan", "--kind", "state",
                                      "--request-id", "touch-1", addr=a).returncode, 0)
            history = self.ok_json("history", "rel.putin-visit-pakistan-2012", addr=a)
        finally:
            problems = server.stop()
            self.assertFalse(problems, "\n".join(problems))
        log = self.workdir / "all.log"
        exported = self.ok_json("log", "export", "--db", db, log)
        self.assertEqual(exported["from"], 1)
        self.assertGreaterEqual(exported["entries"], 7)
        replayed = self.ok_json("log", "replay", "--db", copy, log)
        self.assertEqual(replayed["digest"], exported["digest"])
        self.assertEqual(replayed["revision"], exported["revision"])
        self.assertEqual(replayed["position"], exported["to"])
        verified = self.ok_json("verify", "--db", copy)
        self.assertTrue(verified["ok"], verified)
        self.assertEqual(verified["log_entries"], exported["entries"])

        # The copy serves the same history, and answers the same request ids as retries.
        server = Server(self.workdir, copy, name="copy").start()
        try:
            self.assertEqual(self.ok_json("history", "rel.putin-visit-pakistan-2012", addr=server.addr), history)
            before = server.start_revision
            again = self.cli("entity", "put", "pakistan", "--label", "Pakistan", "--kind", "state",
                             "--request-id", "touch-1", addr=server.addr)
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertEqual(int(self.ok_json("relation", "list", "--page-size", "1", addr=server.addr)
                                 .get("revision", 0)), before)
        finally:
            problems = server.stop()
            self.assertFalse(problems, "\n".join(problems))

        # Into a database that is not where the file starts: refused, nothing applied.
        r = self.cli("log", "replay", "--db", copy, log)
        self.assertEqual(r.returncode, 1)
        self.assertIn("replay into an empty database", r.stderr)
        # A file cut short: the entries before the cut are applied whole, then it stops.
        cut = self.workdir / "cut.log"
        cut.write_bytes(log.read_bytes()[:-20])
        r = self.cli("log", "replay", "--db", self.workdir / "partial", cut)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cut short or unreadable", r.stderr)
        self.assertEqual(self.ok_json("verify", "--db", self.workdir / "partial")["ok"], True)
        # Not a log file at all.
        bogus = self.workdir / "bogus.log"
        bogus.write_text("hello\n")
        r = self.cli("log", "replay", "--db", self.workdir / "other", bogus)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not an Annals log file", r.stderr)
        # Exporting over an existing file is refused.
        r = self.cli("log", "export", "--db", db, log)
        self.assertEqual(r.returncode, 1)
        self.assertIn("must not exist", r.stderr)


def main():
    global ANNALSD, ANNALS, SEED
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--annalsd", default=ANNALSD)
    parser.add_argument("--annals", default=ANNALS)
    parser.add_argument("--seed", default=SEED)
    args, rest = parser.parse_known_args()
    ANNALSD, ANNALS, SEED = (os.path.abspath(p) for p in (args.annalsd, args.annals, args.seed))
    for label, path in (("--annalsd", ANNALSD), ("--annals", ANNALS)):
        if not os.access(path, os.X_OK):
            print(f"cli_e2e_test: {label} {path}: not an executable file", file=sys.stderr)
            return 2
    if not os.path.isdir(SEED):
        print(f"cli_e2e_test: --seed {SEED}: not a directory", file=sys.stderr)
        return 2
    try:
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        return 0 if program.result.wasSuccessful() else 1
    finally:
        for server in list(_LIVE_SERVERS):
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
