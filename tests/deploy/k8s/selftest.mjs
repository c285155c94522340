// Negative self-test: the checks must be able to fail. A small compliant set of objects passes;
// each bad variant (privileged pod, unknown field, missing limits, host path, …) must be reported
// with the expected finding. With --yamllint PATH --config FILE, yamllint must reject a bad file.
//
//   node selftest.mjs [--yamllint PATH --config .yamllint.yaml]
//
// Exit status: 0 every case behaves, 1 otherwise, 77 the npm dependencies are missing.
import process from "node:process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";

let schema;
let policy;
try {
  [schema, policy] = await Promise.all([import("./schema.mjs"), import("./policy.mjs")]);
} catch (error) {
  console.log(`SKIP: the npm dependencies of tests/deploy/k8s are missing (${error.code ?? error.message}); ` +
    "run scripts/setup.sh or `npm ci` in tests/deploy/k8s");
  process.exit(77);
}

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const clone = (value) => structuredClone(value);
const labels = { "app.kubernetes.io/name": "cloister-platform" };

function goodObjects() {
  const securityContext = {
    runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, privileged: false, allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
  };
  const probe = (p) => ({ httpGet: { path: p, port: "https", scheme: "HTTPS" } });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "cloister-platform" } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "cloister-platform" }, data: { "config.json": "{}" } },
    {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "cloister-platform", namespace: "cloister-platform" },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "platform", image: "cloister/platform:0.1.0", command: ["/usr/local/bin/cloister-platform"],
              ports: [{ name: "https", containerPort: 8443 }],
              livenessProbe: probe("/healthz"), readinessProbe: probe("/readyz"), startupProbe: probe("/healthz"),
              resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
              securityContext,
              volumeMounts: [{ name: "config", mountPath: "/etc/cloister/config.json", subPath: "config.json" }],
            }],
            volumes: [{ name: "config", configMap: { name: "cfg" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1", kind: "Service", metadata: { name: "cloister-platform", namespace: "cloister-platform" },
      spec: { selector: labels, ports: [{ name: "https", port: 443, targetPort: "https" }] },
    },
    {
      apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "cloister-platform", namespace: "cloister-platform" },
      spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
    },
    {
      apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "cloister-platform" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    {
      apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "cloister-platform", namespace: "cloister-platform" },
      spec: {
        podSelector: { matchLabels: labels }, policyTypes: ["Ingress"],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }], ports: [{ protocol: "TCP", port: 8443 }] }],
      },
    },
  ];
}

const deployment = (objects) => objects.find((o) => o.kind === "Deployment");
const container = (objects) => deployment(objects).spec.template.spec.containers[0];
const podSpec = (objects) => deployment(objects).spec.template.spec;

