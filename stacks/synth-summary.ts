/**
 * A readable summary of synthesized stacks: resource counts per type, per environment.
 * Reads cdktf.out/stacks/<name>/cdk.tf.json; used by `npm run synth` and deploy.ts --dry-run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface StackSummary {
  readonly stack: string;
  /** Resource type (aws_vpc, ...) to count, sorted by type. */
  readonly resources: Readonly<Record<string, number>>;
  readonly dataSources: number;
  readonly outputs: readonly string[];
}

export function readStackSummary(outdir: string, stack: string): StackSummary {
  const json = JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
  const count = (block: Record<string, Record<string, unknown>> = {}) =>
    Object.fromEntries(Object.keys(block).sort().map((type) => [type, Object.keys(block[type]).length]));
  return {
    stack,
    resources: count(json.resource),
    dataSources: Object.values(count(json.data)).reduce((a, b) => a + b, 0),
    outputs: Object.keys(json.output ?? {}).sort(),
  };
}

/** One table per stack: `  aws_vpc  1`, then a total line. */
export function summarizeSynth(outdir: string, stacks: readonly string[]): string {
  return stacks
    .map((stack) => {
      const s = readStackSummary(outdir, stack);
      const rows = Object.entries(s.resources);
      const width = Math.max(20, ...rows.map(([type]) => type.length));
      const total = rows.reduce((sum, [, n]) => sum + n, 0);
      const lines = rows.map(([type, n]) => `  ${type.padEnd(width)} ${String(n).padStart(3)}`);
      const file = join(outdir, "stacks", stack, "cdk.tf.json");
      return [`${stack}: ${total} resources, ${s.dataSources} data sources, ${s.outputs.length} outputs -> ${file}`, ...lines, ""].join("\n");
    })
    .join("\n");
}
