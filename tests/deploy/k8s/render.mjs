// Renders an overlay of deploy/k8s with `kubectl kustomize` and parses the result.
// The dev overlay needs the Secrets' source files that make-secrets.sh writes into
// overlays/dev/secrets/; the tree is copied to a temporary directory first, so a check never
// writes into the source tree (and never reads a developer's real secrets/).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";

export function parseDocuments(text) {
  const objects = [];
  for (const document of YAML.parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`YAML: ${document.errors[0].message}`);
    const value = document.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

export function render({ kubectl, deployDir, overlay }) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cloister-k8s-"));
  try {
    const tree = path.join(scratch, "k8s");
    fs.cpSync(deployDir, tree, {
      recursive: true,
      filter: (source) => !source.split(path.sep).includes("secrets"),
    });
    if (overlay === "dev") {
      execFileSync("sh", [path.join(tree, "overlays/dev/make-secrets.sh"), "--bin-dir", path.join(scratch, "no-binaries"),
        "--out", path.join(tree, "overlays/dev/secrets")], { stdio: ["ignore", "ignore", "inherit"] });
    }
    const text = execFileSync(kubectl, ["kustomize", path.join(tree, "overlays", overlay)], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return parseDocuments(text);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
