// Validates Kubernetes objects against the Kubernetes OpenAPI schemas, offline: the
// schemas come compiled into the npm package kubernetes-models (pinned in
// package-lock.json). Reads a multi-document YAML stream (a file argument, or stdin),
// prints one line per object, and writes the objects as a JSON array to --json-out.
// Exit status: 0 when every object is valid, 1 otherwise.
//
// Like kubeconform without -strict, the schemas check types, enums, formats and required
// fields but let unknown fields through; tests/deploy/check_manifests.py checks the fields
// Annals relies on by name.
//
//   node validate.mjs rendered.yaml --json-out objects.json
//   node validate.mjs --self-test     # a broken object must be rejected
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion -> the module directory of kubernetes-models ("apps/v1", "v1", "policy/v1").
function modulePath(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function validate(obj) {
  if (!obj || typeof obj !== "object") return "not an object";
  const { apiVersion, kind } = obj;
  if (!apiVersion || !kind) return "apiVersion and kind are required";
  let mod;
  try {
    mod = await import(modulePath(apiVersion, kind));
  } catch (e) {
    return `unknown apiVersion/kind ${apiVersion} ${kind} (${e.code || e.message})`;
  }
  const Model = mod[kind] || mod.default;
  try {
    new Model(obj).validate();
    return null;
  } catch (e) {
    return e.message || String(e);
  }
}

async function main(argv) {
  if (argv.includes("--self-test")) {
    const broken = [
      { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "x" },
        spec: { replicas: "one", serviceName: "x", selector: {}, template: {} } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "grpc" }] } },
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "x" },
        spec: { minAvailable: 1, unhealthyPodEvictionPolicy: "Sometimes" } },
      { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "x" },
        spec: { serviceName: "x", selector: {}, template: { spec: { containers: [
          { name: "c", image: "i", livenessProbe: { grpc: { port: "not-a-number" } } }] } } } },
    ];
    let ok = true;
    for (const obj of broken) {
      const err = await validate(obj);
      console.log(err ? `rejected as expected: ${obj.kind}: ${err.split("\n")[0]}` : `NOT rejected: ${JSON.stringify(obj)}`);
      if (!err) ok = false;
    }
    return ok ? 0 : 1;
  }
  const jsonOut = argv.indexOf("--json-out") >= 0 ? argv[argv.indexOf("--json-out") + 1] : null;
  const file = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--json-out");
  const text = readFileSync(file ?? 0, "utf8");
  const objects = [];
  let failed = 0;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      console.log(`YAML error: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    objects.push(obj);
    const err = await validate(obj);
    const name = `${obj.kind}/${obj.metadata?.name}`;
    if (err) {
      failed++;
      console.log(`INVALID ${name}: ${err}`);
    } else {
      console.log(`valid ${name}`);
    }
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(objects));
  return failed === 0 && objects.length > 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
