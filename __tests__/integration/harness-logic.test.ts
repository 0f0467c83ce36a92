/** The harness's pure parts: NLB-like health thresholds, target choice, LB ruleset, names, configs. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseTarget, destroyCluster, recordProbe, renderLbRuleset, topology, type TargetHealth } from "../../scripts/lib/cluster";
import { initialHealth } from "../../scripts/lib/cluster/lb";

const ok = { ok: true, code: 200 };
const bad = { ok: false, code: 503 };

describe("health thresholds (healthy after 2, unhealthy after 2)", () => {
  const step = (h: TargetHealth, probe: typeof ok) => recordProbe(h, probe, 2, 2);

  test("a new target needs 2 good probes", () => {
    const once = step(initialHealth(1), ok);
    expect(once.healthy).toBe(false);
    expect(step(once, ok).healthy).toBe(true);
  });

  test("one failure is tolerated, two make it unhealthy, a success resets the count", () => {
    let h = step(step(initialHealth(1), ok), ok);
    h = step(h, bad);
    expect(h.healthy).toBe(true);
    h = step(h, ok);
    h = step(h, bad);
    expect(h.healthy).toBe(true);
    h = step(h, bad);
    expect(h).toMatchObject({ healthy: false, fail: 2, lastCode: 503 });
  });
});

describe("chooseTarget", () => {
  const h = (index: number, healthy: boolean): TargetHealth => ({ index, healthy, ok: 0, fail: 0 });
  test.each([
    ["keeps a healthy current target (sticky)", 2, [h(1, true), h(2, true)], 2],
    ["moves to the lowest healthy one", 1, [h(1, false), h(2, true), h(3, true)], 2],
    ["keeps the current one when none is healthy (fail open)", 3, [h(1, false), h(3, false)], 3],
    ["starts on the lowest index without a current one", undefined, [h(2, false), h(1, false)], 1],
  ] as const)("%s", (_name, current, health, want) => {
    expect(chooseTarget(current, health)).toBe(want);
  });
});

test("the LB ruleset DNATs the endpoint to one server and blocks flows opened by servers", () => {
  const rules = renderLbRuleset("xx_lb", 2);
  expect(rules).toContain("table ip xx_lb\ndelete table ip xx_lb\n");
  expect(rules).toContain(`ip daddr ${topology.ENDPOINT_ADDRESS} udp dport 51820 dnat to 10.40.2.2:51820`);
  expect(rules).toMatch(/iifname "s\*" oifname "c\*" ct state new drop/);
});

describe("topology", () => {
  test("names stay within 15 characters and carry the prefix", () => {
    expect(topology.serverInterface("wh123456", 50)).toBe("wh123456s50");
    expect(topology.clientInterface("wh123456", 250).length).toBeLessThanOrEqual(15);
    expect(topology.serverNamespace("wh123456", 1)).toBe("wh123456-s1");
    expect(() => topology.checkPrefix("Bad-prefix")).toThrow(/2-8 lower-case/);
    expect(() => topology.serverUnderlay(0)).toThrow(/1\.\.50/);
    expect(topology.randomPrefix()).toMatch(topology.PREFIX_PATTERN);
  });

  test("client configs lose their DNS line for wg-quick in a namespace, nothing else", () => {
    const config = "[Interface]\nPrivateKey = k\nAddress = 10.100.0.2/32\nDNS = 10.40.0.2\n\n[Peer]\nPublicKey = p\n";
    expect(topology.clientConfigForNamespace(config)).toBe("[Interface]\nPrivateKey = k\nAddress = 10.100.0.2/32\n\n[Peer]\nPublicKey = p\n");
    expect(() => topology.clientConfigForNamespace("[Interface]\nAddress = x\n")).toThrow(/no PrivateKey/);
  });

  test("server settings inject paths and refuse values that would break the file", () => {
    const text = topology.renderServerSettings({ prefix: "ab", index: 3, storeDir: "/s", localDir: "/l", syncIntervalSeconds: 1, extra: { WG_HA_KEEPALIVE: "10" } });
    expect(text).toMatch(/^WG_INTERFACE=abs3$/m);
    expect(text).toMatch(/^WG_HA_STATE_DIR=\/s$/m);
    expect(text).toMatch(/^WG_HA_KEEPALIVE=10$/m);
    expect(() => topology.renderServerSettings({ prefix: "ab", index: 1, storeDir: "/s\n", localDir: "/l", syncIntervalSeconds: 1 })).toThrow(/bad setting/);
  });
});

test("teardown of a directory without a cluster is a no-op", () => {
  const dir = mkdtempSync(join(tmpdir(), "wg-ha-none-"));
  try {
    expect(destroyCluster(dir)).toEqual({ namespaces: [], processes: 0, sockets: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
