/**
 * Reads terraform.tfvars (HCL), validates it and returns one resolved config per environment.
 * Every user error becomes one line naming the file, line, key and what is allowed; all lines
 * are collected and thrown together as a ConfigError, so nothing is synthesized from bad input.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { z } from "zod";
import { resolveEnvironment, type EnvironmentConfig } from "./environment";
import { checkSettings } from "./rules";
import { DEFAULTS, DEPRECATED_OPERATING_SYSTEMS, SETTING_KEYS, settingsShape, type SettingKey, type Settings } from "./schema";

export const CONFIG_FILE = "terraform.tfvars";
export const EXAMPLE_FILE = "terraform.tfvars.example";

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  /** The file the settings came from, as given (relative paths stay relative). */
  readonly file: string;
  /** True when terraform.tfvars was missing and the committed example was used instead. */
  readonly usedExample: boolean;
  readonly environments: readonly EnvironmentConfig[];
  /** Non-fatal notes for the user (deprecated OS, example file in use). */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  /** Settings file; default terraform.tfvars in `cwd`. */
  readonly file?: string;
  readonly cwd?: string;
  /** Fall back to terraform.tfvars.example when the default file is missing (offline commands). */
  readonly allowExample?: boolean;
}

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,15}$/;
const overridesSchema = z.strictObject(settingsShape).partial();
const fileSchema = overridesSchema.extend({
  environments: z.record(z.string().regex(ENVIRONMENT_NAME, "lower-case letters, digits and '-', at most 16"), overridesSchema),
});
type FileSettings = z.infer<typeof fileSchema>;

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const resolve = (f: string) => (f.startsWith("/") ? f : `${cwd}/${f}`);
  let file = options.file ?? CONFIG_FILE;
  const warnings: string[] = [];
  let usedExample = false;
  if (!existsSync(resolve(file))) {
    if (options.file !== undefined) throw new ConfigError([`${file}: file not found`]);
    if (!options.allowExample) {
      throw new ConfigError([`${CONFIG_FILE}: file not found; copy ${EXAMPLE_FILE} to ${CONFIG_FILE} and edit it (cp ${EXAMPLE_FILE} ${CONFIG_FILE})`]);
    }
    if (!existsSync(resolve(EXAMPLE_FILE))) throw new ConfigError([`${CONFIG_FILE}: file not found, and neither is ${EXAMPLE_FILE}`]);
    file = EXAMPLE_FILE;
    usedExample = true;
    warnings.push(`No ${CONFIG_FILE}: using ${EXAMPLE_FILE} (copy it to ${CONFIG_FILE} to change settings).`);
  }
  const loaded = await loadConfigText(readFileSync(resolve(file), "utf8"), file);
  return { ...loaded, usedExample, warnings: [...warnings, ...loaded.warnings] };
}

/** Validates HCL text as if read from `file`; the file name only appears in messages. */
export async function loadConfigText(text: string, file = CONFIG_FILE): Promise<LoadedConfig> {
  const raw = await parseText(text, file);
  const where = locator(text, file);
  const shape = fileSchema.safeParse(dropNulls(raw), { reportInput: true });
  if (!shape.success) throw new ConfigError(byLine(unique(shape.error.issues.flatMap((i) => describeIssue(i, where)))));

  const { environments, ...common } = shape.data as FileSettings;
  const names = Object.keys(environments).sort(compareEnvironments);
  if (names.length === 0) {
    throw new ConfigError([`${where(["environments"])}environments: define at least one environment, for example environments = { dev = {} }`]);
  }

  // A problem with a shared (top-level or default) value shows once, naming the environments it breaks.
  const problems = new Map<string, { envs: string[]; shared: boolean }>();
  const warnings = new Set<string>();
  const resolved: EnvironmentConfig[] = [];
  for (const name of names) {
    const own = environments[name];
    const settings = { ...DEFAULTS, ...common, ...own, tags: { ...DEFAULTS.tags, ...common.tags, ...own.tags } } as Settings;
    const found = checkSettings(settings);
    for (const { key: primary, message, related = [] } of found) {
      const keys = [primary, ...related];
      const key = keys.find((k) => k in own) ?? keys.find((k) => k in common) ?? primary;
      const about = key === primary ? "" : ` (${primary})`;
      const line =
        key in own ? `${where(["environments", name, key])}environments.${name}.${key}${about}: ${message}`
        : key in common ? `${where([key])}${key}${about}: ${message}`
        : `${file}: ${key} (default ${JSON.stringify(DEFAULTS[key])}): ${message}`;
      const entry = problems.get(line) ?? { envs: [], shared: !(key in own) };
      problems.set(line, { ...entry, envs: [...entry.envs, name] });
    }
    const deprecation = DEPRECATED_OPERATING_SYSTEMS[settings.os];
    if (deprecation) warnings.add(`${file}: os "${settings.os}" (environment ${name}): ${deprecation}`);
    if (found.length === 0) resolved.push(resolveEnvironment(name, settings));
  }
  const errors = [...problems].map(([line, { envs, shared }]) => (shared ? `${line} (environment ${envs.join(", ")})` : line));
  errors.push(...sharedStateProblems(resolved, file));
  if (errors.length) throw new ConfigError(byLine(errors));
  return { file, usedExample: false, environments: resolved, warnings: [...warnings] };
}

