/**
 * What a state directory holds, before `up` uses it or `down` removes it: nothing, a recorded
 * cluster (running, or left behind by a crash or a reboot), the files of an earlier cluster
 * that is gone (a failed `up` or an expired lifetime keeps its logs and store), or files that
 * are not ours (never deleted).
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { isAlive } from "./exec";
import { readState, stateFile, STATE_FILE, type ClusterState } from "./state";

/** Entries a cluster writes at the top of its state directory (state.ts; configs/: client-configs.ts). */
const CLUSTER_ENTRIES = new Set([STATE_FILE, "efs", "servers", "clients", "configs", "lb"]);

export type StateDirContents =
  | { readonly kind: "none" }
  /** alive: some recorded process still runs (false after a crash of everything, or a reboot). */
  | { readonly kind: "cluster"; readonly state: ClusterState; readonly alive: boolean }
  | { readonly kind: "leftover"; readonly entries: readonly string[] }
  | { readonly kind: "foreign"; readonly entries: readonly string[] };

export function inspectStateDir(dir: string): StateDirContents {
  if (existsSync(stateFile(dir))) {
    const state = readState(dir);
    const records = [...state.processes, ...state.servers.flatMap((s) => s.processes), ...state.clients.flatMap((c) => c.processes)];
    return { kind: "cluster", state, alive: records.some(isAlive) };
  }
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return { kind: "none" };
  }
  if (entries.length === 0) return { kind: "none" };
  // Temp files of an atomic write (state.json.<pid>.tmp) count as ours.
  const ours = entries.every((e) => CLUSTER_ENTRIES.has(e) || /^state\.json\.\d+\.tmp$/.test(e));
  return { kind: ours ? "leftover" : "foreign", entries };
}

/** Deletes the files of an earlier cluster; refuses anything else (returns false). */
export function removeLeftovers(dir: string): boolean {
  if (inspectStateDir(dir).kind !== "leftover") return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Why `up` cannot use the directory (undefined: it can); `self` is how to run local-cluster.ts, for the hints. */
export function upRefusal(found: StateDirContents, dir: string, self: string): string | undefined {
  switch (found.kind) {
    case "none":
      return undefined;
    case "cluster":
      return found.alive
        ? `a cluster is already running in ${dir} (prefix ${found.state.prefix}, up since ${found.state.createdAt}); run down first: ${self} down`
        : `a cluster is recorded in ${dir} but none of its processes runs (a crash, or a reboot); run down first: ${self} down`;
    case "leftover":
      return `${dir} holds the files of an earlier cluster that is gone (a failed up, or its lifetime ended): read them with ${self} logs, then run down first: ${self} down`;
    case "foreign":
      return `${dir} holds files that are not a local cluster's (${found.entries.slice(0, 5).join(", ")}): use another --state-dir`;
  }
}
