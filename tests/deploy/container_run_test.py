#!/usr/bin/env python3
"""Runs annalsd the way the container does, and stops it the way Kubernetes does.

- Same command and environment: `annalsd` with no arguments (the image's ENTRYPOINT, no
  CMD), the image's ENV (deploy/docker/Dockerfile) overlaid with the prod ConfigMap
  (deploy/k8s/base/annals.env + the prod overlay's literals). Only what must differ on a
  shared test host is rewritten: the container's paths (/var/lib/annals -> a scratch data
  directory, /usr/share/annals/seed -> data/seed) and the listen addresses (0.0.0.0:PORT
  -> 127.0.0.1:0).
- As a non-root user when run as root (setpriv to nobody), with HOME, TMPDIR and the
  working directory on scratch directories that user could write: they must be exactly
  as before afterwards, and the data directory must hold only the database and backups.
- SIGTERM while two clients write continuously: annalsd must exit 0, "stopped cleanly",
  within terminationGracePeriodSeconds (the only timed assertion), and after a restart
  every write it acknowledged must be there.
- Backup and restore as deploy/README.md tells it, with the binaries: `annals admin backup`,
  more writes, then annalsd on a copy of the backup holds exactly the backed-up revision.
- Every flag in `annalsd --help` reads an ANNALS_* variable.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from checklist import check, failures  # tests/deploy/checklist.py, beside this script

START_TIMEOUT = 60      # seconds for "annalsd: serving on" (not an assertion: a bound on waiting)
ACKS_BEFORE_SIGTERM = 60


def dockerfile_env(dockerfile):
    """ENV of the last stage (the runtime image)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    stages = re.split(r"^FROM\s", text, flags=re.M)
    env = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"(ANNALS_[A-Z0-9_]+)=(\S*)", line):
                env[key] = value
    return env


