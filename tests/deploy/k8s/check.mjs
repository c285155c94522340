// Checks the rendered overlays of deploy/k8s: Kubernetes schemas (kubernetes-models), unknown
// fields, and Cloister's policy (policy.mjs).
//
//   node check.mjs --kubectl PATH --deploy DIR OVERLAY...
//
// Exit status: 0 all pass, 1 findings (each printed), 2 usage, 77 a dependency is missing.
import process from "node:process";
import fs from "node:fs";

function usage(message) {
  console.error(`check.mjs: ${message}\nusage: node check.mjs --kubectl PATH --deploy DIR OVERLAY...`);
  process.exit(2);
}

const args = process.argv.slice(2);
let kubectl = "kubectl";
let deployDir = null;
const overlays = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--kubectl") kubectl = args[++i];
  else if (args[i] === "--deploy") deployDir = args[++i];
  else if (args[i].startsWith("--")) usage(`unknown option ${args[i]}`);
  else overlays.push(args[i]);
}
if (deployDir === null || overlays.length === 0) usage("--deploy and at least one overlay are required");
if (!fs.existsSync(deployDir)) usage(`${deployDir} does not exist`);

let modules;
try {
  modules = await Promise.all([import("./render.mjs"), import("./schema.mjs"), import("./policy.mjs")]);
} catch (error) {
  console.log(`SKIP: the npm dependencies of tests/deploy/k8s are missing (${error.code ?? error.message}); ` +
    "run scripts/setup.sh or `npm ci` in tests/deploy/k8s");
  process.exit(77);
}
const [{ render }, { validateObject, unknownFields }, { checkPolicy }] = modules;

let failures = 0;
for (const overlay of overlays) {
  let objects;
  try {
    objects = render({ kubectl, deployDir, overlay });
  } catch (error) {
    console.log(`FAIL ${overlay}: kubectl kustomize: ${String(error.stderr ?? error.message).trim()}`);
    failures++;
    continue;
  }
  const findings = [];
  for (const object of objects) {
    const name = `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata?.name}`;
    for (const problem of await validateObject(object)) findings.push(`${name}: ${problem}`);
    for (const problem of unknownFields(object)) findings.push(`${name}: ${problem}`);
  }
  findings.push(...checkPolicy(objects, { overlay, requireSecrets: overlay === "dev" }));
  if (findings.length === 0) {
    console.log(`ok   ${overlay}: ${objects.length} objects render, validate, have no unknown fields and pass the policy`);
  } else {
    failures++;
    console.log(`FAIL ${overlay}: ${findings.length} finding(s)`);
    for (const f of findings) console.log(`  ${f}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
