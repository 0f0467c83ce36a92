/**
 * The logs a cluster records in its state directory, by path alone: they outlive a failed `up`
 * or an expired lifetime (state.json gone, logs kept) and need no running cluster.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LB_EVENTS_FILE } from "./lb-poller";

export type LogSource = { readonly kind: "lb" } | { readonly kind: "server"; readonly index: number };

/** Existing log files of a source, most telling first. */
export function logFiles(stateDir: string, source: LogSource): string[] {
  const files =
    source.kind === "lb"
      ? [join(stateDir, "lb", LB_EVENTS_FILE), join(stateDir, "lb", "poller.log")]
      : ["bootstrap.log", "sync.log", "agent.log", join("local", "wireguard-go.log")].map((f) => join(stateDir, "servers", `s${source.index}`, f));
  return files.filter((f) => existsSync(f));
}

/** Server indexes that have a directory (and so logs) in the state directory. */
export function loggedServers(stateDir: string): number[] {
  try {
    return readdirSync(join(stateDir, "servers"))
      .map((d) => /^s(\d+)$/.exec(d)?.[1])
      .filter((d): d is string => d !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** The last `lines` lines of a file (all when shorter). */
export function tailFile(file: string, lines: number): string[] {
  const all = readFileSync(file, "utf8").split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all.slice(Math.max(0, all.length - lines));
}