// [name, mutation, expected finding (substring), overlay]
const cases = [
  ["privileged container", (o) => { container(o).securityContext.privileged = true; }, "container platform: privileged"],
  ["privilege escalation", (o) => { delete container(o).securityContext.allowPrivilegeEscalation; }, "allowPrivilegeEscalation is not false"],
  ["runs as root", (o) => { container(o).securityContext.runAsUser = 0; }, "runAsUser is 0 (root)"],
  ["runAsNonRoot false", (o) => { container(o).securityContext.runAsNonRoot = false; }, "runAsNonRoot is not true"],
  ["writable root filesystem", (o) => { container(o).securityContext.readOnlyRootFilesystem = false; }, "readOnlyRootFilesystem is not true"],
  ["capabilities kept", (o) => { container(o).securityContext.capabilities = { drop: ["NET_RAW"] }; }, "capabilities do not drop ALL"],
  ["capability added", (o) => { container(o).securityContext.capabilities.add = ["SYS_ADMIN"]; }, "adds capabilities SYS_ADMIN"],
  ["missing limits", (o) => { delete container(o).resources.limits; }, "no cpu limits"],
  ["missing memory request", (o) => { delete container(o).resources.requests.memory; }, "no memory requests"],
  ["no liveness probe", (o) => { delete container(o).livenessProbe; }, "no livenessProbe"],
  ["no readiness probe", (o) => { delete container(o).readinessProbe; }, "no readinessProbe"],
  ["latest image", (o) => { container(o).image = "cloister/platform:latest"; }, "is not pinned"],
  ["untagged image", (o) => { container(o).image = "cloister/platform"; }, "is not pinned"],
  ["hostPath volume", (o) => { podSpec(o).volumes.push({ name: "host", hostPath: { path: "/etc" } }); }, "hostPath volume host (/etc) is not allowed"],
  ["tsm hostPath outside cvm", (o) => { podSpec(o).volumes.push({ name: "tsm", hostPath: { path: "/sys/kernel/config/tsm" } }); },
    "hostPath volume tsm (/sys/kernel/config/tsm) is not allowed in sgx", "sgx"],
  ["another hostPath in cvm", (o) => { podSpec(o).volumes.push({ name: "tsm", hostPath: { path: "/sys/kernel/config" } }); },
    "hostPath volume tsm (/sys/kernel/config) is not allowed in cvm", "cvm"],
  ["hostNetwork", (o) => { podSpec(o).hostNetwork = true; }, "hostNetwork is true"],
  ["service account token", (o) => { delete podSpec(o).automountServiceAccountToken; }, "automountServiceAccountToken is not false"],
  ["service links", (o) => { delete podSpec(o).enableServiceLinks; }, "enableServiceLinks is not false"],
  ["init container without resources", (o) => {
    podSpec(o).initContainers = [{ ...clone(container(o)), name: "init", resources: {} }];
  }, "initContainer init: no cpu requests"],
  ["no default deny", (o) => { o.splice(o.findIndex((x) => x.metadata.name === "default-deny"), 1); }, "no default-deny NetworkPolicy"],
  ["no allowing policy", (o) => { o.splice(o.findIndex((x) => x.kind === "NetworkPolicy" && x.metadata.name === "cloister-platform"), 1); },
    "no NetworkPolicy selects its pods"],
  ["policy allowing every port", (o) => { delete o.find((x) => x.metadata.name === "cloister-platform" && x.kind === "NetworkPolicy").spec.ingress[0].ports; },
    "a rule without ports allows every port"],
  ["no PodDisruptionBudget", (o) => { o.splice(o.findIndex((x) => x.kind === "PodDisruptionBudget"), 1); }, "no PodDisruptionBudget"],
  ["missing ConfigMap", (o) => { o.splice(o.findIndex((x) => x.kind === "ConfigMap"), 1); }, "ConfigMap cfg is not defined"],
  ["Service selecting nothing", (o) => { o.find((x) => x.kind === "Service").spec.selector = { app: "nothing" }; }, "its selector matches no workload"],
  ["sgx without EPC", (o) => { container(o).command = ["gramine-sgx", "cloister-platform"]; }, "no sgx.intel.com/epc requests", "sgx"],
  ["sgx without Gramine", (o) => {
    container(o).resources.requests["sgx.intel.com/epc"] = "64Mi";
    container(o).resources.limits["sgx.intel.com/epc"] = "64Mi";
  }, "not started by gramine-sgx", "sgx"],
  ["cvm without runtime class", () => {}, "without runtimeClassName", "cvm"],
];

