/**
 * GET /metrics: valid Prometheus text exposition (0.0.4), only names from the agent's own table
 * (--list-metrics), prometheus_wireguard_exporter-compatible peer metrics, values from the canned
 * `wg show dump`, one `wg` call per scrape.
 */
import { writeFileSync } from "node:fs";
import { http, makeFixture, metricTable, removeFixtures, startAgent, stopAgents, wgKey } from "./harness";

jest.setTimeout(20_000);
afterEach(async () => {
  await stopAgents();
  removeFixtures();
});

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * A strict parser for the text format: every line is `# HELP name text`, `# TYPE name type` or a
 * sample `name{l="v",...} value`; HELP and TYPE come once per family, before its samples.
 */
function parseExposition(text: string): { families: Map<string, { type: string; help: string }>; samples: Sample[] } {
  expect(text.endsWith("\n")).toBe(true);
  const families = new Map<string, { type: string; help: string }>();
  const samples: Sample[] = [];
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/y;
  let help: string | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${name}) (.*)$`).exec(line))) {
      expect(families.has(m[1])).toBe(false);
      help = m[2];
      continue;
    }
    if ((m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      expect(families.has(m[1])).toBe(false);
      families.set(m[1], { type: m[2], help: help ?? "" });
      continue;
    }
    m = new RegExp(`^(${name})(?:\\{(.*)\\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|[+-]Inf|NaN)$`).exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    expect(families.has(m[1])).toBe(true); // TYPE before samples
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      for (const part of m[2].split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)) {
        labelRe.lastIndex = 0;
        const l = labelRe.exec(part);
        if (!l || l[0].length !== part.length) throw new Error(`bad label ${part} in ${line}`);
        labels[l[1]] = l[2];
      }
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { families, samples };
}

const one = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found).toHaveLength(1);
  return found[0].value;
};

describe("GET /metrics", () => {
  test("valid exposition format; every family is in the table with its type; HELP and TYPE for all", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const r = await http(agent.port, "GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { families, samples } = parseExposition(r.body);
    const table = metricTable().prometheus;
    expect([...families.keys()]).toEqual(table.map((m) => m.name));
    for (const m of table) expect(families.get(m.name)).toEqual({ type: m.type, help: m.help });
    // Every sample carries exactly the labels the table declares.
    for (const s of samples) {
      const declared = table.find((m) => m.name === s.name)!.labels;
      expect(Object.keys(s.labels).join(",")).toBe(declared);
    }
  });

  test("values from the canned dump: 2 peers, 1 active (handshake 30 s ago), bytes and handshake per peer", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const before = Math.floor(Date.now() / 1000);
    const { samples } = parseExposition((await http(agent.port, "GET", "/metrics")).body);
    const iface = { interface: "lo" };
    expect(one(samples, "wireguard_peers", iface)).toBe(2);
    expect(one(samples, "wireguard_peers_total", iface)).toBe(2);
    expect(one(samples, "wireguard_peers_active", iface)).toBe(1);
    const [active, idle] = fx.peers;
    const peer = (p: typeof active) => ({ interface: "lo", public_key: p.publicKey, allowed_ips: p.allowedIps });
    expect(one(samples, "wireguard_received_bytes_total", peer(active))).toBe(1500);
    expect(one(samples, "wireguard_sent_bytes_total", peer(active))).toBe(2500);
    const handshake = one(samples, "wireguard_latest_handshake_seconds", peer(active));
    expect(Math.abs(handshake - (before - 30))).toBeLessThanOrEqual(2);
    expect(one(samples, "wireguard_latest_handshake_seconds", peer(idle))).toBe(0);
    expect(one(samples, "wireguard_sent_bytes_total", peer(idle))).toBe(0);
    expect(one(samples, "wg_ha_sync_skipped_files")).toBe(1);
    expect(one(samples, "wg_ha_sync_age_seconds")).toBeLessThan(5);
    expect(one(samples, "wg_ha_healthy")).toBe(1);
    expect(one(samples, "wg_ha_draining")).toBe(0);
    for (const check of ["interface", "public_key", "sync", "forwarding", "draining"]) expect(one(samples, "wg_ha_check_ok", { check })).toBe(1);
  });

  test("prometheus_wireguard_exporter compatibility: names, types and labels interface,public_key,allowed_ips", async () => {
    const table = metricTable().prometheus;
    const byName = Object.fromEntries(table.map((m) => [m.name, m]));
    expect(byName.wireguard_sent_bytes_total).toMatchObject({ type: "counter", labels: "interface,public_key,allowed_ips", help: "Bytes sent to the peer" });
    expect(byName.wireguard_received_bytes_total).toMatchObject({ type: "counter", labels: "interface,public_key,allowed_ips", help: "Bytes received from the peer" });
    expect(byName.wireguard_latest_handshake_seconds).toMatchObject({ type: "gauge", labels: "interface,public_key,allowed_ips" });
    expect(byName.wireguard_peers_total).toMatchObject({ type: "gauge", labels: "interface" });
  });

  test("active = handshake within 180 s (179 s ago counts, 200 s does not); a peer without allowed IPs keeps the raw (none)", async () => {
    const fx = makeFixture();
    fx.setPeers([
      { publicKey: wgKey(), allowedIps: "(none)", handshake: "NOW-179", rx: 1, tx: 2 },
      { publicKey: wgKey(), allowedIps: "10.100.0.9/32", handshake: "NOW-200", rx: 0, tx: 0 },
    ]);
    const agent = await startAgent(fx);
    const { samples } = parseExposition((await http(agent.port, "GET", "/metrics")).body);
    expect(one(samples, "wireguard_peers_active", { interface: "lo" })).toBe(1);
    expect(one(samples, "wireguard_sent_bytes_total", { allowed_ips: "(none)" })).toBe(2);
  });

  test("one `wg show dump` per scrape, and the scrape's health needs no extra `wg` call", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    for (let i = 0; i < 3; i++) await http(agent.port, "GET", "/metrics");
    expect(fx.wgCalls()).toEqual(["show lo dump", "show lo dump", "show lo dump"]);
  });

  test("interface gone: no peer metrics (unknown, not zero), wg_ha_healthy 0 and the failing check named", async () => {
    const fx = makeFixture();
    writeFileSync(fx.path("wg/fail"), "");
    const agent = await startAgent(fx);
    const r = await http(agent.port, "GET", "/metrics");
    expect(r.status).toBe(200);
    const { samples } = parseExposition(r.body);
    expect(samples.filter((s) => s.name.startsWith("wireguard_"))).toEqual([]);
    expect(one(samples, "wg_ha_healthy")).toBe(0);
    expect(one(samples, "wg_ha_check_ok", { check: "public_key" })).toBe(0);
    expect(one(samples, "wg_ha_check_ok", { check: "interface" })).toBe(1);
  });

  test("draining shows as wg_ha_draining 1 and wg_ha_healthy 0; HEAD /metrics has no body", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    await http(agent.port, "POST", "/drain", "test");
    const { samples } = parseExposition((await http(agent.port, "GET", "/metrics")).body);
    expect(one(samples, "wg_ha_draining")).toBe(1);
    expect(one(samples, "wg_ha_healthy")).toBe(0);
    const head = await http(agent.port, "HEAD", "/metrics");
    expect([head.status, head.body]).toEqual([200, ""]);
  });

  test("no successful sync yet: sync age counts from the agent's start", async () => {
    const fx = makeFixture();
    fx.setSyncStatus(undefined);
    const agent = await startAgent(fx);
    await new Promise((r) => setTimeout(r, 1200));
    const { samples } = parseExposition((await http(agent.port, "GET", "/metrics")).body);
    const age = one(samples, "wg_ha_sync_age_seconds");
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThan(10);
    expect(one(samples, "wg_ha_sync_skipped_files")).toBe(0);
  });
});
