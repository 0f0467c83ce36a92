/**
 * Runs the real scripts/deploy.ts in a throw-away copy of the project, with a PATH that holds
 * only `node`, `bash` (zx runs commands through it) and the stub binaries of fixtures/
 * (terraform, tofu, aws) that a test asks for.
 * The stubs log every call as one JSON line; a run returns those calls with its output.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";

export const REPO = join(__dirname, "..", "..");
export const FIXTURES = join(__dirname, "fixtures");
const BASH = spawnSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim();

/** Top-level entries not needed to synth and deploy (and terraform.tfvars, which each test controls). */
const NOT_COPIED = new Set(["node_modules", ".git", "cdktf.out", "__tests__", "coverage", "bench", "docs", "images", ".local-cluster", "terraform.tfvars"]);

export interface StubCall {
  readonly bin: string;
  readonly args?: readonly string[];
  readonly signal?: string;
  readonly waiting?: string;
}

export interface RunOptions {
  /** Stub binaries on PATH. @default ["terraform", "tofu"] */
  readonly bins?: readonly ("terraform" | "tofu" | "aws")[];
  /** Fake access keys in the environment. @default true */
  readonly credentials?: boolean;
  /** Extra environment (STUB_* settings). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: readonly StubCall[];
  /** *.tfplan files left in any stack directory. */
  readonly planFiles: readonly string[];
}

export class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), "wg-ha-deploy-"));
  private runs = 0;

  constructor() {
    cpSync(REPO, this.root, {
      recursive: true,
      filter: (src) => {
        const rel = relative(REPO, src);
        return rel === "" || (!NOT_COPIED.has(rel.split(sep)[0]) && !/\.tfstate|\.tfplan$/.test(rel));
      },
    });
    symlinkSync(join(REPO, "node_modules"), join(this.root, "node_modules"));
    this.writeTfvars();
  }

  /** terraform.tfvars = the example (default), given text, or none (`null`). */
  writeTfvars(text: string | null = readFileSync(join(REPO, "terraform.tfvars.example"), "utf8")): void {
    const file = join(this.root, "terraform.tfvars");
    if (text === null) rmSync(file, { force: true });
    else writeFileSync(file, text);
  }

  /** Deletes cdktf.out, so a test can prove nothing was synthesized. */
  clearOutput(): void {
    rmSync(join(this.root, "cdktf.out"), { recursive: true, force: true });
  }

  exists(path: string): boolean {
    return existsSync(join(this.root, path));
  }

  private prepare(options: RunOptions) {
    const dir = join(this.root, ".test-runs", String(++this.runs));
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    mkdirSync(join(dir, "home"));
    symlinkSync(process.execPath, join(bin, "node"));
    symlinkSync(BASH, join(bin, "bash"));
    for (const name of options.bins ?? ["terraform", "tofu"]) copyFileSync(join(FIXTURES, name === "aws" ? "aws" : "terraform"), join(bin, name));
    const log = join(dir, "calls.jsonl");
    const env: NodeJS.ProcessEnv = {
      PATH: bin,
      HOME: join(dir, "home"),
      STUB_LOG: log,
      STUB_SHOW_JSON: join(FIXTURES, "plan-creates.json"),
      STUB_OUTPUT_JSON: join(FIXTURES, "outputs.json"),
      AWS_EC2_METADATA_DISABLED: "true",
      ...((options.credentials ?? true) ? { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "stub-secret" } : {}),
      ...options.env,
    };
    return { env, log };
  }

  private result(log: string, status: number | null, stdout: string, stderr: string): RunResult {
    const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as StubCall) : [];
    const stacks = join(this.root, "cdktf.out", "stacks");
    const planFiles = existsSync(stacks)
      ? readdirSync(stacks).flatMap((s) => readdirSync(join(stacks, s)).filter((f) => f.endsWith(".tfplan")))
      : [];
    return { status, stdout, stderr, calls, planFiles };
  }

  /** `node_modules/.bin/tsx scripts/deploy.ts ...args` in the sandbox, stdin not a terminal. */
  run(args: readonly string[], options: RunOptions = {}): RunResult {
    const { env, log } = this.prepare(options);
    const r = spawnSync(join(this.root, "node_modules", ".bin", "tsx"), ["scripts/deploy.ts", ...args], {
      cwd: this.root, env, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"],
    });
    return this.result(log, r.status, r.stdout, r.stderr);
  }

  /** The same, started in the background: for signals. */
  start(args: readonly string[], options: RunOptions = {}): { child: ChildProcess; log: string; done: Promise<RunResult> } {
    const { env, log } = this.prepare(options);
    const child = spawn(join(this.root, "node_modules", ".bin", "tsx"), ["scripts/deploy.ts", ...args], { cwd: this.root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const done = new Promise<RunResult>((resolve) => child.on("close", (code) => resolve(this.result(log, code, stdout, stderr))));
    return { child, log, done };
  }

  /**
   * Runs deploy.ts on a pseudo-terminal (util-linux `script`), typing `answer` at the prompt.
   * stdout and stderr arrive merged, as on a terminal.
   */
  runOnTerminal(args: readonly string[], answer: string, options: RunOptions = {}): RunResult {
    const { env, log } = this.prepare(options);
    const command = [join(this.root, "node_modules", ".bin", "tsx"), "scripts/deploy.ts", ...args].map((a) => `'${a}'`).join(" ");
    const r = spawnSync("/usr/bin/script", ["-qec", command, "/dev/null"], {
      cwd: this.root, env: { ...env, SHELL: "/bin/sh", NO_COLOR: "1" }, encoding: "utf8", timeout: 60_000, input: `${answer}\n`,
    });
    return this.result(log, r.status, r.stdout, r.stderr);
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The argument lists of the stub calls to one subcommand (`plan`, `apply`, ...). */
export function callsTo(result: RunResult, subcommand: string): (readonly string[])[] {
  return result.calls.filter((c) => c.args?.includes(subcommand) && c.args.find((a) => !a.startsWith("-")) === subcommand).map((c) => c.args!);
}

/** The plan file name passed as -out= to plan. */
export function planFileOf(result: RunResult): string | undefined {
  return callsTo(result, "plan")[0]?.find((a) => a.startsWith("-out="))?.slice("-out=".length);
}
