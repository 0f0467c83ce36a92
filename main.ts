#!/usr/bin/env -S node --import tsx
/**
 * App entry: load and validate terraform.tfvars, build one VpnStack per environment, synth to
 * cdktf.out/stacks/<environment>/cdk.tf.json, print a resource summary per environment.
 * The only file that reads settings files, argv or process.env.
 *
 *   npm run synth [-- --environment dev] [--var-file path] [--quiet]
 */
import { parseFlags, runMain } from "./scripts/lib/cli";
import { loadConfig, selectEnvironment } from "./stacks/config/load";
import { summarizeSynth } from "./stacks/synth-summary";
import { synthesize } from "./stacks/synthesize";

const USAGE = `Usage: npm run synth -- [options]

Synthesizes every environment in terraform.tfvars (or terraform.tfvars.example when it is
missing) to cdktf.out/stacks/<environment>/cdk.tf.json and prints what each would create.

Options:
  --environment NAME  synth only this environment (repeatable)
  --var-file PATH     settings file (default terraform.tfvars)
  --outdir DIR        output directory (default cdktf.out)
  --quiet             print nothing but errors
  -h, --help          show this help
`;

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    environment: { type: "string", multiple: true },
    "var-file": { type: "string" },
    outdir: { type: "string" },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const config = await loadConfig({ file: values["var-file"], allowExample: true });
  const environments = values.environment?.map((name) => selectEnvironment(config, name)) ?? config.environments;
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);

  // The cdktf CLI passes its output directory in CDKTF_OUTDIR.
  const outdir = values.outdir ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";
  synthesize(environments, outdir);
  if (!values.quiet) process.stdout.write(summarizeSynth(outdir, environments.map((e) => e.name)));
}

runMain("npm run synth --", main);
