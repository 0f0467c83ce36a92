/**
 * ActivePeers, the metric behind "people on the VPN": a peer counts while its latest handshake is
 * at most 180 s old (WireGuard's REJECT_AFTER_TIME), so a client that stops drops out 3 minutes
 * after its last handshake. The real health agent (`--emf-once`) reads a fake `wg` (fixtures/wg);
 * the clock is either the real one with handshakes "NOW-<n>" ago, or moved by fixtures/clock-shift.py
 * (the injected clock the integration test uses on a real server). No root needed.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AGENT_METRICS, METRICS_NAMESPACE } from "../../stacks/metrics";
import { tempDir } from "../temp-dir";

const AGENT = resolve(__dirname, "../../templates/agent/wg-ha-agent.py");
const FIXTURES = join(__dirname, "fixtures");
const CLOCK_SHIFT = join(FIXTURES, "clock-shift.py");
const key = () => randomBytes(32).toString("base64");

/** A server as the agent sees it: settings, a fresh sync status, the cluster key, ip_forward. */
function fixture(): { env: Record<string, string> } {
  const dir = tempDir("active");
  for (const d of ["store/server", "local", "proc/net/ipv4"]) mkdirSync(join(dir, d), { recursive: true });
  const publicKey = key();
  writeFileSync(join(dir, "store/server/public.key"), `${publicKey}\n`);
  writeFileSync(join(dir, "proc/net/ipv4/ip_forward"), "1\n");
  const now = Date.now() / 1000;
  writeFileSync(join(dir, "local/sync-status.json"), JSON.stringify({ last_success: now, last_attempt: now, peers: 3, skipped: [], source: "store", public_key: publicKey, error: null }));
  const settings = {
    WG_HA_ENVIRONMENT: "test", WG_INTERFACE: "lo", WG_PORT: "51820", WG_HA_SERVER_ADDRESS: "10.100.0.1/22",
    WG_HA_CLIENT_CIDR: "10.100.0.0/22", WG_HA_STATE_DIR: join(dir, "store"), WG_HA_LOCAL_DIR: join(dir, "local"),
    WG_HA_SYNC_STALE_SECONDS: "30", WG_HA_AGENT_ADDRESS: "127.0.0.1", WG_HA_AGENT_PORT: "0", WG_HA_DRAIN_SECONDS: "30",
    WG_HA_AWS: "0", WG_HA_IMDS_URL: "http://127.0.0.1:9", WG_HA_PROC_SYS: join(dir, "proc"),
  };
  writeFileSync(join(dir, "wg-ha.env"), Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join(""));
  return { env: { PATH: `${FIXTURES}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: dir, LC_ALL: "C", WG_HA_CONFIG: join(dir, "wg-ha.env"), PUBLIC_KEY: publicKey } };
}

/** `wg show dump` text: the interface line, then one line per peer with this handshake field. */
function dump(publicKey: string, handshakes: Array<number | string>): string {
  const lines = [`${key()}\t${publicKey}\t51820\toff`];
  handshakes.forEach((h, i) => lines.push([key(), "(none)", `198.51.100.${i + 1}:40000`, `10.100.0.${i + 2}/32`, h, 1000 * (i + 1), 2000 * (i + 1), "25"].join("\t")));
  return lines.join("\n");
}

/** One EMF document from the agent, optionally with its clock moved by `shiftSeconds`. */
function emfOnce(env: Record<string, string>, handshakes: Array<number | string>, shiftSeconds?: number): Record<string, any> {
  const args = shiftSeconds === undefined ? [AGENT, "--emf-once"] : [CLOCK_SHIFT, String(shiftSeconds), AGENT, "--emf-once"];
  const r = spawnSync("python3", args, { env: { ...env, FAKE_WG_DUMP: dump(env.PUBLIC_KEY, handshakes) }, encoding: "utf8", timeout: 15_000 });
  if (r.status !== 0) throw new Error(`agent --emf-once failed (${r.status}): ${r.stderr}`);
  const doc = JSON.parse(r.stdout.trim());
  expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
  return doc;
}

test("a peer is active up to 180 s after its latest handshake, then not; never = not active", () => {
  const { env } = fixture();
  const doc = emfOnce(env, ["NOW-0", "NOW-175", "NOW-186", 0]);
  expect(doc).toMatchObject({ [AGENT_METRICS.peers]: 4, [AGENT_METRICS.activePeers]: 2 });
});

test("injected clock: the same handshake is active at +178 s and gone at +181 s (the client stopped at 0)", () => {
  const { env } = fixture();
  const handshake = Math.floor(Date.now() / 1000);
  const at = (seconds: number) => emfOnce(env, [handshake], handshake + seconds - Date.now() / 1000);
  const before = at(178); // 2 s of margin for the interpreter start
  const after = at(181);
  expect(before).toMatchObject({ [AGENT_METRICS.peers]: 1, [AGENT_METRICS.activePeers]: 1 });
  expect(after).toMatchObject({ [AGENT_METRICS.peers]: 1, [AGENT_METRICS.activePeers]: 0 });
  // The clock really moved: the documents carry the shifted time.
  expect(after._aws.Timestamp - handshake * 1000).toBeGreaterThanOrEqual(180_000);
  expect(after._aws.Timestamp - handshake * 1000).toBeLessThan(183_000);
});
