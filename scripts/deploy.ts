#!/usr/bin/env -S npx --no-install tsx
/**
 * deploy.ts: synthesize, plan, review and apply one wg-ha environment (docs/deploy.md).
 *
 *   ./scripts/deploy.ts --environment dev [--dry-run | --plan-only | --auto-approve | --destroy ...]
 *
 * Steps: config -> preflight (binary, AWS credentials) -> type-check -> synth -> init -> plan
 * -> review + confirmation -> apply of that exact plan file -> outputs. Progress on stderr,
 * review and outputs on stdout. Exit 0 done, 1 failed or refused, 2 usage, 128+n on signal n.
 *
 * Only the argument parser loads before --help is handled; zx, the config loader, cdktf and
 * the AWS provider are imported when needed (`import("./x.js")` is how a CommonJS module
 * under `nodenext` imports lazily; tsx maps .js to the .ts file).
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import { ALL_ENVIRONMENTS, EXIT, parseDeployArgs, USAGE, type DeployOptions } from "./lib/cli-args";
import type { EnvironmentConfig } from "../stacks/config/environment";

const ROOT = resolve(__dirname, "..");
const OUTDIR = "cdktf.out";
const planFiles = new Set<string>();

async function main(argv: readonly string[]): Promise<number> {
  const args = parseDeployArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  try {
    return await deploy(args.options);
  } finally {
    removePlanFiles();
  }
}

async function deploy(opts: DeployOptions): Promise<number> {
  const [ui, review, tf] = await Promise.all([import("./lib/ui.js"), import("./lib/plan-review.js"), import("./lib/terraform.js")]);
  const { DeployError, Progress, ask, colorEnabled, painter } = ui;
  const out = painter(colorEnabled(process.stdout));
  const color = colorEnabled(process.stderr);
  const progress = new Progress(opts.dryRun ? 3 : 7, process.stderr, painter(color));
  handleSignals(tf.interrupt);

  const { environments, notes } = await progress.step("config", () => loadEnvironments(opts));
  for (const line of notes) progress.note(line);
  process.chdir(ROOT);

  let binary: import("./lib/terraform").Binary | undefined;
  if (!opts.dryRun) {
    const env = environments[0];
    const found = await progress.step("preflight", () => preflight(opts, env));
    binary = found.binary;
    for (const line of found.notes) progress.note(`    ${line}`);
  }

  if (opts.skipTypecheck) progress.skip("type-check", "--skip-typecheck");
  else await progress.step("type-check (tsc --noEmit)", async () => (await import("./lib/typecheck.js")).typecheck(ROOT));

  await progress.step(`synth ${environments.map((e) => e.name).join(", ")}`, async () => {
    const { synthesize } = await import("../stacks/synthesize.js");
    try {
      synthesize(environments, OUTDIR);
    } catch (error) {
      throw new DeployError(`synth failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

  if (!binary) {
    const { readStackSummary } = await import("../stacks/synth-summary.js");
    for (const env of environments) {
      const s = readStackSummary(OUTDIR, env.name);
      const file = `${OUTDIR}/stacks/${env.name}/cdk.tf.json`;
      process.stdout.write(`\n${review.renderDryRun({ environment: env.name, resources: s.resources, dataSources: s.dataSources, outputs: s.outputs.length, file }, out)}`);
    }
    process.stdout.write("\nDry run: terraform did not run and nothing was sent to AWS. A real plan compares with what exists.\n");
    return EXIT.ok;
  }

  const env = environments[0];
  const bin = binary;
  const stackDir = `${OUTDIR}/stacks/${env.name}`;
  const noColor = color ? [] : ["-no-color"];
  const terraform = async (subcommand: string, rest: string[], options: { capture?: boolean; ok?: number[] } = {}) => {
    const result = await tf.run(bin, tf.terraformArgs(stackDir, subcommand, ...rest), { cwd: ROOT, capture: options.capture });
    if (!(options.ok ?? [0]).includes(result.code)) {
      if (subcommand === "init") process.stderr.write(result.stdout);
      throw new tf.TerraformFailed(bin, subcommand, result.code);
    }
    return result;
  };

  await progress.step(`${bin.name} init`, () => terraform("init", ["-input=false", ...noColor], { capture: true }));

  const planFile = `wg-ha-${randomBytes(4).toString("hex")}.tfplan`;
  planFiles.add(join(ROOT, stackDir, planFile));
  const planArgs = [
    "-input=false",
    `-out=${planFile}`,
    "-detailed-exitcode",
    ...(opts.destroy ? ["-destroy"] : []),
    ...(opts.refreshOnly ? ["-refresh-only"] : []),
    ...opts.targets.map((target) => `-target=${target}`),
    ...noColor,
  ];
  const plan = await progress.step(`${bin.name} plan`, () => terraform("plan", planArgs, { ok: [0, 2] }), { streams: true });
  if (plan.code === 0) {
    process.stdout.write(`\nNo changes: ${env.name} already matches the configuration. Nothing to apply.\n`);
    return EXIT.ok;
  }

  const shown = await terraform("show", ["-json", planFile], { capture: true });
  let summary;
  try {
    summary = review.summarizePlan(JSON.parse(shown.stdout));
  } catch (error) {
    throw new DeployError(`cannot read the plan from ${bin.name} show -json: ${(error as Error).message}`);
  }
  process.stdout.write(`\n${review.renderPlanReview(env.name, summary, out)}\n`);

  if (opts.planOnly) {
    process.stdout.write(`Plan only (--plan-only): nothing applied to ${env.name}.\n`);
    return EXIT.ok;
  }
  if (opts.autoApprove) {
    progress.note(`Applying without a prompt (--auto-approve).`);
  } else {
    if (!process.stdin.isTTY) {
      throw new DeployError("refusing to apply without confirmation: stdin is not a terminal. Pass --auto-approve to apply this plan unattended, or --plan-only to review only");
    }
    const destructive = opts.destroy || summary.destructive.length > 0;
    const answer = destructive
      ? await ask(`${opts.destroy ? `Destroy ${env.name}` : "This plan replaces or deletes stateful resources"}. Type the environment name (${env.name}) to apply: `)
      : await ask(`Apply these changes to ${env.name}? [y/N] `);
    const confirmed = destructive ? answer === env.name : /^y(es)?$/i.test(answer);
    if (!confirmed) throw new DeployError(`not applied: ${destructive ? `the answer was not "${env.name}"` : "not confirmed"}`);
  }

  await progress.step(`${bin.name} apply`, () => terraform("apply", ["-input=false", ...noColor, planFile]), { streams: true });
  if (opts.destroy) {
    process.stdout.write(`\n${env.name} destroyed.\n`);
    return EXIT.ok;
  }
  const outputs = await tf.run(bin, tf.terraformArgs(stackDir, "output", "-json"), { cwd: ROOT, capture: true });
  if (outputs.code !== 0) {
    progress.note(`warning: the apply succeeded, but ${bin.name} output failed (exit ${outputs.code})`);
    return EXIT.ok;
  }
  const { renderOutputs } = await import("./lib/output.js");
  process.stdout.write(`\n${renderOutputs(env.name, JSON.parse(outputs.stdout || "{}"))}`);
  return EXIT.ok;
}

/**
 * The environments to work on. A real run needs terraform.tfvars; when it is missing the
 * example still answers "which environments exist?", so both problems are reported together.
 */
