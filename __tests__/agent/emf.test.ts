/**
 * CloudWatch embedded metric format: one JSON line per interval (stdout, or WG_HA_EMF_FILE),
 * valid per the EMF specification, namespace and dimension sets as in the stack, byte counts as
 * deltas between lines, instance id from IMDS on AWS and the hostname elsewhere.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { METRICS_NAMESPACE } from "../../stacks/metrics";
import { closeServers, makeFixture, metricTable, removeFixtures, runAgent, runAgentAsync, startAgent, startFakeAws, stopAgents, waitFor, type Fixture } from "./harness";

jest.setTimeout(20_000);
afterEach(async () => {
  await stopAgents();
  await closeServers();
  removeFixtures();
});

/** Checks a line against the EMF specification and returns the document. */
function emfDocument(line: string): Record<string, any> {
  const doc = JSON.parse(line);
  const meta = doc._aws;
  expect(Number.isInteger(meta.Timestamp)).toBe(true);
  expect(Math.abs(meta.Timestamp - Date.now())).toBeLessThan(10_000);
  expect(meta.CloudWatchMetrics).toHaveLength(1);
  const directive = meta.CloudWatchMetrics[0];
  expect(Object.keys(directive).sort()).toEqual(["Dimensions", "Metrics", "Namespace"]);
  expect(directive.Metrics.length).toBeLessThanOrEqual(100);
  for (const set of directive.Dimensions) {
    expect(set.length).toBeLessThanOrEqual(30);
    for (const d of set) expect(typeof doc[d]).toBe("string"); // target members: dimension values are strings
  }
  for (const m of directive.Metrics) {
    expect(Object.keys(m).sort()).toEqual(["Name", "Unit"]);
    expect(typeof doc[m.Name]).toBe("number");
  }
  return doc;
}

const emfLines = (text: string) => text.split("\n").filter((l) => l.startsWith("{"));

