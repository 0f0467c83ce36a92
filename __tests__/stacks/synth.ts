/**
 * Test helpers: synthesize VpnStack for the example environments (or a config written inline)
 * through Testing.synth(stack, true) (validations on), and look things up in the JSON.
 */
import { join } from "node:path";
import { type App, Testing } from "cdktf";
import type { EnvironmentConfig } from "../../stacks/config/environment";
import { loadConfig, loadConfigText } from "../../stacks/config/load";
import { VpnStack } from "../../stacks/vpn-stack";
import { tempDir } from "../temp-dir";

export const ROOT = join(__dirname, "..", "..");
export const EXAMPLE_ENVIRONMENTS = ["dev", "staging", "prod"] as const;

export type Json = Record<string, any>;

export interface Synthesized {
  readonly env: EnvironmentConfig;
  /** cdk.tf.json text as Testing.synth returns it. */
  readonly text: string;
  readonly tf: Json;
}

export async function exampleEnvironments(): Promise<EnvironmentConfig[]> {
  const config = await loadConfig({ file: "terraform.tfvars.example", cwd: ROOT });
  return [...config.environments];
}

let outdir: string | undefined;

/**
 * A test app whose output directory is one temp directory per test file, removed after it
 * (Testing.app() would leave a new empty directory behind on every call; Testing.synth writes none).
 */
export function testApp(): App {
  return Testing.app({ outdir: (outdir ??= tempDir("testing-app")) });
}

export function synthEnvironment(env: EnvironmentConfig): Synthesized {
  const stack = new VpnStack(testApp(), env);
  const text = Testing.synth(stack, true);
  return { env, text, tf: JSON.parse(text) };
}

/** Every example environment, synthesized once per test file. */
export async function synthExamples(): Promise<Synthesized[]> {
  return (await exampleEnvironments()).map(synthEnvironment);
}

/** One environment from inline HCL settings (plus `environments = { <name> = {} }` if absent). */
export async function synthSettings(hcl: string, name = "test"): Promise<Synthesized> {
  const text = /environments\s*=/.test(hcl) ? hcl : `${hcl}\nenvironments = { ${name} = {} }\n`;
  const config = await loadConfigText(text, "test.tfvars");
  return synthEnvironment(config.environments.find((e) => e.name === name) ?? config.environments[0]);
}

/** All resources (or data sources) of a type, by logical ID. */
export function all(tf: Json, type: string, block: "resource" | "data" = "resource"): Record<string, Json> {
  return tf[block]?.[type] ?? {};
}

export function list(tf: Json, type: string, block: "resource" | "data" = "resource"): Json[] {
  return Object.values(all(tf, type, block));
}

/**
 * The logical ID of the one item at a construct path below the stack ("LoadBalancer/TargetGroup"):
 * CDKTF names it `<path joined by _>_<8 hex>` (Testing.synth drops the path metadata).
 */
export function logicalId(tf: Json, type: string, path: string, block: "resource" | "data" = "resource"): string {
  // CDKTF drops a component the one before it ends with (LoadBalancer/LoadBalancer, FlowLogGroup/LogGroup).
  const parts = path.split("/").filter((part, i, arr) => i === 0 || !arr[i - 1].endsWith(part));
  const pattern = new RegExp(`^${parts.join("_")}_[0-9A-F]{8}$`);
  const ids = Object.keys(tf[block]?.[type] ?? {}).filter((id) => pattern.test(id));
  if (ids.length !== 1) throw new Error(`${ids.length} ${type} at ${path}`);
  return ids[0];
}

export function byPath(tf: Json, type: string, path: string, block: "resource" | "data" = "resource"): Json {
  return all(tf, type, block)[logicalId(tf, type, path, block)];
}

/** The only resource of a type. */
export function only(tf: Json, type: string, block: "resource" | "data" = "resource"): Json {
  const items = list(tf, type, block);
  if (items.length !== 1) throw new Error(`expected one ${type}, found ${items.length}`);
  return items[0];
}

/** The Terraform reference `${<type>.<id>.<attr>}` of the one item at a construct path. */
export function ref(tf: Json, type: string, path: string, attr: string, block: "resource" | "data" = "resource"): string {
  return `\${${block === "data" ? "data." : ""}${type}.${logicalId(tf, type, path, block)}.${attr}}`;
}

/** The aws_iam_policy_document a `${data.aws_iam_policy_document.X.json}` reference points to. */
export function policyDocumentOf(tf: Json, reference: string): Json {
  const match = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(reference);
  if (!match) throw new Error(`not a policy document reference: ${reference}`);
  return all(tf, "aws_iam_policy_document", "data")[match[1]];
}

/** Statement of a policy document by sid. */
export function statement(doc: Json, sid: string): Json {
  const found = (doc.statement as Json[]).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}