// [name, mutation, expected finding (substring)] — for the schema checks.
const schemaCases = [
  ["unknown container field", (o) => { container(o).securityContext.privilegd = true; },
    "unknown field spec.template.spec.containers[0].securityContext.privilegd"],
  ["unknown top-level field", (o) => { deployment(o).extra = 1; }, "unknown field extra"],
  ["unknown probe field", (o) => { container(o).startupProbe.httpGet.shceme = "HTTPS"; },
    "unknown field spec.template.spec.containers[0].startupProbe.httpGet.shceme"],
  ["unknown field in a list of maps", (o) => { podSpec(o).volumes[0].configMap.nmae = "x"; },
    "unknown field spec.template.spec.volumes[0].configMap.nmae"],
  ["unknown NetworkPolicy field", (o) => { o.find((x) => x.metadata.name === "default-deny").spec.podSelector.matchLabel = {}; },
    "unknown field spec.podSelector.matchLabel"],
  ["wrong type", (o) => { deployment(o).spec.replicas = "two"; }, "/spec/replicas must be integer"],
  ["missing required field", (o) => { delete container(o).name; }, "must have required property name"],
  ["unknown kind", (o) => { o.push({ apiVersion: "v1", kind: "Widget", metadata: { name: "w", namespace: "cloister-platform" } }); },
    "no Kubernetes schema for v1 Widget"],
];

async function schemaFindings(objects) {
  const findings = [];
  for (const object of objects) {
    findings.push(...await schema.validateObject(object), ...schema.unknownFields(object));
  }
  return findings;
}

let failed = 0;
const report = (ok, text) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${text}`);
  if (!ok) failed++;
};

const baseline = goodObjects();
const baselinePolicy = policy.checkPolicy(baseline, { overlay: "dev", requireSecrets: true });
const baselineSchema = await schemaFindings(baseline);
report(baselinePolicy.length === 0 && baselineSchema.length === 0,
  `compliant objects pass${baselinePolicy.length + baselineSchema.length ? `: ${[...baselinePolicy, ...baselineSchema].join("; ")}` : ""}`);

for (const [name, mutate, expected, overlay = "dev"] of cases) {
  const objects = goodObjects();
  mutate(objects);
  const findings = policy.checkPolicy(objects, { overlay, requireSecrets: true });
  const hit = findings.some((f) => f.includes(expected));
  report(hit, `policy reports ${name}${hit ? "" : ` (wanted "${expected}", got: ${findings.join("; ") || "nothing"})`}`);
}
// The allowed host paths pass where they belong.
for (const [overlay, where] of [["cvm", "/sys/kernel/config/tsm"], ["sgx", "/var/run/aesmd"]]) {
  const objects = goodObjects();
  podSpec(objects).volumes.push({ name: "allowed", hostPath: { path: where, type: "Directory" } });
  const findings = policy.checkPolicy(objects, { overlay }).filter((f) => f.includes("hostPath"));
  report(findings.length === 0, `policy allows ${where} in ${overlay}${findings.length ? `: ${findings.join("; ")}` : ""}`);
}
for (const [name, mutate, expected] of schemaCases) {
  const objects = goodObjects();
  mutate(objects);
  const findings = await schemaFindings(objects);
  const hit = findings.some((f) => f.includes(expected));
  report(hit, `schema reports ${name}${hit ? "" : ` (wanted "${expected}", got: ${findings.join("; ") || "nothing"})`}`);
}

const yamllint = option("--yamllint");
if (yamllint !== undefined) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cloister-yamllint-"));
  try {
    const bad = path.join(scratch, "bad.yaml");
    fs.writeFileSync(bad, `a: 1 \nkey: ${"x".repeat(200)}\nb:   [ 1,2 ]\na: 2\n`);
    const run = spawnSync(yamllint, ["-c", option("--config"), bad], { encoding: "utf8" });
    const out = `${run.stdout}${run.stderr}`;
    report(run.status !== 0 && /trailing-spaces/.test(out) && /line-length/.test(out) && /key-duplicates/.test(out),
      `yamllint rejects trailing spaces, long lines and duplicate keys${run.status === 0 ? " (it accepted the file)" : ""}`);
    const good = path.join(scratch, "good.yaml");
    fs.writeFileSync(good, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n");
    const clean = spawnSync(yamllint, ["-c", option("--config"), good], { encoding: "utf8" });
    report(clean.status === 0, `yamllint accepts a clean file${clean.status === 0 ? "" : `: ${clean.stdout}`}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

console.log(failed === 0 ? "self-test passed" : `self-test: ${failed} case(s) failed`);
process.exit(failed === 0 ? 0 : 1);
