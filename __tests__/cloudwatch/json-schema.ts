/**
 * A small JSON Schema (draft-07) validator: exactly the keywords the CloudWatch agent's schema
 * uses (fixtures/amazon-cloudwatch-agent-schema.json), so the test needs no new dependency.
 * Unknown keywords fail loudly instead of passing silently.
 */
type Schema = Record<string, any> | boolean;

const IGNORED = new Set(["$schema", "description", "descriptions", "definitions", "title", "default", "examples"]);
const KNOWN = new Set([
  "type", "properties", "additionalProperties", "required", "items", "minItems", "maxItems", "uniqueItems", "enum",
  "minLength", "maxLength", "minimum", "maximum", "minProperties", "maxProperties", "allOf", "anyOf", "oneOf", "not",
  "pattern", "$ref",
]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

/** Every violation as "<JSON path>: <problem>"; [] = valid. */
export function validate(root: Record<string, any>, value: unknown): string[] {
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    return ref.slice(2).split("/").reduce((node: any, key) => {
      if (node?.[key] === undefined) throw new Error(`unresolved $ref ${ref}`);
      return node[key];
    }, root);
  };
  const check = (schema: Schema, v: unknown, path: string): string[] => {
    if (schema === true) return [];
    if (schema === false) return [`${path}: not allowed`];
    const errors: string[] = [];
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key) && !IGNORED.has(key)) {
        // Some property schemas of the agent's schema carry stray keys (e.g. "tls" beside
        // "properties"); a key whose value is a schema object is a misplaced property, not a rule.
        if (typeof schema[key] === "object") continue;
        throw new Error(`unsupported keyword ${key} at ${path}`);
      }
    }
    if (schema.$ref) errors.push(...check(resolve(schema.$ref), v, path));
    if (schema.type) {
      const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => matchesType(v, t))) return [...errors, `${path}: is ${typeOf(v)}, not ${types.join("|")}`];
    }
    if (schema.enum && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))) errors.push(`${path}: ${JSON.stringify(v)} not in ${JSON.stringify(schema.enum)}`);
    if (typeof v === "string") {
      if (schema.minLength !== undefined && v.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && v.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
      if (schema.pattern && !new RegExp(schema.pattern, "u").test(v)) errors.push(`${path}: does not match ${schema.pattern}`);
    }
    if (typeof v === "number") {
      if (schema.minimum !== undefined && v < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
      if (schema.maximum !== undefined && v > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
    }
    if (Array.isArray(v)) {
      if (schema.minItems !== undefined && v.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && v.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
      if (schema.uniqueItems && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) errors.push(`${path}: items not unique`);
      if (schema.items !== undefined) v.forEach((item, i) => errors.push(...check(schema.items, item, `${path}[${i}]`)));
    }
    if (typeOf(v) === "object") {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (schema.minProperties !== undefined && keys.length < schema.minProperties) errors.push(`${path}: fewer than ${schema.minProperties} properties`);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) errors.push(`${path}: more than ${schema.maxProperties} properties`);
      for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}: ${r} is required`);
      for (const key of keys) {
        const child = `${path}.${key}`;
        if (schema.properties && key in schema.properties) errors.push(...check(schema.properties[key], obj[key], child));
        else if (schema.additionalProperties !== undefined) errors.push(...check(schema.additionalProperties, obj[key], child));
      }
    }
    for (const sub of schema.allOf ?? []) errors.push(...check(sub, v, path));
    if (schema.anyOf && !schema.anyOf.some((sub: Schema) => check(sub, v, path).length === 0)) errors.push(`${path}: matches none of anyOf`);
    if (schema.oneOf && schema.oneOf.filter((sub: Schema) => check(sub, v, path).length === 0).length !== 1) errors.push(`${path}: does not match exactly one of oneOf`);
    if (schema.not && check(schema.not, v, path).length === 0) errors.push(`${path}: matches a "not" schema`);
    return errors;
  };
  return check(root, value, "$");
}
