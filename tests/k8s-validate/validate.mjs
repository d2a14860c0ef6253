// Validates Kubernetes objects against the API's OpenAPI schemas with the `kubernetes-models` package: every object
// of every multi-document YAML file given (kubectl kustomize's output) through its model's validate(), and, because
// those schemas accept unknown fields, a strict pass that reports every field the schema does not know (a typo such as
// `readinesProbe` would otherwise pass). Installed offline by eng/setup.sh (`npm ci` in this folder).
//
//   node tests/k8s-validate/validate.mjs rendered.yaml [...]
//
// Prints one line per object ("ok Deployment/gateway" or "error Deployment/gateway: ..."), then a summary; exits 1 when
// any object is invalid, has an unknown field, or is of a kind the package has no model for.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

/** The model class of apiVersion/kind: kubernetes-models/<group>/<version>/<Kind> ("v1" for the core group). */
async function modelOf(apiVersion, kind) {
  if (!/^[a-z0-9.-]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion}/${kind}`);
  }
  const module = await import(`kubernetes-models/${apiVersion}/${kind}`).catch(() => null);
  const model = module?.[kind];
  if (typeof model !== "function") {
    throw new Error(`kubernetes-models has no model for ${apiVersion} ${kind}`);
  }
  return model;
}

/**
 * A deep copy of `value` behind proxies that record which properties the validator reads. The generated validators
 * read every property their schema declares (and every entry of a map they validate), so an own property nobody read
 * is one the schema does not have.
 */
function tracked(value, path, visited) {
  if (value === null || typeof value !== "object") {
    return value;
  }
  const accessed = new Set();
  const copy = Array.isArray(value)
    ? value.map((item, i) => tracked(item, `${path}/${i}`, visited))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, tracked(item, `${path}/${key}`, visited)]));
  if (!Array.isArray(value)) {
    visited.push({ path, keys: Object.keys(value), accessed });
  }
  return new Proxy(copy, {
    get(target, property, receiver) {
      if (typeof property === "string") {
        accessed.add(property);
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

function describe(error) {
  const details = error?.errors ?? error?.details;
  if (Array.isArray(details) && details.length > 0) {
    return details.map((e) => `${e.instancePath || "/"} ${e.message ?? JSON.stringify(e)}`).join("; ");
  }
  return error?.message ?? String(error);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE.yaml [...]");
  process.exit(2);
}

let checked = 0;
let failed = 0;
for (const file of files) {
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (document.errors.length > 0) {
      console.log(`error ${file}: YAML: ${document.errors.map((e) => e.message).join("; ")}`);
      failed++;
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) {
      continue;
    }
    // kustomize folds long base64 values over several lines; the API server's base64 decoder skips line breaks, the
    // schema's "byte" format does not: validate them as the server reads them.
    for (const field of object.kind === "Secret" ? ["data"] : object.kind === "ConfigMap" ? ["binaryData"] : []) {
      for (const [key, value] of Object.entries(object[field] ?? {})) {
        object[field][key] = typeof value === "string" ? value.replace(/\r?\n/g, "") : value;
      }
    }
    const name = `${object.kind}/${object.metadata?.name}`;
    checked++;
    try {
      const Model = await modelOf(object.apiVersion, object.kind);
      new Model(object).validate();
      const visited = [];
      Model.prototype.validate.call(tracked(object, "", visited));
      const all = visited.flatMap((v) => v.keys.filter((key) => !v.accessed.has(key)).map((key) => `${v.path}/${key}`));
      // The outermost unknown field only, not everything under it.
      const unknown = all.filter((path) => !all.some((other) => path.startsWith(`${other}/`)));
      if (unknown.length > 0) {
        throw new Error(`fields the schema does not know: ${unknown.join(", ")}`);
      }
      console.log(`ok ${name}`);
    } catch (error) {
      console.log(`error ${name}: ${describe(error)}`);
      failed++;
    }
  }
}

console.log(`${checked} objects checked, ${failed} invalid`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
