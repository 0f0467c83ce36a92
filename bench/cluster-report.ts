/**
 * Helpers of the cluster benchmarks: statistics and a section of docs/benchmarks.md replaced in
 * place (other sections, written by other benchmarks, are kept).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";

export const BENCHMARKS_MD = join(__dirname, "..", "docs", "benchmarks.md");

export function stats(values: readonly number[]): { min: number; median: number; max: number; n: number } {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** Replaces (or appends) the `## title` section of docs/benchmarks.md. */
export function writeSection(title: string, body: string): void {
  const heading = `## ${title}`;
  const text = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, "utf8") : "# Benchmarks\n";
  const section = `${heading}\n\n${body.trim()}\n`;
  const start = text.indexOf(`${heading}\n`);
  let out: string;
  if (start < 0) {
    out = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf("\n## ", start + heading.length);
    out = `${text.slice(0, start)}${section}${next < 0 ? "" : `\n${text.slice(next + 1)}`}`;
  }
  writeFileSync(BENCHMARKS_MD, out.endsWith("\n") ? out : `${out}\n`);
}

/** One line describing the machine the numbers come from. */
export async function machine(): Promise<string> {
  const quiet = $({ quiet: true });
  const [cpus, kernel, wg] = await Promise.all([quiet`nproc`, quiet`uname -r`, quiet`wireguard-go --version`]);
  return `${cpus.stdout.trim()} CPUs, Linux ${kernel.stdout.trim()}, ${wg.lines()[0]?.trim()} (userspace), ${new Date().toISOString().slice(0, 10)}`;
}

/** CPU seconds (user + system, its finished children included) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime, stime, and of waited-for children
  return ticks / 100; // USER_HZ
}
