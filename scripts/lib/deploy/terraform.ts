/**
 * Running terraform (or OpenTofu): find the binary, read its version, run one command with its
 * stderr passed straight through, and forward an interrupt to it exactly once.
 *
 * zx's `$` runs it with nothrow (plan -detailed-exitcode exits 2 on changes: the caller branches
 * on the code) in its own process group (detached), so a Ctrl-C in the terminal reaches only
 * deploy.ts, which forwards one SIGINT to the group. Terraform then stops gracefully and
 * releases the state lock; a second interrupt would make it exit at once.
 */
import { constants } from "node:os";
import { $, which, type ProcessPromise } from "zx";
import { Failure } from "../cli";
import { BINARIES, type BinaryName } from "./cli-args";

export interface Binary {
  readonly name: BinaryName;
  readonly path: string;
}

/** Minimum for S3 native state locking (`use_lockfile`), in Terraform and in OpenTofu. */
export const MIN_VERSION_FOR_LOCKFILE = "1.10.0";

const INSTALL_HINT =
  "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) or OpenTofu >= 1.10 " +
  "(https://opentofu.org/docs/intro/install/) and put it on PATH";

/** The requested binary, or terraform then tofu from PATH. */
export async function findBinary(requested?: BinaryName): Promise<Binary> {
  for (const name of requested ? [requested] : BINARIES) {
    const path = await which(name, { nothrow: true });
    if (path) return { name, path };
  }
  if (requested) throw new Failure(`${requested} not found on PATH: ${INSTALL_HINT}, or pass --binary ${requested === "tofu" ? "terraform" : "tofu"}`);
  throw new Failure(`neither terraform nor tofu found on PATH: ${INSTALL_HINT}`);
}

/** `1.11.4` from `version -json`, or undefined when the binary does not say. */
export async function binaryVersion(binary: Binary, cwd: string): Promise<string | undefined> {
  try {
    const { code, stdout } = await run(binary, ["version", "-json"], { cwd, capture: true });
    if (code !== 0) return undefined;
    const version = (JSON.parse(stdout) as { terraform_version?: unknown }).terraform_version;
    return typeof version === "string" ? version : undefined;
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    return undefined;
  }
}

/** Compares dotted versions numerically (pre-release suffixes ignored). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = [parse(version), parse(minimum)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** Thrown by run() when the command ended because deploy.ts was interrupted. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted (${signal})`);
    this.name = "Interrupted";
  }
  get exitCode(): number {
    return 128 + (constants.signals[this.signal] ?? 2);
  }
}

/** `terraform plan failed (exit 1)`; terraform's own stderr has already been shown. */
export class TerraformFailed extends Failure {
  constructor(binary: Binary, command: string, readonly code: number) {
    super(`${binary.name} ${command} failed (exit ${code})`);
  }
}

export interface RunOptions {
  readonly cwd: string;
  /** Collect stdout and return it; otherwise stdout goes to our stderr as it comes. */
  readonly capture?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

let active: ProcessPromise | undefined;
let interruptedBy: NodeJS.Signals | undefined;

/** Runs one command; stderr passes through; resolves with the exit code (never rejects for a non-zero one). */
export async function run(binary: Binary, args: readonly string[], options: RunOptions): Promise<{ code: number; stdout: string }> {
  if (interruptedBy) throw new Interrupted(interruptedBy);
  const command = $({
    cwd: options.cwd,
    env: { CHECKPOINT_DISABLE: "1", ...(options.env ?? process.env), TF_IN_AUTOMATION: "1" },
    stdio: ["ignore", options.capture ? "pipe" : process.stderr.fd, "inherit"],
    detached: true,
    nothrow: true,
    quiet: true,
  })`${binary.path} ${args}`;
  active = command;
  const output = await command.finally(() => (active = undefined));
  if (interruptedBy) throw new Interrupted(interruptedBy);
  const signal = output.signal;
  return { code: output.exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0), stdout: output.stdout };
}

/**
 * Called from deploy.ts's signal handler. Forwards the signal to the running command and
 * returns true when run() will reject with Interrupted as soon as the command has stopped.
 * One Ctrl-C can arrive twice (the terminal, then npx/tsx relaying it): a repeat within
 * REPEAT_WINDOW_MS is dropped; a later one is forwarded, and terraform then exits at once.
 */
export function interrupt(signal: NodeJS.Signals, now = Date.now()): boolean {
  interruptedBy ??= signal;
  const pid = active?.pid;
  if (pid === undefined) return false;
  if (lastForwarded === undefined || now - lastForwarded > REPEAT_WINDOW_MS) {
    lastForwarded = now;
    try {
      process.kill(-pid, signal); // the command's process group: the shell zx started and terraform
    } catch {
      return false; // already gone
    }
  }
  return true;
}

const REPEAT_WINDOW_MS = 1000;
let lastForwarded: number | undefined;

/** `-chdir=cdktf.out/stacks/dev` plus the subcommand and its arguments. */
export function terraformArgs(stackDir: string, subcommand: string, ...rest: string[]): string[] {
  return [`-chdir=${stackDir}`, subcommand, ...rest];
}
