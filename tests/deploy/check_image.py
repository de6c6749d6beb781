#!/usr/bin/env python3
"""Static checks of deploy/docker/Dockerfile (no Docker engine is needed or used).

- Two stages on debian:12; the build stage installs with scripts/deps.sh and builds with
  scripts/build.sh (the README's one source of truth).
- The runtime stage: only runtime packages (no -dev, no compiler), each one a real Debian
  package (`apt-cache show`); the binaries, data/seed/, a numeric non-root USER, annalsd as
  the exec-form ENTRYPOINT; every ENV a real annalsd flag variable.
- Every shared library that `ldd` resolves for the built annalsd and annals belongs
  (`dpkg -S`) to a package the runtime stage installs: the image will start.
- The ignore file keeps the build tree, .git and node_modules out of the context, and
  keeps what the build needs in it.
"""
import argparse
import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

from checklist import check, failures  # tests/deploy/checklist.py, beside this script


def instructions(stage_text):
    """(INSTRUCTION, args) pairs with continuation lines joined and comments dropped."""
    lines, out = [], []
    for raw in stage_text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        lines.append(raw)
    joined = "\n".join(lines).replace("\\\n", " ")
    for line in joined.splitlines():
        line = line.strip()
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def apt_lists_present():
    return any(Path("/var/lib/apt/lists").glob("*_Packages")) or any(Path("/var/lib/apt/lists").glob("*Packages.lz4"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--annalsd", required=True)
    ap.add_argument("--annals", required=True)
    args = ap.parse_args()
    repo = Path(args.repo)
    dockerfile = (repo / "deploy/docker/Dockerfile").read_text()

    stages = re.split(r"^(?=FROM\s)", dockerfile, flags=re.M)[1:]
    check(len(stages) == 2, f"two stages (got {len(stages)})")
    build, runtime = instructions(stages[0]), instructions(stages[-1])
    check(build[0] == ("FROM", "debian:12 AS build"), f"build stage FROM debian:12 AS build ({build[0]})")
    check(runtime[0][0] == "FROM" and runtime[0][1].split()[0] == "debian:12", f"runtime stage FROM debian:12 ({runtime[0]})")
    build_runs = " ".join(a for i, a in build if i == "RUN")
    check("scripts/deps.sh" in build_runs, "the build stage installs with scripts/deps.sh")
    check("scripts/build.sh" in build_runs, "the build stage builds with scripts/build.sh")
    check(not any(i == "RUN" and "apt-get install" in a for i, a in build),
          "the build stage installs nothing but through deps.sh")

    # Runtime packages.
    runtime_runs = " ".join(a for i, a in runtime if i == "RUN")
    m = re.search(r"apt-get install (.*?)(&&|$)", runtime_runs)
    packages = [p for p in m.group(1).split() if not p.startswith("-")] if m else []
    check(len(packages) > 5, f"the runtime stage installs its packages ({len(packages)})")
    check("--no-install-recommends" in runtime_runs, "apt-get install --no-install-recommends")
    check("rm -rf /var/lib/apt/lists" in runtime_runs, "the apt lists are removed")
    for p in packages:
        check(not p.endswith("-dev") and p not in ("build-essential", "cmake", "g++", "gcc", "protobuf-compiler"),
              f"{p} is a runtime package")
    if apt_lists_present():
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", *packages], capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        for p in packages:
            check(p in known, f"{p} exists in Debian (apt-cache show)")
    else:
        print("SKIPPED apt-cache show: no apt lists here (run apt-get update)")

    # Every library the binaries load comes from one of those packages.
    pkg_set = set(packages)
    libs = {}  # binary name -> resolved library paths
    for binary in (args.annalsd, args.annals):
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        check("not found" not in out, f"ldd {Path(binary).name}: every library resolves")
        libs[Path(binary).name] = re.findall(r"=>\s+(/\S+)", out)

    def spellings(lib):
        # dpkg knows one spelling of a path: /lib is a link to /usr/lib on Debian 12 (merged /usr).
        names = {lib, os.path.realpath(lib)}
        for n in list(names):
            names.add(n.replace("/usr/lib/", "/lib/", 1) if n.startswith("/usr/lib/") else n.replace("/lib/", "/usr/lib/", 1))
        return names
    all_paths = sorted({n for paths in libs.values() for lib in paths for n in spellings(lib)})
    owners_of = {}
    r = subprocess.run(["dpkg", "-S", *all_paths], capture_output=True, text=True)  # one call; non-zero when some miss
    for line in r.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        for pkg in pkgs.split(", "):
            owners_of.setdefault(path.strip(), set()).add(pkg.split(":")[0])
    for name, paths in libs.items():
        for lib in paths:
            owners = set().union(*(owners_of.get(n, set()) for n in spellings(lib)))
            check(owners & pkg_set, f"{name}: {lib} comes from {sorted(owners) or '?'}, installed in the image")

    # Contents, user, entrypoint.
    copies = [a for i, a in runtime if i == "COPY"]
    check(any("--from=build" in c and "annalsd" in c and "annals " in c + " " for c in copies),
          "the runtime stage copies annalsd and annals from the build stage")
    check(any(c.split()[0] == "data/seed/" for c in copies), "the runtime stage ships data/seed/")
    users = [a for i, a in runtime if i == "USER"]
    check(len(users) == 1 and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[0]) is not None,
          f"a numeric non-root USER (Kubernetes' runAsNonRoot can verify it): {users}")
    runs_before_user = [a for i, a in runtime[: [x for x, _ in runtime].index("USER")]] if users else []
    check(any("useradd" in a and users and users[0].split(":")[0] in a for a in runs_before_user),
          "the USER exists in /etc/passwd (useradd with that uid)")
    entry = [a for i, a in runtime if i == "ENTRYPOINT"]
    check(entry == ['["/usr/local/bin/annalsd"]'], f"ENTRYPOINT [\"/usr/local/bin/annalsd\"] in exec form ({entry})")
    check(not any(i == "CMD" for i, _ in runtime), "no CMD: flags come from ANNALS_* variables")

    help_text = subprocess.run([args.annalsd, "--help"], capture_output=True, text=True, check=True).stdout
    env_names = set(re.findall(r"\(Env:(ANNALS_[A-Z0-9_]+)\)", help_text))
    for i, a in runtime:
        if i == "ENV":
            for key in re.findall(r"([A-Z_][A-Z0-9_]*)=", a):
                check(key in env_names, f"ENV {key} is an annalsd flag variable")

    # The ignore file.
    ignore = repo / "deploy/docker/Dockerfile.dockerignore"
    check(ignore.is_file(), "deploy/docker/Dockerfile.dockerignore exists (BuildKit reads it for this Dockerfile)")
    check((repo / "deploy/docker/.dockerignore").resolve() == ignore.resolve(), "deploy/docker/.dockerignore is the same file")
    patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.startswith("#")]

    def ignored(path):
        return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path.split("/")[0], p) or
                   (p.startswith("**/") and any(fnmatch.fnmatch(part, p[3:]) for part in path.split("/")))
                   for p in patterns)
    for path in ("build/service/annalsd", ".git/HEAD", "tools/buf/node_modules/x", "var/annals/CURRENT"):
        check(ignored(path), f"the context leaves out {path}")
    for path in ("scripts/deps.sh", "scripts/build.sh", "CMakeLists.txt", "data/seed/000_purushottam_2011.jsonl",
                 "proto/annals/v1/types.proto", "service/server.cc", "tools/googleapis/package.json"):
        check(not ignored(path), f"the context keeps {path}")

    if failures:
        print(f"check_image: {len(failures)} check(s) failed")
        return 1
    print("check_image: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
