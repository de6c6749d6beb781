#!/usr/bin/env python3
"""Renders deploy/k8s/overlays/{dev,prod,cluster}, and prod with deploy/k8s/components/tls, with
`kubectl kustomize` and checks them.

1. Schema: every rendered object is validated offline against the Kubernetes OpenAPI
   schemas compiled into the npm package kubernetes-models (tests/deploy/validator,
   pinned by its package-lock.json; `npm ci` on first use). Like kubeconform without
   -strict, that checks types, enums and required fields but not unknown field names, so:
2. Semantics: the fields Annals relies on, by name: one replica on a PVC (three, with
   anti-affinity, node ids from pod names and an etcd of three members, in the cluster
   overlay), the headless and
   ClusterIP services, every ConfigMap key a real annalsd flag variable, native gRPC probes
   on the serving port, requests and limits, the security context, a PDB, and a grace
   period covering the drain.

Without kubectl the overlays cannot be rendered: prints SKIPPED and exits 77 (CTest's
SKIP_RETURN_CODE for this test).
"""
import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from checklist import check, failures  # tests/deploy/checklist.py, beside this script

SKIP = 77
WATCH_END_SECONDS = 2   # AnnalsServer::Shutdown ends watch streams for up to 2 s first
CLOSE_MARGIN_SECONDS = 5  # at least this long for the flush and close after the drain

# One line per failure at the end, not one per check.
check = functools.partial(check, quiet=True)


def quantity(q):
    """Kubernetes quantity -> float (bytes or cores)."""
    q = str(q)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, mult in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * mult
    return float(q)


def flag_env_names(annalsd):
    help_text = subprocess.run([annalsd, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\(Env:(ANNALS_[A-Z0-9_]+)\)", help_text))


def ensure_validator(vdir):
    stamp = vdir / "node_modules" / ".package-lock.json"
    if not stamp.exists() or (vdir / "package-lock.json").stat().st_mtime > stamp.stat().st_mtime:
        print("check_manifests: npm ci in", vdir)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=vdir, check=True)
    r = subprocess.run(["node", "validate.mjs", "--self-test"], cwd=vdir, capture_output=True, text=True)
    print(r.stdout, end="")
    if r.returncode != 0:
        sys.exit("check_manifests: the validator accepted a broken object:\n" + r.stdout + r.stderr)


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def is_etcd(o):
    return o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "etcd"


def check_etcd(ctx, objects, endpoints):
    """The etcd component: three members with stable names behind a headless Service, one
    disruption at a time, a volume each, and annalsd's endpoints naming exactly them."""
    sts = [o for o in objects if o["kind"] == "StatefulSet"]
    svc = [o for o in objects if o["kind"] == "Service"]
    pdb = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    if not (check(len(sts) == 1, f"{ctx} one etcd StatefulSet") and check(len(svc) == 1, f"{ctx} one etcd Service")
            and check(len(pdb) == 1, f"{ctx} one etcd PodDisruptionBudget")):
        return
    sts, svc, pdb = sts[0], svc[0], pdb[0]
    spec = sts["spec"]
    check(spec.get("replicas") == 3, f"{ctx} etcd has 3 members")
    check(svc["spec"].get("clusterIP") == "None" and svc["metadata"]["name"] == spec.get("serviceName"),
          f"{ctx} etcd's headless Service is its serviceName")
    check(svc["spec"].get("publishNotReadyAddresses") is True, f"{ctx} etcd peers find each other before ready")
    check(pdb["spec"].get("maxUnavailable") == 1, f"{ctx} etcd's PDB lets one member go at a time")
    c = spec["template"]["spec"]["containers"][0]
    args = " ".join(c.get("command", []) + c.get("args", []))
    name, service = sts["metadata"]["name"], svc["metadata"]["name"]
    members = [f"{name}-{i}" for i in range(3)]
    initial = ",".join(f"{m}=http://{m}.{service}:2380" for m in members)
    check(f"--initial-cluster={initial}" in args, f"{ctx} etcd's --initial-cluster names its three pods ({initial})")
    check(len(spec.get("volumeClaimTemplates", [])) == 1, f"{ctx} etcd keeps its data on a claim")
    check(sorted(endpoints) == sorted(f"{m}.{service}:2379" for m in members),
          f"{ctx} ANNALS_ETCD_ENDPOINTS names the three etcd members (got {endpoints})")


def check_cluster(ctx, sts, pdb, env, c, pod_labels, headless_name, listen_port):
    """The annalsd side of the cluster overlay (docs/cluster.md)."""
    spec = sts["spec"]
    check(spec.get("replicas") == 3, f"{ctx} three annalsd replicas")
    check(pdb["spec"].get("maxUnavailable") == 1, f"{ctx} the PDB lets one replica go at a time (maxUnavailable 1)")
    check(spec.get("updateStrategy", {}).get("type") == "RollingUpdate", f"{ctx} rolling updates (highest ordinal first)")
    envs = {e["name"]: e for e in c.get("env", [])}
    node = envs.get("ANNALS_NODE_ID", {})
    check(node.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
          f"{ctx} ANNALS_NODE_ID is the pod's name")
    check(envs.get("ANNALS_ADVERTISE", {}).get("value") == f"$(ANNALS_NODE_ID).{headless_name}:{listen_port}",
          f"{ctx} ANNALS_ADVERTISE is the pod's name in the headless Service, on the serving port")
    anti = spec["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    check(any(t.get("topologyKey") == "kubernetes.io/hostname"
              and all(pod_labels.get(k) == v for k, v in t.get("labelSelector", {}).get("matchLabels", {}).items())
              for t in terms), f"{ctx} required pod anti-affinity on the host name, selecting the replicas")
    for key in ("ANNALS_ETCD_ENDPOINTS", "ANNALS_CLUSTER_NAME", "ANNALS_MAX_SERVING_LAG"):
        check(key in env, f"{ctx} ConfigMap sets {key}")