/** The named environment, or a ConfigError listing the valid names. */
export function selectEnvironment(config: LoadedConfig, name: string): EnvironmentConfig {
  const found = config.environments.find((e) => e.name === name);
  if (!found) {
    const valid = config.environments.map((e) => e.name).join(", ");
    throw new ConfigError([`${config.file}: unknown environment "${name}"; environments defined there: ${valid}`]);
  }
  return found;
}

async function parseText(text: string, file: string): Promise<unknown> {
  try {
    return await parseHcl(file, text);
  } catch (error) {
    const detail = String((error as Error).message ?? error);
    const diagnostics = [...detail.matchAll(/(\S+):(\d+),(\d+)-\d+(?:,\d+)?: ([^;]+); (.*?)(?=\s\S+:\d+,\d+-|\]?$)/gs)];
    if (diagnostics.length === 0) throw new ConfigError([`${file}: not valid HCL: ${detail}`]);
    throw new ConfigError(unique(diagnostics.map((d) => `${file}:${d[2]}:${d[3]}: ${d[4].trim()}: ${d[5].trim()}`)));
  }
}

/** Finds the line where a key path is written, for `file:line:` prefixes (best effort). */
function locator(text: string, file: string): (path: readonly PropertyKey[]) => string {
  const lines = text.split("\n");
  return (path) => {
    let from = 0;
    let found = -1;
    for (const part of path) {
      if (typeof part !== "string") continue;
      const pattern = new RegExp(`^\\s*("?)${part.replace(/[-]/g, "\\-")}\\1\\s*=`);
      const index = lines.findIndex((l, i) => i >= from && pattern.test(l.replace(/^\s*\{\s*/, "")));
      if (index < 0) break;
      found = index;
      from = index;
    }
    return found >= 0 ? `${file}:${found + 1}: ` : `${file}: `;
  };
}

function describeIssue(issue: z.core.$ZodIssue, where: (path: readonly PropertyKey[]) => string): string[] {
  const path = issue.path;
  const key = path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[");
  const prefix = `${where(path)}${key}: `;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => {
        const inside = path.length ? `${key}.` : "";
        return `${where([...path, k])}${inside}${k}: unknown setting${suggest(k)}; see ${EXAMPLE_FILE} for every setting`;
      });
    case "invalid_type":
      return [`${prefix}expected ${article(issue.expected)}, got ${show(input)}`];
    case "invalid_value":
      return [`${prefix}${show(input)} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`];
    case "too_small":
    case "too_big":
      return [`${prefix}${show(input)} is out of range; ${range(path, issue)}`];
    case "invalid_key":
      return [`${prefix}environment names must be 1-16 lower-case letters, digits or '-', starting with a letter`];
    default:
      return [`${prefix}${show(input)} is not valid; expected ${issue.message}`];
  }
}

function range(path: readonly PropertyKey[], issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const field = settingsShape[path[path.length - 1] as SettingKey] as unknown as { minValue?: number; maxValue?: number };
  if (field?.minValue != null && field?.maxValue != null && Number.isFinite(field.maxValue)) {
    return `allowed: ${field.minValue} to ${field.maxValue}`;
  }
  return issue.code === "too_small" ? `must be at least ${issue.minimum}` : `must be at most ${issue.maximum}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    number: "a number", int: "a whole number", string: "a string in quotes", boolean: "true or false",
    array: 'a list such as ["a", "b"]', object: "a map such as { key = value }", record: "a map such as { key = value }",
  };
  return names[expected] ?? expected;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a map";
  return JSON.stringify(value);
}

function suggest(key: string): string {
  const best = SETTING_KEYS.map((k) => [k, distance(k, key)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(1, Math.floor(key.length / 3)) ? ` (did you mean "${best[0]}"?)` : "";
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

function sharedStateProblems(envs: readonly EnvironmentConfig[], file: string): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const env of envs) {
    if (!env.stateBackend) continue;
    const id = `s3://${env.stateBackend.bucket}/${env.stateBackend.key}`;
    const other = seen.get(id);
    if (other) problems.push(`${file}: state_backend.key: environments ${other} and ${env.name} would share the state ${id}; give each its own key`);
    seen.set(id, env.name);
  }
  return problems;
}

/** HCL `null` means "use the default". */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]));
}

/** dev, staging, prod first in that order; any other names after, alphabetically. */
function compareEnvironments(a: string, b: string): number {
  const order = ["dev", "staging", "prod"];
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Orders `file:line:` messages by line; messages without a line keep their order, last. */
function byLine(lines: string[]): string[] {
  const lineOf = (l: string) => Number(/^[^:]+:(\d+):/.exec(l)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return [...lines].sort((a, b) => lineOf(a) - lineOf(b));
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