def configmap_env(repo):
    env = {}
    for line in (repo / "deploy/k8s/base/annals.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    prod = (repo / "deploy/k8s/overlays/prod/kustomization.yaml").read_text()
    for key, value in re.findall(r"^\s*-\s*(ANNALS_[A-Z0-9_]+)=(\S*)\s*$", prod, re.M):
        env[key] = value
    return env


def grace_seconds(repo):
    prod = (repo / "deploy/k8s/overlays/prod/kustomization.yaml").read_text()
    m = re.search(r"terminationGracePeriodSeconds\s*\n\s*value:\s*(\d+)", prod)
    if not m:
        m = re.search(r"terminationGracePeriodSeconds:\s*(\d+)", (repo / "deploy/k8s/base/statefulset.yaml").read_text())
    return int(m.group(1))


def listing(root):
    """Every path under root with its type and size (what a write would change)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode >> 12, st.st_size if p.is_file() else 0)
    return out


class Annalsd:
    def __init__(self, binary, env, cwd, as_user, log_dir, name):
        self.binary, self.env, self.cwd, self.as_user = binary, env, cwd, as_user
        self.out_path, self.err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
        self.proc = None
        self.addr = self.metrics = None

    def start(self):
        cmd = [self.binary]  # ENTRYPOINT ["/usr/local/bin/annalsd"], no CMD
        if self.as_user:
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs"] + cmd
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.out_path.read_text()
            m = re.search(r"^annalsd: serving on (\S+) \(db (.*), revision (\d+)\)$", text, re.M)
            if m and (self.env.get("ANNALS_METRICS_LISTEN") == "" or "metrics on" in text):
                self.addr, self.revision = m.group(1), int(m.group(3))
                mm = re.search(r"^annalsd: metrics on (\S+)$", text, re.M)
                self.metrics = mm.group(1) if mm else None
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"annalsd did not start:\nstdout:\n{self.out_path.read_text()}\nstderr:\n{self.err_path.read_text()}")

    def stop(self, grace):
        """SIGTERM; returns (exit code, seconds taken), killing it past the grace period."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # what the kubelet does
            self.proc.wait()
            return None, time.monotonic() - t0
        return code, time.monotonic() - t0

    def stderr(self):
        return self.err_path.read_text()


def annals(cli, addr, *args, timeout=10):
    return subprocess.run([cli, "--addr", addr, "--timeout", str(timeout), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--annalsd", required=True)
    ap.add_argument("--annals", required=True)
    args = ap.parse_args()
    repo = Path(args.repo)

    # Every flag reads an ANNALS_* variable.
    help_text = subprocess.run([args.annalsd, "--help"], capture_output=True, text=True, check=True).stdout
    flags = re.findall(r"^\s+(--[a-z0-9-]+)(.*)$", help_text, re.M)
    for flag, rest in flags:
        if flag != "--help":
            check("(Env:ANNALS_" in rest, f"annalsd {flag} reads an ANNALS_* variable")

    as_user = os.geteuid() == 0
    if not as_user:
        print("note: not root, so annalsd runs as the current user rather than as nobody")
    scratch = Path(tempfile.mkdtemp(prefix="annals-container-"))
    os.chmod(scratch, 0o755)
    try:
        home, cwd, tmp, data, logs = (scratch / n for n in ("home", "cwd", "tmp", "data", "logs"))
        for d in (home, cwd, tmp, data, logs):
            d.mkdir()
            if as_user:
                os.chown(d, 65534, 65534)  # writable by annalsd: a stray write would succeed, and show
        os.chmod(data, 0o750)

        image_env = dockerfile_env(repo / "deploy/docker/Dockerfile")
        env = {**image_env, **configmap_env(repo)}
        check(env.get("ANNALS_DB", "").startswith("/var/lib/annals/"), "the image keeps its database under /var/lib/annals")

        def local(value):
            value = value.replace("/var/lib/annals", str(data)).replace("/usr/share/annals/seed", str(repo / "data/seed"))
            return re.sub(r"^0\.0\.0\.0:\d+$", "127.0.0.1:0", value)

        run_env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8"}
        run_env.update({k: local(v) for k, v in env.items()})
        print("annalsd environment:", {k: v for k, v in run_env.items() if k.startswith("ANNALS_")})
        grace = grace_seconds(repo)
        before = {d: listing(d) for d in (home, cwd, tmp)}

        # 1. Serve, write continuously from two clients, SIGTERM in the middle.
        server = Annalsd(args.annalsd, run_env, cwd, as_user, logs, "first")
        server.start()
        if server.metrics:
            body = urllib.request.urlopen(f"{server.metrics}", timeout=10).read().decode()
            check(re.search(r"^annals_serving 1$", body, re.M) is not None, "metrics: annals_serving 1 while serving")
        acked, lock, stop = [], threading.Lock(), threading.Event()
        attempts_after_term = [0]
        term_sent = threading.Event()

        def writer(tag):
            for i in range(5000):
                if stop.is_set():
                    return
                rid = f"ack-{tag}-{i}"
                r = annals(args.annals, server.addr, "entity", "put", rid, "--label", f"Acked {tag} {i}", "--kind", "test",
                           timeout=30)
                if term_sent.is_set():
                    attempts_after_term[0] += 1
                if r.returncode == 0 and "written at revision" in r.stdout:
                    with lock:
                        acked.append(rid)
                elif server.proc.poll() is not None or term_sent.is_set():
                    if server.proc.poll() is not None:
                        return

        threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
        for t in threads:
            t.start()
        while True:
            with lock:
                if len(acked) >= ACKS_BEFORE_SIGTERM:
                    break
            if server.proc.poll() is not None or not any(t.is_alive() for t in threads):
                break
            time.sleep(0.01)
        term_sent.set()
        code, took = server.stop(grace)
        stop.set()
        for t in threads:
            t.join()
        check(code == 0, f"annalsd exits 0 on SIGTERM under load (got {code})")
        check(took <= grace, f"annalsd stopped within terminationGracePeriodSeconds: {took:.2f}s <= {grace}s")
        check("stopped cleanly" in server.stderr(), "annalsd says it stopped cleanly")
        print(f"{len(acked)} writes acknowledged; {attempts_after_term[0]} client calls finished after SIGTERM")
        check(len(acked) >= ACKS_BEFORE_SIGTERM, f"at least {ACKS_BEFORE_SIGTERM} writes acknowledged before SIGTERM")

        # 2. Restart: every acknowledged write is there.
        server = Annalsd(args.annalsd, run_env, cwd, as_user, logs, "second")
        server.start()
        missing = [rid for rid in acked if annals(args.annals, server.addr, "entity", "get", rid).returncode != 0]
        check(not missing, f"every acknowledged write is there after the restart ({len(acked)} checked; missing: {missing[:5]})")

        # 3. Backup, write more, stop; restore a copy of the backup into a new server.
        backups = Path(run_env["ANNALS_BACKUP_ROOT"]) if run_env.get("ANNALS_BACKUP_ROOT") else data / "backups"
        target = backups / "b1"
        r = annals(args.annals, server.addr, "admin", "backup", str(target))
        m = re.search(r"backup of revision (\d+) written to", r.stdout)
        check(r.returncode == 0 and m is not None, f"annals admin backup: {r.stdout.strip()} {r.stderr.strip()}")
        backed_up = int(m.group(1)) if m else -1
        r = annals(args.annals, server.addr, "entity", "put", "after-backup", "--label", "After the backup")
        check(r.returncode == 0, "a write after the backup")
        code, took = server.stop(grace)
        check(code == 0, "second run stops cleanly")

        restored_dir = scratch / "restored"
        restored_dir.mkdir()
        subprocess.run(["cp", "-a", str(target), str(restored_dir / "db")], check=True)
        if as_user:
            subprocess.run(["chown", "-R", "65534:65534", str(restored_dir)], check=True)
        restore_env = dict(run_env, ANNALS_DB=str(restored_dir / "db"))  # restore: --db on a copy of the backup
        restored = Annalsd(args.annalsd, restore_env, cwd, as_user, logs, "restored")
        restored.start()
        check(restored.revision == backed_up, f"the restored server is at the backed-up revision {backed_up} (got {restored.revision})")
        check(annals(args.annals, restored.addr, "entity", "get", acked[-1]).returncode == 0,
              "the restored server has the writes before the backup")
        check(annals(args.annals, restored.addr, "entity", "get", "after-backup").returncode != 0,
              "the restored server does not have the write after the backup")
        code, _ = restored.stop(grace)
        check(code == 0, "the restored server stops cleanly")

        # 4. Nothing written outside the data directory.
        after = {d: listing(d) for d in (home, cwd, tmp)}
        for d in (home, cwd, tmp):
            check(before[d] == after[d], f"nothing written under {d.name} ({sorted(set(after[d]) - set(before[d]))[:5]})")
        top = sorted(p.name for p in data.iterdir())
        check(set(top) <= {"db", "backups"}, f"the data directory holds only db and backups ({top})")
        if as_user:
            owners = {p.stat().st_uid for p in (data / "db").iterdir()}
            check(owners == {65534}, f"the database files belong to the non-root user ({owners})")
    finally:
        if not failures:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch} for inspection")
    if failures:
        print(f"container_run: {len(failures)} check(s) failed")
        return 1
    print("container_run: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