def check_overlay(name, objects, env_names, docker_uid):
    by_kind = {}
    etcd_objects = [o for o in objects if is_etcd(o)]
    objects = [o for o in objects if not is_etcd(o)]
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    ctx = f"[{name}]"
    cms = by_kind.get("ConfigMap", [])
    sts_list = by_kind.get("StatefulSet", [])
    services = by_kind.get("Service", [])
    pdbs = by_kind.get("PodDisruptionBudget", [])
    if not (check(len(cms) == 1, f"{ctx} one ConfigMap") and check(len(sts_list) == 1, f"{ctx} one StatefulSet")
            and check(len(pdbs) == 1, f"{ctx} one PodDisruptionBudget")):
        return
    cm, sts, pdb = cms[0], sts_list[0], pdbs[0]
    env = cm.get("data", {})

    # ConfigMap: flags only, each a real ANNALS_* variable of annalsd.
    for key in env:
        check(key in env_names, f"{ctx} ConfigMap key {key} is not a flag variable of annalsd ({sorted(env_names)})")
    for key in ("ANNALS_LISTEN", "ANNALS_DB", "ANNALS_METRICS_LISTEN", "ANNALS_DRAIN_SECONDS"):
        check(key in env, f"{ctx} ConfigMap sets {key}")
    listen_port = port_of(env.get("ANNALS_LISTEN", ":0"))
    metrics_port = port_of(env.get("ANNALS_METRICS_LISTEN", ":0"))
    check(env.get("ANNALS_LISTEN", "").startswith("0.0.0.0:"), f"{ctx} ANNALS_LISTEN binds all interfaces (probes)")
    check(env.get("ANNALS_METRICS_LISTEN", "").startswith("0.0.0.0:"), f"{ctx} ANNALS_METRICS_LISTEN binds all interfaces")

    spec = sts["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels", {})
    clustered = "ANNALS_ETCD_ENDPOINTS" in env
    if not clustered:
        check(spec.get("replicas") == 1, f"{ctx} StatefulSet has 1 replica (a single node: RocksDB locks its directory)")
    check(all(pod_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
          f"{ctx} StatefulSet selector matches its pod labels")
    containers = pod["containers"]
    check(len(containers) == 1, f"{ctx} one container")
    c = containers[0]

    # Services: a headless one governing the StatefulSet, a ClusterIP one for clients.
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    cluster = [s for s in services if s["spec"].get("type", "ClusterIP") == "ClusterIP" and s["spec"].get("clusterIP") != "None"]
    check(len(headless) == 1 and headless[0]["metadata"]["name"] == spec.get("serviceName"),
          f"{ctx} a headless Service named by serviceName")
    check(len(cluster) == 1, f"{ctx} a ClusterIP Service")
    for s in services:
        sel = s["spec"].get("selector", {})
        check(sel and all(pod_labels.get(k) == v for k, v in sel.items()), f"{ctx} Service {s['metadata']['name']} selects the pod")
    named_ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(named_ports.get("grpc") == listen_port, f"{ctx} container port grpc = ANNALS_LISTEN's port")
    check(named_ports.get("metrics") == metrics_port, f"{ctx} container port metrics = ANNALS_METRICS_LISTEN's port")
    for s in cluster:
        check(any(p.get("targetPort") in ("grpc", listen_port) for p in s["spec"]["ports"]), f"{ctx} ClusterIP Service targets grpc")

    # Flags come from the ConfigMap.
    refs = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
    check(refs == [cm["metadata"]["name"]], f"{ctx} envFrom the ConfigMap {cm['metadata']['name']} (got {refs})")

    # Storage: the database and the backups on the claim (hard links need one filesystem).
    claims = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates", [])}
    check(len(claims) == 1, f"{ctx} one volumeClaimTemplate")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    def mounted_from(path):
        best = max((m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")), key=len, default=None)
        return mounts.get(best)
    for key in ("ANNALS_DB", "ANNALS_BACKUP_ROOT"):
        if key in env:
            check(mounted_from(env[key]) in claims, f"{ctx} {key}={env[key]} lies on the PVC")
    for t in claims.values():
        check("storage" in t["spec"].get("resources", {}).get("requests", {}), f"{ctx} the claim requests storage")
        check("ReadWriteOnce" in t["spec"].get("accessModes", []), f"{ctx} the claim is ReadWriteOnce")
    check(mounted_from("/tmp") is not None, f"{ctx} /tmp is a volume (read-only root filesystem)")

    # Probes: native gRPC (grpc.health.v1) on the serving port, or on the plaintext health
    # port when there is one (kubelet's gRPC probe cannot speak TLS); no Service exposes it.
    probe_port = listen_port
    if "ANNALS_HEALTH_LISTEN" in env:
        probe_port = port_of(env["ANNALS_HEALTH_LISTEN"])
        check(named_ports.get("health") == probe_port, f"{ctx} container port health = ANNALS_HEALTH_LISTEN's port")
        for s in services:
            check(all(p.get("targetPort") not in ("health", probe_port) for p in s["spec"]["ports"]),
                  f"{ctx} Service {s['metadata']['name']} does not expose the health port")
    if "ANNALS_TLS_CERT" in env:
        check("ANNALS_HEALTH_LISTEN" in env, f"{ctx} TLS on: the probes need the plaintext health port")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = c.get(probe, {})
        check(p.get("grpc", {}).get("port") == probe_port, f"{ctx} {probe} is a gRPC probe on port {probe_port}")

    # Key material (TLS files, the tokens file) comes from Secrets, mounted read-only.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    read_only = {m["name"] for m in c.get("volumeMounts", []) if m.get("readOnly")}
    for key in ("ANNALS_TLS_CERT", "ANNALS_TLS_KEY", "ANNALS_TLS_CLIENT_CA", "ANNALS_TOKENS_FILE"):
        if key in env:
            vol = mounted_from(env[key])
            check(vol in volumes and "secret" in volumes[vol] and vol in read_only,
                  f"{ctx} {key}={env[key]} lies on a read-only Secret volume (got {vol})")

    # Resources.
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            check(r in res.get(kind, {}), f"{ctx} resources.{kind}.{r}")
    if all(r in res.get(k, {}) for k in ("requests", "limits") for r in ("cpu", "memory")):
        for r in ("cpu", "memory"):
            check(quantity(res["requests"][r]) <= quantity(res["limits"][r]), f"{ctx} requests.{r} <= limits.{r}")
        cache = int(env.get("ANNALS_BLOCK_CACHE_MB", "256")) * 2**20
        check(cache * 2 <= quantity(res["limits"]["memory"]),
              f"{ctx} memory limit leaves room beyond the block cache (cache {cache}, limit {res['limits']['memory']})")

    # Security context.
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, f"{ctx} runAsNonRoot")
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    check(uid not in (None, 0), f"{ctx} runAsUser set and not 0")
    check(docker_uid is None or uid == docker_uid, f"{ctx} runAsUser {uid} = the image's USER {docker_uid}")
    check(csc.get("readOnlyRootFilesystem") is True, f"{ctx} readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"{ctx} allowPrivilegeEscalation false")
    check("ALL" in csc.get("capabilities", {}).get("drop", []), f"{ctx} capabilities drop ALL")
    seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {}))
    check(seccomp.get("type") == "RuntimeDefault", f"{ctx} seccompProfile RuntimeDefault")

    # Shutdown: the grace period covers the drain, the watch shutdown and a margin.
    drain = float(env.get("ANNALS_DRAIN_SECONDS", "20"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= drain + WATCH_END_SECONDS + CLOSE_MARGIN_SECONDS,
          f"{ctx} terminationGracePeriodSeconds {grace} >= drain {drain} + {WATCH_END_SECONDS} + {CLOSE_MARGIN_SECONDS}")

    # PDB.
    sel = pdb["spec"].get("selector", {}).get("matchLabels", {})
    check(sel and all(pod_labels.get(k) == v for k, v in sel.items()), f"{ctx} the PDB selects the pod")
    check(("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"]), f"{ctx} the PDB sets one of minAvailable/maxUnavailable")

    if clustered:
        check_cluster(ctx, sts, pdb, env, c, pod_labels, spec.get("serviceName"), listen_port)
        check(len(etcd_objects) > 0, f"{ctx} the etcd component is included")
        if etcd_objects:
            check_etcd(ctx, etcd_objects, env["ANNALS_ETCD_ENDPOINTS"].split(","))
    else:
        check(not etcd_objects, f"{ctx} no etcd without a cluster")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--annalsd", required=True)
    args = ap.parse_args()
    repo = Path(args.repo)
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("check_manifests: SKIPPED: kubectl not found, so the overlays cannot be rendered")
        return SKIP
    vdir = repo / "tests" / "deploy" / "validator"
    ensure_validator(vdir)
    env_names = flag_env_names(args.annalsd)
    m = re.search(r"^USER\s+(\d+)", (repo / "deploy/docker/Dockerfile").read_text(), re.M)
    docker_uid = int(m.group(1)) if m else None
    check(docker_uid is not None, "the Dockerfile has a numeric USER")
    with tempfile.TemporaryDirectory() as tmp:
        # prod with the TLS component (deploy/k8s/components/tls), as an operator would add it.
        tls_dir = Path(tmp) / "prod-tls"
        tls_dir.mkdir()
        (tls_dir / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            # kustomize takes only relative roots.
            f"resources:\n  - {os.path.relpath(repo.resolve() / 'deploy/k8s/overlays/prod', tls_dir)}\n"
            f"components:\n  - {os.path.relpath(repo.resolve() / 'deploy/k8s/components/tls', tls_dir)}\n")
        for overlay in ("dev", "prod", "prod-tls", "cluster"):
            path = tls_dir if overlay == "prod-tls" else repo / "deploy" / "k8s" / "overlays" / overlay
            rendered = subprocess.run([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(path)],
                                      capture_output=True, text=True)
            if not check(rendered.returncode == 0, f"[{overlay}] kubectl kustomize: {rendered.stderr.strip()}"):
                continue
            yaml_path, json_path = Path(tmp) / f"{overlay}.yaml", Path(tmp) / f"{overlay}.json"
            yaml_path.write_text(rendered.stdout)
            v = subprocess.run(["node", str(vdir / "validate.mjs"), str(yaml_path), "--json-out", str(json_path)],
                               cwd=vdir, capture_output=True, text=True)
            print(f"check_manifests: {overlay}: " + v.stdout.replace("\n", "; ").rstrip("; "))
            if not check(v.returncode == 0, f"[{overlay}] schema validation failed:\n{v.stdout}{v.stderr}"):
                continue
            check_overlay(overlay, json.loads(json_path.read_text()), env_names, docker_uid)
    if failures:
        print("check_manifests: FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("check_manifests: dev, prod, prod with the TLS component and cluster render, validate against the Kubernetes "
          "schemas, and pass every check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
