/**
 * The "load balancer": an nftables DNAT of UDP <endpoint>:51820 to ONE server, and the health
 * logic that moves it, modelled on the NLB: each server's agent `/health` is probed every
 * interval; K consecutive failures make a target unhealthy, H consecutive successes healthy again;
 * a new target is chosen only when the current one is unhealthy (sticky otherwise); if none is
 * healthy the current one is kept (the NLB fails open). On a move, the moved flows' conntrack
 * entries are deleted, like the NLB's connection termination, so the client's next packet is
 * NATed to the new target.
 */
import { inNamespace, run, type RunResult } from "./exec";
import { ENDPOINT_ADDRESS, WG_PORT, serverUnderlay } from "./topology";

export interface TargetHealth {
  readonly index: number;
  readonly healthy: boolean;
  /** Consecutive successful / failed probes. */
  readonly ok: number;
  readonly fail: number;
  readonly lastCode?: number;
  readonly lastError?: string;
}

export function initialHealth(index: number): TargetHealth {
  return { index, healthy: false, ok: 0, fail: 0 };
}

/** The health state after one probe (NLB thresholds). */
export function recordProbe(
  h: TargetHealth,
  probe: { ok: boolean; code?: number; error?: string },
  healthyThreshold: number,
  unhealthyThreshold: number,
): TargetHealth {
  const ok = probe.ok ? h.ok + 1 : 0;
  const fail = probe.ok ? 0 : h.fail + 1;
  const healthy = h.healthy ? fail < unhealthyThreshold : ok >= healthyThreshold;
  return { index: h.index, healthy, ok, fail, lastCode: probe.code, lastError: probe.error };
}

/** Keep a healthy current target; else the lowest-index healthy one; else keep the current (fail open). */
export function chooseTarget(current: number | undefined, health: readonly TargetHealth[]): number | undefined {
  const byIndex = new Map(health.map((h) => [h.index, h]));
  if (current !== undefined && byIndex.get(current)?.healthy) return current;
  const healthy = health.filter((h) => h.healthy).map((h) => h.index).sort((a, b) => a - b);
  return healthy[0] ?? current ?? health.map((h) => h.index).sort((a, b) => a - b)[0];
}

/** The LB table: DNAT to `target`, and no flows opened from servers to clients (private subnets). */
export function renderLbRuleset(table: string, target: number): string {
  const to = serverUnderlay(target).address;
  return [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `\tchain prerouting {`,
    `\t\ttype nat hook prerouting priority -100; policy accept;`,
    `\t\tip daddr ${ENDPOINT_ADDRESS} udp dport ${WG_PORT} dnat to ${to}:${WG_PORT}`,
    `\t}`,
    `\tchain forward {`,
    `\t\ttype filter hook forward priority 0; policy accept;`,
    `\t\tiifname "s*" oifname "c*" ct state new drop`,
    `\t}`,
    `}`,
    "",
  ].join("\n");
}

/** Points the DNAT at `target` (one nft transaction), then deletes the flows pinned to the old one. */
export async function switchTarget(ns: string | undefined, table: string, target: number): Promise<RunResult> {
  const [c, a] = inNamespace(ns, "nft", ["-f", "-"]);
  const nft = await run(c, a, { input: renderLbRuleset(table, target), timeoutMs: 10_000 });
  if (nft.code !== 0) return nft;
  // Exit 1 when there was nothing to delete: not an error.
  const [cc, ca] = inNamespace(ns, "conntrack", ["-D", "-p", "udp", "--orig-dst", ENDPOINT_ADDRESS, "--orig-port-dst", String(WG_PORT)]);
  await run(cc, ca, { timeoutMs: 10_000 });
  return nft;
}
