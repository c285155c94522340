// Kubernetes schema checks for rendered objects, both from npm kubernetes-models:
//   validateObject  — the model's own validate() (types, required fields, enums, formats);
//   unknownFields   — what validate() lets through: a field the API does not define. The models'
//                     validators accept additional properties, so each object is walked against
//                     the type definitions the package ships (its .d.ts interfaces, one per
//                     OpenAPI definition) with additionalProperties-false semantics.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const packageRoot = path.dirname(require.resolve("kubernetes-models/package.json"));
const nodeModules = path.dirname(packageRoot);

// "apps/v1" → "apps/v1", "v1" → "v1": the package's folder for an apiVersion.
function groupVersionDir(apiVersion) {
  if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  return apiVersion;
}

function modelBase(object) {
  const gv = groupVersionDir(object?.apiVersion);
  if (gv === null || typeof object?.kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(object.kind)) return null;
  return `${gv}/${object.kind}`;
}

// The API server decodes Secret data with Go's base64 decoder, which skips line breaks; kustomize
// writes long values as literal blocks with line breaks. Compare what the server would.
function asDecoded(object) {
  if (object?.kind !== "Secret" || object?.apiVersion !== "v1" || object.data === null || typeof object.data !== "object") {
    return object;
  }
  const data = Object.fromEntries(Object.entries(object.data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[\r\n]/g, "") : v]));
  return { ...object, data };
}

export async function validateObject(original) {
  const object = asDecoded(original);
  const base = modelBase(object);
  if (base === null) return [`apiVersion/kind missing or malformed`];
  let module;
  try {
    module = await import(`kubernetes-models/${base}`);
  } catch {
    return [`no Kubernetes schema for ${object.apiVersion} ${object.kind}`];
  }
  const Model = module[object.kind] ?? module.default;
  if (typeof Model !== "function") return [`no Kubernetes model for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const details = Array.isArray(error?.errors)
      ? error.errors.map((e) => `${e.instancePath || "/"} ${e.message}`)
      : [String(error?.message ?? error)];
    return details.map((d) => `schema: ${d}`);
  }
}

// --- the type definitions ---------------------------------------------------------------------

const interfaceCache = new Map();

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

// Splits "a; b<{c; d}>; e" at top-level semicolons.
function splitMembers(body) {
  const members = [];
  let depth = 0;
  let current = "";
  for (const ch of body) {
    if ("{<([".includes(ch)) depth++;
    if ("}>)]".includes(ch)) depth--;
    if (ch === ";" && depth === 0) {
      if (current.trim()) members.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  if (current.trim()) members.push(current.trim());
  return members;
}

function resolveModule(fromFile, specifier) {
  if (specifier.startsWith(".")) return path.resolve(path.dirname(fromFile), `${specifier}.d.ts`);
  const candidate = path.join(nodeModules, `${specifier}.d.ts`);
  return fs.existsSync(candidate) ? candidate : null;
}

// The first interface a .d.ts file exports: {name, file, props: Map<field, type text>, imports}.
// null when the file defines a type alias (Quantity, IntOrString, …): a leaf.
export function loadInterface(file) {
  if (interfaceCache.has(file)) return interfaceCache.get(file);
  let result = null;
  if (file !== null && fs.existsSync(file)) {
    const text = stripComments(fs.readFileSync(file, "utf8"));
    const imports = new Map();
    for (const match of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      for (const name of match[1].split(",").map((s) => s.trim()).filter(Boolean)) {
        imports.set(name, resolveModule(file, match[2]));
      }
    }
    const head = /export\s+interface\s+(I[A-Za-z0-9]+)(\s+extends\s+[^{]+)?\s*\{/.exec(text);
    if (head !== null) {
      let depth = 1;
      let end = head.index + head[0].length;
      while (end < text.length && depth > 0) {
        if (text[end] === "{") depth++;
        if (text[end] === "}") depth--;
        end++;
      }
      const body = text.slice(head.index + head[0].length, end - 1);
      const props = new Map();
      for (const member of splitMembers(body)) {
        const m = /^"?([^"?:]+)"?\??\s*:\s*([\s\S]+)$/.exec(member);
        if (m !== null) props.set(m[1], m[2].trim());
      }
      result = { name: head[1], file, props, imports };
    }
  }
  interfaceCache.set(file, result);
  return result;
}

function resolveType(type, owner) {
  const t = type.trim();
  const array = /^Array<([\s\S]+)>$/.exec(t);
  if (array !== null) return { array: resolveType(array[1], owner) };
  if (t.startsWith("{")) {
    const map = /^\{\s*\[[A-Za-z]+\s*:\s*string\]\s*:\s*([\s\S]+?);?\s*\}$/.exec(t);
    return map !== null ? { map: resolveType(map[1], owner) } : { leaf: true };
  }
  if (/^I[A-Za-z0-9]+$/.test(t)) {
    if (owner.imports.has(t)) return { ref: owner.imports.get(t) };
    if (t === owner.name) return { ref: owner.file };
  }
  return { leaf: true };
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function walk(value, node, where, errors) {
  if (node.leaf) return;
  if (node.array) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, node.array, `${where}[${i}]`, errors));
    return;
  }
  if (node.map) {
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(v, node.map, `${where}[${JSON.stringify(k)}]`, errors);
    return;
  }
  const definition = loadInterface(node.ref);
  if (definition === null || !isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const at = where === "" ? key : `${where}.${key}`;
    if (!definition.props.has(key)) {
      errors.push(`unknown field ${at}`);
      continue;
    }
    walk(child, resolveType(definition.props.get(key), definition), at, errors);
  }
}

// Every field of `object` that its apiVersion/kind does not define, as "unknown field a.b[0].c".
export function unknownFields(object) {
  const base = modelBase(object);
  if (base === null) return ["apiVersion/kind missing or malformed"];
  const file = path.join(packageRoot, `${base}.d.ts`);
  if (loadInterface(file) === null) return [`no type definition for ${object.apiVersion} ${object.kind}`];
  const errors = [];
  walk(object, { ref: file }, "", errors);
  return errors;
}