describe("CloudWatch EMF", () => {
  test("--emf-once: one valid line; namespace, dimensions and metrics as the table and the stack say", () => {
    const fx = makeFixture();
    const r = runAgent(fx, ["--emf-once"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    const doc = emfDocument(r.stdout.trim());
    const table = metricTable().cloudwatch;
    const directive = doc._aws.CloudWatchMetrics[0];
    expect(table.namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Dimensions).toEqual([["Environment"], ["Environment", "InstanceId"]]);
    expect(directive.Dimensions).toEqual(table.dimensions);
    expect(directive.Metrics).toEqual(table.metrics.map((m) => ({ Name: m.name, Unit: m.unit })));
    expect(table.metrics.map((m) => m.name)).toEqual(["Peers", "ActivePeers", "BytesReceived", "BytesSent", "SyncAgeSeconds", "Healthy"]);
    // --emf-once has no earlier sample: byte counts are the interface's totals.
    expect(doc).toMatchObject({ Environment: "test", InstanceId: hostname(), Peers: 2, ActivePeers: 1, BytesReceived: 1500, BytesSent: 2500, Healthy: 1, Failing: [] });
    expect(doc.SyncAgeSeconds).toBeLessThan(5);
    expect(r.stdout).not.toContain(fx.privateKey);
  });

  test("an unhealthy server still publishes (the 'no data' alarm means the agent is gone)", () => {
    const fx = makeFixture();
    writeFileSync(fx.path("wg/fail"), "");
    const r = runAgent(fx, ["--emf-once"]);
    expect(r.status).toBe(0);
    expect(emfDocument(r.stdout.trim())).toMatchObject({ Peers: 0, ActivePeers: 0, BytesReceived: 0, BytesSent: 0, Healthy: 0, Failing: ["public_key"] });
  });

  test("daemon (WG_HA_EMF=1): a line per interval; bytes are deltas since the last line; a counter reset counts from zero", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx, { WG_HA_EMF: "1", WG_HA_EMF_INTERVAL_SECONDS: "0.3" });
    const first = emfDocument(await waitFor("the first EMF line", () => emfLines(agent.stdout())[0]));
    // The baseline is taken at start: nothing moved since.
    expect(first).toMatchObject({ Peers: 2, ActivePeers: 1, BytesReceived: 0, BytesSent: 0, Healthy: 1 });
    const bump = (f: Fixture, rx: number, tx: number) =>
      f.setPeers(f.peers.map((p, i) => (i === 0 ? { ...p, rx, tx } : p)));
    const seen = emfLines(agent.stdout()).length;
    bump(fx, 1500 + 1000, 2500 + 4000);
    const moved = await waitFor("a line with the new bytes", () => emfLines(agent.stdout()).slice(seen).map(emfDocument).find((d) => d.BytesReceived > 0));
    expect(moved).toMatchObject({ BytesReceived: 1000, BytesSent: 4000 });
    // Interface re-created: counters restart below the last sample.
    const seen2 = emfLines(agent.stdout()).length;
    bump(fx, 10, 20);
    const reset = await waitFor("a line after the reset", () => emfLines(agent.stdout()).slice(seen2).map(emfDocument).find((d) => d.BytesReceived > 0));
    expect(reset).toMatchObject({ BytesReceived: 10, BytesSent: 20 });
    // Between changes, lines report zero.
    const lines = emfLines(agent.stdout()).map(emfDocument);
    expect(lines.filter((d) => d.BytesReceived > 0)).toHaveLength(2);
    // Logs stay on stderr: stdout carries only EMF lines.
    expect(agent.stdout().split("\n").filter(Boolean).every((l) => l.startsWith("{"))).toBe(true);
  });

  test("WG_HA_EMF_FILE: lines are appended to the file instead of stdout", async () => {
    const fx = makeFixture();
    const file = fx.path("local/metrics.emf");
    const agent = await startAgent(fx, { WG_HA_EMF: "1", WG_HA_EMF_INTERVAL_SECONDS: "0.2", WG_HA_EMF_FILE: file });
    await waitFor("two lines in the file", () => existsSync(file) && emfLines(readFileSync(file, "utf8")).length >= 2);
    emfLines(readFileSync(file, "utf8")).forEach(emfDocument);
    expect(agent.stdout()).toBe("");
  });

  test("--emf-once with WG_HA_EMF_FILE: the line is appended to the file, which rotates to .1 past 5 MiB", () => {
    const fx = makeFixture();
    const file = fx.path("local/metrics.emf");
    writeFileSync(file, "earlier line\n");
    const once = () => runAgent(fx, ["--emf-once"], { WG_HA_EMF_FILE: file });
    const r = once();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe("earlier line");
    emfDocument(lines[1]);
    const big = `${"x".repeat(1023)}\n`.repeat(5 * 1024 + 1);
    writeFileSync(file, big);
    expect(once().status).toBe(0);
    expect(readFileSync(`${file}.1`, "utf8")).toBe(big);
    expect(emfLines(readFileSync(file, "utf8"))).toHaveLength(1);
  });

  test("without WG_HA_EMF and WG_HA_AWS=0 nothing is published", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx, { WG_HA_EMF_INTERVAL_SECONDS: "0.1" });
    await new Promise((r) => setTimeout(r, 500));
    expect(agent.stdout()).toBe("");
  });

  test("WG_HA_AWS=1: the instance id comes from IMDSv2", async () => {
    const aws = await startFakeAws();
    const fx = makeFixture({ settings: { WG_HA_AWS: "1", WG_HA_IMDS_URL: aws.url, WG_HA_ASG_NAME: "wg-ha-test-servers", WG_HA_LIFECYCLE_HOOK: "wg-ha-test-drain" } });
    const r = await runAgentAsync(fx, ["--emf-once"]);
    expect(r.status).toBe(0);
    expect(emfDocument(r.stdout.trim()).InstanceId).toBe(aws.instanceId);
    expect(aws.imdsCalls().map((c) => `${c.method} ${c.url}`)).toEqual(["PUT /latest/api/token", "GET /latest/meta-data/instance-id"]);
  });
});
