#!/usr/bin/env -S node --import tsx
/**
 * Draws the architecture of one synthesized environment as an SVG (images/architecture.svg).
 * Reads <outdir>/stacks/<environment>/cdk.tf.json, so what it draws is what terraform would
 * create: AZ count, NAT mode, Elastic IPs, names, ports (scripts/lib/diagram/model.ts).
 *
 *   npm run diagram                  synth terraform.tfvars.example into cdktf.out/diagram,
 *                                    then draw its prod environment to images/architecture.svg
 *   npm run diagram -- --check       the same, but only say whether the checked-in SVG is stale
 *   npm run synth && npx tsx scripts/diagram.ts --environment dev --output /tmp/dev.svg
 *                                    your own terraform.tfvars, one environment
 *
 * __tests__/docs/diagram.test.ts fails when images/architecture.svg is stale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { EXIT, Failure, parseFlags, runMain } from "./lib/cli";
import { renderArchitecture } from "./lib/diagram/architecture";
import { topologyFromSynth, type SynthJson } from "./lib/diagram/model";

const ROOT = resolve(__dirname, "..");
export const DEFAULT_ENVIRONMENT = "prod";
export const DEFAULT_OUTPUT = "images/architecture.svg";

const USAGE = `Usage: npm run diagram [-- options]
       npx tsx scripts/diagram.ts [options]

Draws the architecture of one synthesized environment (VPC, AZs, subnets, NLB, Auto Scaling
group, EFS, KMS, CloudWatch, SNS, SSM, S3) as an SVG, from <outdir>/stacks/<env>/cdk.tf.json.
npm run diagram first synthesizes terraform.tfvars.example into cdktf.out/diagram (the checked-in
images/architecture.svg is its prod environment).

Options:
  --environment NAME  environment to draw (default ${DEFAULT_ENVIRONMENT})
  --outdir DIR        synth output to read (default cdktf.out: run npm run synth first)
  --output FILE       SVG to write (default ${DEFAULT_OUTPUT}; - writes to stdout)
  --check             write nothing; exit 1 if FILE differs from the drawing
  -h, --help          show this help

Exit codes: 0 written (or up to date with --check), 1 failed or stale, 2 usage error.
`;

/** The SVG for one environment of a synth output directory, and the file it came from. */
export function renderEnvironment(outdir: string, environment: string): { svg: string; source: string } {
  const file = join(outdir, "stacks", environment, "cdk.tf.json");
  if (!existsSync(file)) {
    throw new Failure(`${file} not found: synthesize first (npm run synth), or pick an environment that exists (--environment)`);
  }
  const tf = JSON.parse(readFileSync(file, "utf8")) as SynthJson;
  const source = `cdktf.out/stacks/${environment}/cdk.tf.json`;
  return { svg: renderArchitecture(topologyFromSynth(tf), { source }), source: file };
}

function main(argv: readonly string[]): number {
  const { values } = parseFlags(argv, {
    environment: { type: "string", default: DEFAULT_ENVIRONMENT },
    outdir: { type: "string", default: "cdktf.out" },
    output: { type: "string", default: DEFAULT_OUTPUT },
    check: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const outdir = resolve(ROOT, values.outdir);
  const { svg, source } = renderEnvironment(outdir, values.environment);
  if (values.output === "-") {
    process.stdout.write(svg);
    return EXIT.ok;
  }
  const output = resolve(process.cwd(), values.output);
  const shown = relative(process.cwd(), output) || output;
  if (values.check) {
    const current = existsSync(output) ? readFileSync(output, "utf8") : undefined;
    if (current === svg) {
      process.stderr.write(`${shown} is up to date with ${relative(ROOT, source)}\n`);
      return EXIT.ok;
    }
    throw new Failure(`${shown} is stale: run npm run diagram and commit it`);
  }
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, svg);
  process.stderr.write(`wrote ${shown} (${values.environment}, from ${relative(ROOT, source)})\n`);
  return EXIT.ok;
}

if (require.main === module) runMain("npx tsx scripts/diagram.ts", main);
