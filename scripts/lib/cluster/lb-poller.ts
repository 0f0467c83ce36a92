/**
 * The LB's health poller: a long-lived process the cluster starts inside the LB namespace
 * (`node --import tsx lb-poller.ts <stateDir>`, pid recorded in state.json). Every interval it
 * probes each server's agent `/health`, applies the NLB thresholds (lb.ts), moves the DNAT when
 * the target turns unhealthy, and writes lb/status.json (atomically) and lb/events.log.
 * It re-reads state.json each round, so servers added later are probed too. Stops on SIGTERM, or
 * by itself when state.json disappears (the cluster was torn down).
 */
import { appendFileSync, existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { chooseTarget, initialHealth, recordProbe, switchTarget, type TargetHealth } from "./lb";
import { readJson, readState, stateFile, writeJsonAtomic } from "./state";
import { destroyCluster } from "./teardown";
import { AGENT_PORT } from "./topology";

export interface LbStatus {
  readonly pid: number;
  /** Epoch seconds of the last completed round. */
  readonly updatedAt: number;
  readonly rounds: number;
  readonly target: number | null;
  readonly switches: number;
  readonly servers: readonly TargetHealth[];
}

export const LB_STATUS_FILE = "status.json";
export const LB_EVENTS_FILE = "events.log";

function probe(address: string, timeoutMs: number): Promise<{ ok: boolean; code?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: address, port: AGENT_PORT, path: "/health", method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, code });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ ok: false, error: err.message }));
    req.end();
  });
}

async function main(stateDir: string): Promise<void> {
  let state = readState(stateDir);
  const dir = state.lb.dir;
  const events = join(dir, LB_EVENTS_FILE);
  const log = (msg: string) => appendFileSync(events, `${new Date().toISOString()} ${(Date.now() / 1000).toFixed(3)} ${msg}\n`);
  const previous = readJson<LbStatus>(join(dir, LB_STATUS_FILE));
  let target: number | undefined = previous?.target ?? state.servers[0]?.index;
  let switches = previous?.switches ?? 0;
  const health = new Map<number, TargetHealth>((previous?.servers ?? []).map((h) => [h.index, h]));
  let rounds = 0;
  let stopping = false;
  process.on("SIGTERM", () => (stopping = true));
  process.on("SIGINT", () => (stopping = true));
  log(`poller ${process.pid} started: interval ${state.lb.healthIntervalSeconds}s, unhealthy after ${state.lb.unhealthyThreshold}, healthy after ${state.lb.healthyThreshold}, target s${target}`);

  while (!stopping && existsSync(stateFile(stateDir))) {
    const started = Date.now();
    try {
      state = readState(stateDir);
    } catch {
      break;
    }
    if (state.expiresAt && Date.now() / 1000 > state.expiresAt) {
      log(`lifetime over: tearing the cluster down (logs kept)`);
      destroyCluster(stateDir, { keepFiles: true });
      break;
    }
    const results = await Promise.all(
      state.servers.map(async (s) => [s.index, await probe(s.underlayAddress, state.lb.healthTimeoutSeconds * 1000)] as const),
    );
    for (const [index, result] of results) {
      const before = health.get(index) ?? initialHealth(index);
      const after = recordProbe(before, result, state.lb.healthyThreshold, state.lb.unhealthyThreshold);
      if (after.healthy !== before.healthy) {
        log(`s${index} ${after.healthy ? "healthy" : "unhealthy"} (${result.code ?? result.error})`);
      }
      health.set(index, after);
    }
    const all = [...health.values()].filter((h) => state.servers.some((s) => s.index === h.index));
    const next = chooseTarget(target, all);
    if (next !== undefined && next !== target) {
      const r = await switchTarget(undefined, state.lb.table, next);
      if (r.code === 0) {
        log(`switch s${target} -> s${next}`);
        target = next;
        switches++;
      } else {
        log(`switch to s${next} failed: ${r.stderr.trim()}`);
      }
    }
    rounds++;
    const status: LbStatus = { pid: process.pid, updatedAt: Date.now() / 1000, rounds, target: target ?? null, switches, servers: all };
    writeJsonAtomic(join(dir, LB_STATUS_FILE), status);
    const wait = state.lb.healthIntervalSeconds * 1000 - (Date.now() - started);
    const until = Date.now() + Math.max(wait, 0);
    while (!stopping && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }
  log(`poller ${process.pid} stopped`);
}

if (require.main === module) {
  const stateDir = process.argv[2];
  if (!stateDir) {
    process.stderr.write("usage: lb-poller.ts STATE_DIR\n");
    process.exit(2);
  }
  main(stateDir).catch((err: unknown) => {
    process.stderr.write(`lb-poller: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
