/**
 * Teardown from the state directory alone: works after a crash of whoever created the cluster,
 * is idempotent, and touches only what state.json recorded (namespaces, the processes inside
 * them, recorded pids whose start time still matches, WireGuard sockets of recorded interfaces).
 */
import { existsSync, lstatSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { killProcessesSync, namespaceExists, namespacePids, recordProcess, runSync, type ProcessRecord } from "./exec";
import { readState, stateFile, type ClusterState } from "./state";

export const WIREGUARD_SOCKET_DIR = "/var/run/wireguard";

export interface TeardownOptions {
  /** Keep the state directory (logs, store) instead of deleting it. @default false */
  readonly keepFiles?: boolean;
}

export interface TeardownReport {
  readonly namespaces: string[];
  readonly processes: number;
  readonly sockets: string[];
}

function allProcessRecords(state: ClusterState): ProcessRecord[] {
  return [...state.processes, ...state.servers.flatMap((s) => s.processes), ...state.clients.flatMap((c) => c.processes)];
}

/** Removes every namespace, process and socket of the cluster in stateDir; no-op when none is left. */
export function destroyCluster(stateDir: string, opts: TeardownOptions = {}): TeardownReport {
  if (!existsSync(stateFile(stateDir))) {
    return { namespaces: [], processes: 0, sockets: [] };
  }
  const state = readState(stateDir);
  // Recorded processes first (the LB poller would otherwise keep rewriting rules), then whatever
  // runs inside our namespaces (wireguard-go daemons forked by bootstrap or wg-quick).
  // Never ourselves: the LB poller runs this when the cluster's lifetime is over.
  const records = allProcessRecords(state).filter((p) => p.pid !== process.pid);
  killProcessesSync(records);
  let killed = records.length;
  for (const ns of state.namespaces) {
    if (!namespaceExists(ns)) continue;
    const inside = namespacePids(ns)
      .map((pid) => recordProcess(pid, `in ${ns}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    killProcessesSync(inside);
    killed += inside.length;
  }
  const namespaces: string[] = [];
  for (const ns of [...state.namespaces].reverse()) {
    if (!namespaceExists(ns)) continue;
    const r = runSync("ip", ["netns", "del", ns]);
    if (r.code === 0) namespaces.push(ns);
  }
  const sockets: string[] = [];
  for (const iface of state.interfaces) {
    const sock = join(WIREGUARD_SOCKET_DIR, `${iface}.sock`);
    try {
      if (lstatSync(sock).isSocket()) {
        unlinkSync(sock);
        sockets.push(sock);
      }
    } catch {
      /* not there */
    }
  }
  if (!opts.keepFiles) rmSync(stateDir, { recursive: true, force: true });
  else rmSync(stateFile(stateDir), { force: true }); // the cluster is gone: a later teardown is a no-op
  return { namespaces, processes: killed, sockets };
}

export interface Leftovers {
  readonly namespaces: string[];
  readonly sockets: string[];
}

/** Namespaces and WireGuard sockets whose names start with the prefix (for "leaves nothing behind" checks). */
export function findLeftovers(prefix: string): Leftovers {
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return {
    namespaces: list("/run/netns").filter((n) => n.startsWith(`${prefix}-`)),
    sockets: list(WIREGUARD_SOCKET_DIR).filter((n) => n.startsWith(prefix)),
  };
}
