/**
 * A cluster's state directory: everything a later `status` or a teardown after a crash needs,
 * recorded *before* each resource is created (an intent log), so teardown removes exactly what
 * this cluster made and nothing else.
 *
 * ```
 * <stateDir>/state.json          ClusterState (this file's types)
 * <stateDir>/efs/                the shared store ("EFS") every server mounts
 * <stateDir>/servers/s<i>/       wg-ha.env, local/ (WG_HA_LOCAL_DIR), bootstrap/sync/agent logs
 * <stateDir>/clients/<iface>.conf  the wg-quick config of each connected client
 * <stateDir>/configs/<name>.conf   configs printed by `wg-client add` (local-cluster.ts client add)
 * <stateDir>/lb/                 status.json + events.log of the health poller, poller.log
 * ```
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessRecord } from "./exec";

export const STATE_FILE = "state.json";
export const STATE_VERSION = 1;

export interface ServerRecord {
  readonly index: number;
  readonly namespace: string;
  readonly interface: string;
  readonly underlayAddress: string;
  readonly dir: string;
  readonly envFile: string;
  readonly localDir: string;
  /** False after kill-server: the LB poller still probes it (and finds it dead). */
  running: boolean;
  processes: ProcessRecord[];
}

export interface ClientRecord {
  readonly name: string;
  readonly index: number;
  readonly namespace: string;
  readonly interface: string;
  readonly underlayAddress: string;
  readonly configFile: string;
  /** Tunnel address from the config (without prefix length). */
  readonly tunnelAddress: string;
  processes: ProcessRecord[];
}

export interface LbSettings {
  readonly healthIntervalSeconds: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly healthTimeoutSeconds: number;
}

export interface ClusterState {
  readonly version: number;
  readonly prefix: string;
  readonly stateDir: string;
  readonly repoRoot: string;
  readonly createdAt: string;
  readonly endpoint: string;
  readonly storeDir: string;
  readonly syncIntervalSeconds: number;
  readonly agentPath: string;
  readonly lb: LbSettings & { readonly namespace: string; readonly table: string; readonly dir: string };
  readonly extraSettings: Readonly<Record<string, string>>;
  /** Epoch seconds after which the LB poller tears the cluster down (ClusterOptions.lifetimeSeconds). */
  readonly expiresAt?: number;
  /** Every namespace this cluster created or was about to create, in creation order. */
  namespaces: string[];
  /** WireGuard interface names (their userspace sockets are global). */
  interfaces: string[];
  servers: ServerRecord[];
  clients: ClientRecord[];
  /** Long-lived processes outside any server/client record (the LB health poller). */
  processes: ProcessRecord[];
}

export function stateFile(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

export function readState(stateDir: string): ClusterState {
  let text: string;
  try {
    text = readFileSync(stateFile(stateDir), "utf8");
  } catch {
    throw new Error(`no cluster in ${stateDir} (${STATE_FILE} missing)`);
  }
  const state = JSON.parse(text) as ClusterState;
  if (state.version !== STATE_VERSION) throw new Error(`${stateFile(stateDir)}: unsupported state version ${state.version}`);
  return state;
}

/** Writes state.json atomically (temp + rename): a crash leaves the old or the new file. */
export function writeState(state: ClusterState): void {
  mkdirSync(state.stateDir, { recursive: true });
  const file = stateFile(state.stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Writes any JSON file atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}
