#!/usr/bin/env python3
"""No tracked file names a directory beside the repository or a path of one machine.

A user's clone has nothing beside it, so a test, script, example or doc that reads the
neighbouring shared folder or an absolute home/work path works only on the machine it was
written on. The one allowed place is .ci/run, which hands the seed-article texts it finds
beside CI's clone to the tests through ANNALS_SEEDS_DIR.

Usage: /usr/bin/python3 tests/repo/no_outside_paths_test.py REPO_ROOT
"""
import re
import subprocess
import sys
import unittest
from pathlib import Path

REPO = Path(sys.argv.pop(1) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
ALLOWED = {".ci/run"}
# Spelled in pieces so that this file does not match itself.
SHARED = r"\.\./" + "shared"
FORBIDDEN = re.compile("|".join([
    SHARED + r"\b",
    r"(?<![\w.])/" + "work/",          # this workplace's checkout root
    r"(?<![\w.])/" + r"home/[A-Za-z]",  # somebody's home directory
    r"(?<![\w.])/" + r"Users/[A-Za-z]",
]))


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        # A copy without .git (an unpacked release): every file below the root.
        return [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and "node_modules" not in p.parts]


def offending_lines(rel):
    try:
        text = (REPO / rel).read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []  # binary (the .gz data, images): no paths to read
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if FORBIDDEN.search(line)]


class NoOutsidePaths(unittest.TestCase):
    def test_the_pattern_catches_what_it_should(self):
        for bad in ["cat " + "../" + "shared/data/x.tsv", "DATA=/" + "work/shared/data", "cd /" + "home/alice/annals"]:
            self.assertTrue(FORBIDDEN.search(bad), bad)
        for fine in ["data/icews14/train.tsv.gz", "/tmp/annals-tour", "docs/work/notes", "a/shared/b"]:
            self.assertFalse(FORBIDDEN.search(fine), fine)

    def test_no_tracked_file_reads_outside_the_repository(self):
        found = []
        for rel in tracked_files():
            if rel in ALLOWED:
                continue
            found += [f"{rel}:{n}: {line[:120]}" for n, line in offending_lines(rel)]
        self.assertEqual(found, [], "paths outside the repository:\n" + "\n".join(found))


if __name__ == "__main__":
    unittest.main(verbosity=2)
