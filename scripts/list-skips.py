#!/usr/bin/env python3
"""Lists every skipped test of a ctest run with its reason, from ctest's JUnit file.

A skip must never pass unnoticed: ctest counts a gtest GTEST_SKIP or a script that exits with
its SKIP_RETURN_CODE as "skipped" but prints no reason, and a Python unittest skip inside a
passing ctest entry shows nowhere in ctest's summary. This reads each test's output from the
JUnit file and prints one line per skip: the ctest name, the case, and the reason.

Usage: /usr/bin/python3 scripts/list-skips.py BUILD/ctest-junit.xml
"""
import re
import sys
import xml.etree.ElementTree as ET

GTEST_SKIP = re.compile(r"^\[  SKIPPED \] (\S+)", re.MULTILINE)
# unittest, verbosity 2: "test_x (module.Class) ... skipped 'reason'"
UNITTEST_SKIP = re.compile(r"^(test\w*) \(([\w.]+)\)(?:\n.*?)? \.\.\. skipped '(.*)'$", re.MULTILINE)
SKIP_LINE = re.compile(r"^(?:SKIPPED:?|skipped:?|.*: skipping)\s*(.*)$", re.MULTILINE | re.IGNORECASE)


def reason_from(output):
    """The first line of a skipped script's output that says why."""
    m = SKIP_LINE.search(output)
    if m:
        return m.group(0).strip()
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no reason printed)"


def main(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"list-skips: cannot read {path}: {e}")
        return 1
    skips = []
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        out = "".join((el.text or "") for el in case.iter("system-out"))
        if case.find("skipped") is not None:
            # gtest: the runner's own line carries the message just above "[  SKIPPED ]".
            g = re.search(r"\n([^\n]*)\n\[  SKIPPED \]", out)
            skips.append((name, (g.group(1).strip() if g else reason_from(out))))
            continue
        for m in UNITTEST_SKIP.finditer(out):
            # Python 3.11 puts the whole dotted name in the parentheses; older ones the class.
            where = m.group(2) if m.group(2).endswith("." + m.group(1)) else f"{m.group(2)}.{m.group(1)}"
            skips.append((f"{name}: {where}", m.group(3)))
    if not skips:
        print("skipped tests: none")
        return 0
    print(f"skipped tests: {len(skips)}")
    for name, why in skips:
        print(f"  SKIPPED {name} -- {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
