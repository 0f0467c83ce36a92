/**
 * `local-cluster.ts status --json`: a stable, versioned document for scripts (fields documented
 * in docs/local-cluster.md, "status --json"), its zod schema (the tests validate every output
 * against it), and the human-readable rendering of `status`. Additive changes keep
 * schemaVersion; renaming or removing a field, or changing its meaning, bumps it.
 */
import { z } from "zod";
import { PLAIN, type Paint } from "../cli";
import type { LocalCluster } from "./cluster";
import { savedClientConfigs } from "./client-configs";

export const STATUS_SCHEMA_VERSION = 1;

const serverSchema = z.strictObject({
  index: z.number().int().min(1),
  namespace: z.string(),
  interface: z.string(),
  address: z.string(),
  running: z.boolean(),
  lbTarget: z.boolean(),
  healthy: z.boolean().nullable(),
  lastHealthCode: z.number().int().nullable(),
  lastHealthError: z.string().nullable(),
  draining: z.boolean(),
  peers: z.number().int().min(0).nullable(),
  syncAgeSeconds: z.number().min(0).nullable(),
  syncSource: z.enum(["store", "cache"]).nullable(),
  syncError: z.string().nullable(),
});

const clientSchema = z.strictObject({
  name: z.string(),
  namespace: z.string(),
  interface: z.string(),
  tunnelAddress: z.string(),
  running: z.boolean(),
});

export const statusJsonSchema = z.strictObject({
  schemaVersion: z.literal(STATUS_SCHEMA_VERSION),
  prefix: z.string(),
  stateDir: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  endpoint: z.string(),
  lb: z.strictObject({
    target: z.number().int().min(1).nullable(),
    pollerRunning: z.boolean(),
    updatedAt: z.number().nullable(),
    switches: z.number().int().min(0),
    healthIntervalSeconds: z.number().positive(),
    unhealthyThreshold: z.number().int().min(1),
    healthyThreshold: z.number().int().min(1),
    healthTimeoutSeconds: z.number().positive(),
  }),
  servers: z.array(serverSchema),
  clients: z.array(clientSchema),
  savedConfigs: z.array(z.string()),
});

export type StatusJson = z.infer<typeof statusJsonSchema>;

const round = (n: number | null, digits = 3) => (n === null ? null : Number(n.toFixed(digits)));

/** The status document of a cluster (reads files only: no root needed). */
export function statusJson(cluster: LocalCluster): StatusJson {
  const st = cluster.status();
  const state = cluster.state;
  const health = new Map((cluster.lbStatus()?.servers ?? []).map((h) => [h.index, h]));
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    prefix: st.prefix,
    stateDir: st.stateDir,
    createdAt: state.createdAt,
    expiresAt: state.expiresAt ? new Date(state.expiresAt * 1000).toISOString() : null,
    endpoint: st.endpoint,
    lb: {
      target: st.lb.target,
      pollerRunning: st.lb.pollerRunning,
      updatedAt: round(st.lb.updatedAt),
      switches: st.lb.switches,
      healthIntervalSeconds: state.lb.healthIntervalSeconds,
      unhealthyThreshold: state.lb.unhealthyThreshold,
      healthyThreshold: state.lb.healthyThreshold,
      healthTimeoutSeconds: state.lb.healthTimeoutSeconds,
    },
    servers: st.servers.map((s) => {
      const sync = cluster.syncStatus(s.index);
      return {
        index: s.index,
        namespace: s.namespace,
        interface: s.interface,
        address: s.address,
        running: s.running,
        lbTarget: st.lb.target === s.index,
        healthy: s.healthy,
        lastHealthCode: s.lastHealthCode,
        lastHealthError: health.get(s.index)?.lastError ?? null,
        draining: s.draining,
        peers: s.peers,
        syncAgeSeconds: round(s.syncAgeSeconds),
        syncSource: s.syncSource === "store" || s.syncSource === "cache" ? s.syncSource : null,
        syncError: sync?.error ?? null,
      };
    }),
    clients: st.clients.map((c) => ({ ...c })),
    savedConfigs: savedClientConfigs(st.stateDir),
  };
}

/** Rows as aligned columns; cells are [text, style] so padding ignores colour codes. */
function table(rows: Array<Array<[string, (s: string) => string]>>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i][0].length)));
  return rows.map((r) => r.map(([text, style], i) => style(i === r.length - 1 ? text : text.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}

const secs = (n: number | null) => (n === null ? "-" : `${n < 10 ? n.toFixed(1) : Math.round(n)} s`);

/** `status` for people. */
export function renderStatus(s: StatusJson, paint: Paint = PLAIN, now = Date.now() / 1000): string {
  const id = (x: string) => x;
  const lb = s.lb;
  const lines = [
    `${paint.heading("cluster")} ${s.prefix}  endpoint ${s.endpoint}  state ${s.stateDir}${s.expiresAt ? `  tears itself down at ${s.expiresAt}` : ""}`,
    `${paint.heading("load balancer")}: target ${lb.target === null ? "none" : `s${lb.target}`}, ` +
      `${lb.pollerRunning ? "health poller running" : paint.warning("health poller NOT running")}, ` +
      `/health every ${lb.healthIntervalSeconds} s (unhealthy after ${lb.unhealthyThreshold}, healthy after ${lb.healthyThreshold}), ` +
      `${lb.switches} switch${lb.switches === 1 ? "" : "es"}${lb.updatedAt ? `, last round ${secs(Math.max(0, now - lb.updatedAt))} ago` : ""}`,
    "",
  ];
  const header = (...names: string[]) => names.map((n): [string, (x: string) => string] => [n, paint.heading]);
  lines.push(
    table([
      header("SERVER", "LB", "PROCESSES", "HEALTH", "PEERS", "SYNC AGE", "NOTES"),
      ...s.servers.map((v): Array<[string, (x: string) => string]> => {
        const health = v.healthy === null ? "unknown" : v.healthy ? "healthy" : "unhealthy";
        const code = v.lastHealthCode !== null ? `last ${v.lastHealthCode}` : v.lastHealthError ? "no answer" : "not probed yet";
        const notes = [v.draining ? "draining" : "", v.syncSource === "cache" ? "serving the cached config" : "", v.syncError ?? ""].filter(Boolean).join("; ");
        return [
          [`s${v.index}`, id],
          [v.lbTarget ? "target" : "", v.lbTarget ? paint.heading : id],
          [v.running ? "running" : "stopped", v.running ? id : paint.warning],
          [`${health} (${code})`, v.healthy ? paint.ok : v.healthy === false ? paint.warning : paint.dim],
          [v.peers === null ? "-" : String(v.peers), id],
          [secs(v.syncAgeSeconds), id],
          [notes, notes ? paint.warning : id],
        ];
      }),
    ]),
  );
  lines.push("");
  if (s.clients.length) {
    lines.push(
      table([
        header("CLIENT", "ADDRESS", "NAMESPACE", "WIREGUARD"),
        ...s.clients.map((c): Array<[string, (x: string) => string]> => [
          [c.name, id],
          [c.tunnelAddress, id],
          [c.namespace, id],
          [c.running ? "running" : "stopped", c.running ? id : paint.warning],
        ]),
      ]),
    );
  } else {
    lines.push(paint.dim("no client connected (client add NAME, then client connect NAME)"));
  }
  const idle = s.savedConfigs.filter((n) => !s.clients.some((c) => c.name === n));
  if (idle.length) lines.push(paint.dim(`saved configs, not connected: ${idle.join(", ")}`));
  return `${lines.join("\n")}\n`;
}