async function loadEnvironments(opts: DeployOptions): Promise<{ environments: readonly EnvironmentConfig[]; notes: string[] }> {
  const { ConfigError, loadConfig, selectEnvironment } = await import("../stacks/config/load.js");
  const config = opts.varFile !== undefined ? await loadConfig({ file: opts.varFile }) : await loadConfig({ cwd: ROOT, allowExample: true });
  const problems: string[] = [];
  let selected = config.environments;
  if (!(opts.dryRun && opts.environment === ALL_ENVIRONMENTS)) {
    try {
      selected = [selectEnvironment(config, opts.environment)];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (config.usedExample && !opts.dryRun) {
    // Real plans never run on the example: loadConfig without allowExample says what to do.
    await loadConfig({ cwd: ROOT }).catch((error: unknown) => problems.push(...(error instanceof ConfigError ? error.problems : [String(error)])));
  }
  if (problems.length) throw new ConfigError(problems);
  const notes = [`    ${config.file}: ${selected.map((e) => e.name).join(", ")}`, ...config.warnings.map((w) => `warning: ${w}`)];
  return { environments: selected, notes };
}

/** The binary and its version, AWS credentials, and where the state lives; notes for the user. */
async function preflight(opts: DeployOptions, env: EnvironmentConfig) {
  const tf = await import("./lib/terraform.js");
  const { checkAwsCredentials } = await import("./lib/preflight.js");
  const { DeployError } = await import("./lib/ui.js");
  const binary = await tf.findBinary(opts.binary);
  const version = await tf.binaryVersion(binary, ROOT);
  const s3 = env.stateBackend;
  if (s3 && version && !tf.versionAtLeast(version, tf.MIN_VERSION_FOR_LOCKFILE)) {
    throw new DeployError(`state_backend uses S3 native locking (use_lockfile), which needs ${binary.name} >= ${tf.MIN_VERSION_FOR_LOCKFILE}; ${binary.path} is ${version}`);
  }
  const credentials = await checkAwsCredentials({ env: process.env, region: env.settings.region });
  const state = s3 ? `s3://${s3.bucket}/${s3.key} (${s3.region}, use_lockfile)` : `local file terraform.${env.name}.tfstate`;
  return { binary, notes: [`${binary.name} ${version ?? "(version unknown)"}: ${binary.path}`, `AWS credentials: ${credentials}`, `state: ${state}`] };
}

function removePlanFiles(): void {
  for (const file of planFiles) rmSync(file, { force: true });
  planFiles.clear();
}

/** Ctrl-C / SIGTERM: let a running terraform stop cleanly (main then cleans up), else exit now. */
function handleSignals(forward: (signal: NodeJS.Signals) => boolean): void {
  let told = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (!forward(signal)) {
        removePlanFiles();
        process.stderr.write(`\ninterrupted (${signal})\n`);
        process.exit(128 + constants.signals[signal]);
      }
      if (!told) process.stderr.write(`\ninterrupted (${signal}): waiting for terraform to stop and release the state lock ...\n`);
      told = true;
    });
  }
}

/** One `error:` line per problem; a stack trace only for a bug. Returns the exit code. */
function report(error: unknown): number {
  const e = error as { name?: string; message?: string; problems?: readonly string[]; exitCode?: number; stack?: string };
  if (e?.name === "UsageError") {
    process.stderr.write(`error: ${e.message}\nRun ./scripts/deploy.ts --help for usage.\n`);
    return EXIT.usage;
  }
  if (e?.name === "Interrupted") {
    process.stderr.write(`${e.message}: the plan file was removed; terraform released its lock\n`);
    return e.exitCode ?? 130;
  }
  if (e?.name === "ConfigError") for (const problem of e.problems ?? []) process.stderr.write(`error: ${problem}\n`);
  else if (e?.name === "DeployError") process.stderr.write(`error: ${e.message}\n`);
  else process.stderr.write(`${e?.stack ?? String(error)}\n`);
  return EXIT.failed;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => (process.exitCode = report(error)),
);
