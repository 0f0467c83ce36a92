/**
 * Running commands for the cluster: bounded in time, inside a namespace or not, never through a
 * shell. Processes that outlive the call are started detached and identified by pid + start time,
 * so a later teardown never signals a recycled pid.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from "node:fs";

export interface RunOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
}

export interface RunResult {
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    super(
      `${result.command} ${result.timedOut ? "timed out" : `exited ${result.code}`}: ${result.stderr.trim() || result.stdout.trim()}`.slice(0, 2000),
    );
  }
}

/** `ip netns exec NS CMD ARGS...` as an argv, or the command itself when ns is undefined. */
export function inNamespace(ns: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return ns ? ["ip", ["netns", "exec", ns, cmd, ...args]] : [cmd, [...args]];
}

/** Runs a command to completion (killed after the timeout); never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const command = [cmd, ...args].join(" ");
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 30_000);
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => (stderr += String(err)));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ command, code: code ?? -1, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
    if (child.stdin) {
      child.stdin.on("error", () => undefined); // the command may exit without reading
      child.stdin.end(opts.input);
    }
  });
}

/** run() that throws CommandError unless the command exits 0. */
export async function check(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}

/** Synchronous variant for teardown paths (exit handlers cannot await). */
export function runSync(cmd: string, args: readonly string[], timeoutMs = 10_000): RunResult {
  const started = Date.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" });
  return {
    command: [cmd, ...args].join(" "),
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
    timedOut: r.error !== undefined && /ETIMEDOUT/.test(String(r.error)),
    durationMs: Date.now() - started,
  };
}

export interface ProcessRecord {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a recycled pid apart. */
  readonly startTime: string;
  readonly what: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined; // exited, not yet reaped
    return fields[19];
  } catch {
    return undefined;
  }
}

/** True when the recorded process is still the same, live process. */
export function isAlive(p: ProcessRecord): boolean {
  return processStartTime(p.pid) === p.startTime;
}

/** Starts a long-lived process detached from us, output appended to a log file. */
export function spawnDetached(
  ns: string | undefined,
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; what: string },
): ProcessRecord {
  const [c, a] = inNamespace(ns, cmd, args);
  const fd = openSync(opts.logFile, "a");
  try {
    // `ip netns exec` execs the command after setns: the pid we get is the command's.
    const child = spawn(c, a, { detached: true, stdio: ["ignore", fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
    child.on("error", () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${opts.what}: ${c} ${a.join(" ")}`);
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) throw new Error(`${opts.what} exited at once; see ${opts.logFile}`);
    return { pid: child.pid, startTime, what: opts.what };
  } finally {
    closeSync(fd);
  }
}

/** Pids of the processes whose network namespace is NS (ours: we created the namespace). */
export function namespacePids(ns: string): number[] {
  const r = runSync("ip", ["netns", "pids", ns]);
  if (r.code !== 0) return [];
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((n) => n > 1 && n !== process.pid);
}

export function namespaceExists(ns: string): boolean {
  try {
    return readdirSync("/run/netns").includes(ns);
  } catch {
    return false;
  }
}

/** Sends SIGTERM, waits up to graceMs, then SIGKILL; only to processes that are still the recorded ones. */
export async function stopProcesses(records: readonly ProcessRecord[], graceMs = 2000): Promise<void> {
  const live = records.filter(isAlive);
  for (const p of live) signal(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const p of live.filter(isAlive)) signal(p.pid, "SIGKILL");
  const hardDeadline = Date.now() + 2000;
  while (live.some(isAlive) && Date.now() < hardDeadline) await sleep(20);
}

/** Synchronous SIGKILL of recorded processes (teardown after a crash). */
export function killProcessesSync(records: readonly ProcessRecord[]): void {
  for (const p of records.filter(isAlive)) signal(p.pid, "SIGKILL");
  const deadline = Date.now() + 2000;
  while (records.some(isAlive) && Date.now() < deadline) spawnSync("sleep", ["0.02"]);
}

export function recordProcess(pid: number, what: string): ProcessRecord | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime, what };
}

/** Short description of a pid (its argv), for records and messages. */
export function describePid(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 200);
  } catch {
    try {
      return readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return `pid ${pid}`;
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(intervalMs);
  }
}
