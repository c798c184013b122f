// Validates custom resources against the OpenAPI schemas of their CRDs, with the validators the
// @kubernetes-models packages ship (package.json pins them; CEL rules are not part of these
// schemas: components/k8s/crd_rules.py holds those). A group no package covers may have a JSON
// schema written from its API reference under schemas/<group>/<version>/<Kind>.json (each says
// its source).
//
// stdin: a JSON list of {"id": ..., "manifest": {...}}. stdout: a JSON list of
// {"id", "status": "valid" | "invalid" | "no-schema", "errors": [...]}, one per input.

// API group -> the package whose models cover it.
const PACKAGES = {
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "gateway.networking.x-k8s.io": "@kubernetes-models/gateway-api",
  "networking.gke.io": "@kubernetes-models/gke",
  "cloud.google.com": "@kubernetes-models/gke",
  "monitoring.gke.io": "@kubernetes-models/gke",
  "autoscaling.gke.io": "@kubernetes-models/gke",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "keda.sh": "@kubernetes-models/keda",
};
const SCHEMAS = new URL("./schemas/", import.meta.url);

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function schemaValidatorOf(apiVersion, kind) {
  const { readFile } = await import("node:fs/promises");
  let schema;
  try {
    schema = JSON.parse(await readFile(new URL(`${apiVersion}/${kind}.json`, SCHEMAS), "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return null;
    throw error;
  }
  const { default: Ajv } = await import("ajv");
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  // The shape of a @kubernetes-models model: construct, then validate() throws with ajv's errors.
  return class {
    constructor(manifest) {
      this.manifest = manifest;
    }
    validate() {
      if (!validate(this.manifest)) {
        const error = new Error("schema validation failed");
        error.errors = validate.errors;
        throw error;
      }
    }
  };
}

async function modelOf(apiVersion, kind) {
  const [group, version] = apiVersion.split("/");
  const pkg = PACKAGES[group];
  if (!pkg) return schemaValidatorOf(apiVersion, kind);
  try {
    const module = await import(`${pkg}/${group}/${version}/${kind}`);
    return module[kind] ?? null;
  } catch (error) {
    if (error.code === "ERR_MODULE_NOT_FOUND" || error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") {
      return null;
    }
    throw error;
  }
}

function messages(error) {
  // ValidationError carries ajv's errors; fall back to the message.
  if (Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
  }
  return [error.message];
}

const results = [];
for (const { id, manifest } of await readStdin()) {
  const Model = await modelOf(manifest.apiVersion ?? "", manifest.kind ?? "");
  if (Model === null) {
    results.push({ id, status: "no-schema", errors: [`no model for ${manifest.apiVersion} ${manifest.kind}`] });
    continue;
  }
  try {
    new Model(manifest).validate();
    results.push({ id, status: "valid", errors: [] });
  } catch (error) {
    results.push({ id, status: "invalid", errors: messages(error) });
  }
}
process.stdout.write(JSON.stringify(results));
