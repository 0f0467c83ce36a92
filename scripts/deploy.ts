#!/usr/bin/env -S node --import tsx
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
import type { EnvironmentConfig } from "../stacks/config/environment";
import { colorEnabled, EXIT, Failure, painter, runMain, type Paint } from "./lib/cli";
import { ALL_ENVIRONMENTS, parseDeployArgs, USAGE, type DeployOptions } from "./lib/deploy/cli-args";

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
  } catch (error) {
    if ((error as Error)?.name !== "Interrupted") throw error;
    const { exitCode, message } = error as import("./lib/deploy/terraform").Interrupted;
    throw new Failure(`${message}: the plan file was removed; terraform released its lock`, exitCode);
  } finally {
    removePlanFiles();
  }
}

/** The lazily loaded modules and the run's settings, shared by the steps below. */
interface Session {
  readonly opts: DeployOptions;
  readonly review: typeof import("./lib/deploy/plan-review");
  readonly tf: typeof import("./lib/deploy/terraform");
  readonly progress: import("./lib/progress").Progress;
  /** Styles for stdout (review, outputs). */
  readonly out: Paint;
  /** Whether stderr is coloured; terraform gets -no-color otherwise. */
  readonly color: boolean;
}

async function deploy(opts: DeployOptions): Promise<number> {
  const [{ Progress }, review, tf] = await Promise.all([import("./lib/progress.js"), import("./lib/deploy/plan-review.js"), import("./lib/deploy/terraform.js")]);
  const color = colorEnabled(process.stderr);
  const progress = new Progress(opts.dryRun ? 3 : 7, process.stderr, painter(color));
  const session: Session = { opts, review, tf, progress, out: painter(colorEnabled(process.stdout)), color };
  handleSignals(tf.interrupt);

  const { environments, notes } = await progress.step("config", () => loadEnvironments(opts));
  for (const line of notes) progress.note(line);
  process.chdir(ROOT);

  let binary: import("./lib/deploy/terraform").Binary | undefined;
  if (!opts.dryRun) {
    const { preflight } = await import("./lib/deploy/preflight.js");
    const found = await progress.step("preflight", () => preflight({ binary: opts.binary, env: environments[0], cwd: ROOT }));
    for (const line of found.notes) progress.note(`    ${line}`);
    binary = found.binary;
  }

  if (opts.skipTypecheck) progress.skip("type-check", "--skip-typecheck");
  else await progress.step("type-check (tsc --noEmit)", async () => (await import("./lib/deploy/typecheck.js")).typecheck(ROOT));

  await progress.step(`synth ${environments.map((e) => e.name).join(", ")}`, async () => {
    const { synthesize } = await import("../stacks/synthesize.js");
    try {
      synthesize(environments, OUTDIR);
    } catch (error) {
      throw new Failure(`synth failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

  return binary ? planAndApply(session, environments[0], binary) : printDryRun(session, environments);
}

/** --dry-run: what each synthesized stack would create; several environments side by side. */
async function printDryRun({ review, out }: Session, environments: readonly EnvironmentConfig[]): Promise<number> {
  const [{ readStackSummary }, { describeEnvironment }] = await Promise.all([
    import("../stacks/synth-summary.js"),
    import("../stacks/config/environment.js"),
  ]);
  const stacks = environments.map(({ name }) => {
    const s = readStackSummary(OUTDIR, name);
    const file = `${OUTDIR}/stacks/${name}/cdk.tf.json`;
    return { environment: name, resources: s.resources, dataSources: s.dataSources, outputs: s.outputs.length, file };
  });
  const width = Math.max(...environments.map((e) => e.name.length));
  const profiles = environments.map((e) => `  ${e.name.padEnd(width)}  ${describeEnvironment(e)}`).join("\n");
  process.stdout.write(`\n${profiles}\n\n`);
  if (stacks.length === 1) process.stdout.write(review.renderDryRun(stacks[0], out));
  else process.stdout.write(`${review.renderDryRunComparison(stacks, out)}\n  Terraform JSON: ${OUTDIR}/stacks/<environment>/cdk.tf.json\n`);
  process.stdout.write("\nDry run: terraform did not run and nothing was sent to AWS. A real plan compares with what exists.\n");
  return EXIT.ok;
}

/** init, plan to a temporary plan file, review, confirmation, apply of that file, outputs. */
async function planAndApply(session: Session, env: EnvironmentConfig, bin: import("./lib/deploy/terraform").Binary): Promise<number> {
  const { opts, progress, review, tf, out } = session;
  const stackDir = `${OUTDIR}/stacks/${env.name}`;
  const noColor = session.color ? [] : ["-no-color"];
  const terraform = async (subcommand: string, rest: string[], options: { capture?: boolean; ok?: number[] } = {}) => {
    const result = await tf.run(bin, tf.terraformArgs(stackDir, subcommand, ...rest), { cwd: ROOT, capture: options.capture });
    if (!(options.ok ?? [0]).includes(result.code)) throw new tf.TerraformFailed(bin, subcommand, result.code);
    return result;
  };

  await progress.step(`${bin.name} init`, () => terraform("init", ["-input=false", ...noColor]), { streams: true });

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
  let summary: import("./lib/deploy/plan-review").PlanSummary;
  try {
    summary = review.summarizePlan(JSON.parse(shown.stdout));
  } catch (error) {
    throw new Failure(`cannot read the plan from ${bin.name} show -json: ${(error as Error).message}`);
  }
  process.stdout.write(`\n${review.renderPlanReview(env.name, summary, out)}\n`);
  if (opts.planOnly) {
    process.stdout.write(`Plan only (--plan-only): nothing applied to ${env.name}.\n`);
    return EXIT.ok;
  }
  await confirm(session, env.name, opts.destroy || summary.destructive.length > 0);

  await progress.step(`${bin.name} apply`, () => terraform("apply", ["-input=false", ...noColor, planFile]), { streams: true });
  if (opts.destroy) {
    process.stdout.write(`\n${env.name} destroyed.\n`);
    return EXIT.ok;
  }
  const outputs = await tf.run(bin, tf.terraformArgs(stackDir, "output", "-json"), { cwd: ROOT, capture: true });
  const { renderOutputs } = await import("./lib/deploy/output.js");
  try {
    if (outputs.code !== 0) throw new Error(`exit ${outputs.code}`);
    process.stdout.write(`\n${renderOutputs(env.name, JSON.parse(outputs.stdout || "{}"))}`);
  } catch (error) {
    progress.note(`warning: the apply succeeded, but ${bin.name} output failed (${(error as Error).message})`);
  }
  return EXIT.ok;
}

/**
 * --auto-approve, or a yes on the terminal: y/N, or the environment name for destructive
 * plans. Without a terminal and without --auto-approve: refuse (Failure, exit 1).
 */
async function confirm({ opts, progress }: Session, environment: string, destructive: boolean): Promise<void> {
  if (opts.autoApprove) return progress.note("Applying without a prompt (--auto-approve).");
  if (!process.stdin.isTTY) {
    throw new Failure("refusing to apply without confirmation: stdin is not a terminal. Pass --auto-approve to apply this plan unattended, or --plan-only to review only");
  }
  const what = opts.destroy ? `Destroy ${environment}` : "This plan replaces or deletes stateful resources";
  const { ask } = await import("./lib/progress.js");
  const answer = destructive
    ? await ask(`${what}. Type the environment name (${environment}) to apply: `)
    : await ask(`Apply these changes to ${environment}? [y/N] `);
  const confirmed = destructive ? answer === environment : /^y(es)?$/i.test(answer);
  if (!confirmed) throw new Failure(`not applied: ${destructive ? `the answer was not "${environment}"` : "not confirmed"}`);
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

runMain("./scripts/deploy.ts", main);
