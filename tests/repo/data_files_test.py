#!/usr/bin/env python3
"""The shipped data sets are whole: every file listed in data/README.md's table exists, its
compressed and decompressed SHA-256 match, its row count matches, and the set stays within the
10 MiB the repository allows for it.

Usage: /usr/bin/python3 tests/repo/data_files_test.py REPO_ROOT
"""
import gzip
import hashlib
import re
import sys
import unittest
from pathlib import Path

REPO = Path(sys.argv.pop(1) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
ROW = re.compile(r"^\| `([^`]+\.gz)` \| ([\d,]+) \| ([\d,]+) \| `([0-9a-f]{64})` \| `([0-9a-f]{64})` \|$")
LIMIT_BYTES = 10 * 1024 * 1024


def listed():
    rows = []
    for line in (REPO / "data" / "README.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), int(m.group(2).replace(",", "")), int(m.group(3).replace(",", "")),
                         m.group(4), m.group(5)))
    return rows


class DataFiles(unittest.TestCase):
    def test_the_table_lists_the_three_sets(self):
        names = {name for name, *_ in listed()}
        for s in ("icews14", "icews05-15", "yago11k"):
            for part in ("train", "valid", "test"):
                self.assertIn(f"{s}/{part}.tsv.gz", names)

    def test_every_listed_file_matches_its_checksums_and_rows(self):
        for name, rows, size, sha_gz, sha_tsv in listed():
            with self.subTest(file=name):
                blob = (REPO / "data" / name).read_bytes()
                self.assertEqual(len(blob), size)
                self.assertEqual(hashlib.sha256(blob).hexdigest(), sha_gz)
                text = gzip.decompress(blob)
                self.assertEqual(hashlib.sha256(text).hexdigest(), sha_tsv)
                self.assertEqual(text.count(b"\n"), rows)

    def test_no_data_file_is_left_out_of_the_table(self):
        names = {name for name, *_ in listed()}
        on_disk = {str(p.relative_to(REPO / "data")) for p in (REPO / "data").rglob("*.gz")}
        self.assertEqual(on_disk, names)

    def test_the_public_sets_fit_in_ten_mebibytes(self):
        total = sum((REPO / "data" / name).stat().st_size for name, *_ in listed())
        self.assertLessEqual(total, LIMIT_BYTES)


if __name__ == "__main__":
    unittest.main(verbosity=2)
