// The recipe textarea checked against the API's own JSON schema (GET /openapi.json) before it is sent:
// known keys, required fields and the pass types, at every level. Values (ranges, enums) are the server's
// to judge; its 422 problem+json answer is shown next to the form field by field.

let schemas = null;

/** Load the components of the API's OpenAPI document once (the schema the server validates with). */
export async function loadSchemas() {
  if (schemas) return schemas;
  const response = await fetch("/openapi.json");
  if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
  schemas = (await response.json()).components.schemas;
  return schemas;
}

const deref = (schema) => (schema && schema.$ref ? schemas[schema.$ref.split("/").pop()] : schema);

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

// Edit distance, for "did you mean" on a mistyped key.
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const kept = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = kept;
    }
  }
  return row[b.length];
}

function closest(name, known) {
  const ranked = known.map((k) => [distance(name, k), k]).sort((x, y) => x[0] - y[0]);
  return ranked.length && ranked[0][0] <= Math.max(2, Math.floor(name.length / 3)) ? ranked[0][1] : null;
}

function unknownKey(key, known) {
  const guess = closest(key, known);
  return guess ? `unknown field \`${key}\`; did you mean \`${guess}\`?` : `unknown field \`${key}\`; known: ${known.join(", ")}`;
}

function check(value, schema, field, errors) {
  schema = deref(schema);
  if (!schema) return;
  if (schema.anyOf) {
    if (value === null && schema.anyOf.some((s) => s.type === "null")) return;
    const branch = schema.anyOf.find((s) => s.type !== "null");
    if (branch) check(value, branch, field, errors);
    return;
  }
  if (schema.oneOf && schema.discriminator) {
    if (typeOf(value) !== "object") {
      errors.push({ field, message: `expected an object, got ${typeOf(value)}` });
      return;
    }
    const { propertyName, mapping } = schema.discriminator;
    const tags = Object.keys(mapping);
    if (!(propertyName in value)) {
      errors.push({ field, message: `\`${propertyName}\` is required: one of ${tags.join(", ")}` });
    } else if (!tags.includes(value[propertyName])) {
      const guess = closest(String(value[propertyName]), tags);
      const hint = guess ? `did you mean \`${guess}\`?` : `expected one of ${tags.join(", ")}`;
      errors.push({ field: `${field}.${propertyName}`, message: `unknown ${propertyName} \`${value[propertyName]}\`; ${hint}` });
    } else {
      check(value, { $ref: mapping[value[propertyName]] }, field, errors);
    }
    return;
  }
  if (schema.type === "array" && schema.items) {
    if (typeOf(value) !== "array") {
      errors.push({ field, message: `expected a list, got ${typeOf(value)}` });
      return;
    }
    if (schema.minItems && value.length < schema.minItems) errors.push({ field, message: `needs at least ${schema.minItems} item(s)` });
    value.forEach((item, index) => check(item, schema.items, `${field}.${index}`, errors));
    return;
  }
  if (schema.properties) {
    if (typeOf(value) !== "object") {
      errors.push({ field, message: `expected an object, got ${typeOf(value)}` });
      return;
    }
    const known = Object.keys(schema.properties);
    const prefix = field ? `${field}.` : "";
    for (const key of Object.keys(value)) {
      if (schema.properties[key]) check(value[key], schema.properties[key], `${prefix}${key}`, errors);
      else if (schema.additionalProperties === false) errors.push({ field: `${prefix}${key}`, message: unknownKey(key, known) });
    }
    for (const key of schema.required || []) {
      if (!(key in value)) errors.push({ field: `${prefix}${key}`, message: "required" });
    }
  }
}

/**
 * Parse the recipe text and add the chosen model and dataset ids, and the chosen hardware classes (if any:
 * they replace the recipe's target.hardware); return {body, errors} where errors is a list of {field, message}
 * found against the JobCreate schema (empty: worth sending).
 */
export function buildJob(recipeText, modelId, datasetId, hardware = []) {
  let recipe;
  try {
    recipe = JSON.parse(recipeText);
  } catch (error) {
    return { body: null, errors: [{ field: "recipe", message: `not valid JSON: ${error.message}` }] };
  }
  if (typeOf(recipe) !== "object") return { body: null, errors: [{ field: "recipe", message: "must be a JSON object" }] };
  const body = { ...recipe };
  if (modelId) body.model_id = modelId;
  if (datasetId) body.dataset_id = datasetId;
  if (hardware.length) {
    const target = typeOf(body.target) === "object" ? { ...body.target } : {};
    target.hardware = hardware.length === 1 ? hardware[0] : hardware;
    // a GPU class needs a cuda target: say so for the user when every chosen class is one
    if (!("device" in target) && hardware.every((name) => name.startsWith("cuda-"))) target.device = "cuda";
    body.target = target;
  }
  const errors = [];
  if (!schemas) return { body, errors }; // the schema did not load: the server's check is the only one
  check(body, { $ref: "#/components/schemas/JobCreate" }, "", errors);
  for (const error of errors) {
    if (error.field === "model_id" && error.message === "required") error.message = "choose or upload a model";
    if (error.field === "dataset_id" && error.message === "required") error.message = "choose or upload a dataset";
  }
  return { body, errors };
}
