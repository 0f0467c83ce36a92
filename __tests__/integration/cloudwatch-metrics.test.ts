/**
 * What CloudWatch would receive from a running server: one real server of the local cluster with
 * its health agent publishing EMF every second into WG_HA_EMF_FILE (the file the CloudWatch agent
 * ships on EC2), a real client connected through the LB. The lines are valid EMF in METRICS_NAMESPACE
 * with the names the dashboard and alarms use; the client shows as ActivePeers = 1 within one
 * publish interval of its handshake; after it stops it still counts until 180 s past its last
 * handshake and no longer after that: proved with an injected clock (the agent run with time.time()
 * moved, __tests__/cloudwatch/fixtures/clock-shift.py) against the real interface, not by waiting.
 * The CloudWatch agent's procstat patterns select exactly the server's real processes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run, topology, waitFor, type LocalCluster } from "../../scripts/lib/cluster";
import { AGENT_METRICS, METRICS_NAMESPACE } from "../../stacks/metrics";
import { TEMPLATES_DIR } from "../../stacks/user-data";
import { describeIntegration, failureTracker, measure, printMeasurements, runPrefix, startCluster, stopCluster } from "./helpers";

const PREFIX = runPrefix("itcw");
const INTERVAL_SECONDS = 1;
const CLOCK_SHIFT = resolve(__dirname, "../cloudwatch/fixtures/clock-shift.py");
const AGENT = process.env.WG_HA_TEST_AGENT ?? join(TEMPLATES_DIR, "agent", "wg-ha-agent.py");

type Emf = Record<string, any>;

/** The EMF documents in a file (each line one JSON document with an _aws key). */
function emfLines(file: string): Emf[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

describeIntegration("CloudWatch metrics of a running server (EMF lines, active peers, procstat patterns)", () => {
  let cluster: LocalCluster | undefined;
  const t = failureTracker();
  const c = () => cluster!;
  let dir = "";
  let emfFile = "";
  let handshake = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wg-ha-it-cwm-"));
    emfFile = join(dir, "metrics.emf");
    cluster = await startCluster(PREFIX, {
      servers: 1,
      extraSettings: { WG_HA_EMF: "1", WG_HA_EMF_INTERVAL_SECONDS: String(INTERVAL_SECONDS), WG_HA_EMF_FILE: emfFile },
    });
  }, 90_000);

  afterAll(() => {
    stopCluster(cluster, t.failed);
    if (dir && !t.failed) rmSync(dir, { recursive: true, force: true });
    printMeasurements("cloudwatch-metrics.test.ts");
  });

  /** The agent run once in the server's namespace with its clock moved by `shiftSeconds`. */
  async function emfAt(shiftSeconds: number): Promise<Emf> {
    const once = join(dir, `once-${Date.now()}.emf`);
    const r = await c().serverExec(1, "python3", [CLOCK_SHIFT, String(shiftSeconds), AGENT, "--emf-once"], { env: { WG_HA_EMF_FILE: once }, timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`agent --emf-once: ${r.stderr}`);
    const lines = emfLines(once);
    expect(lines).toHaveLength(1);
    return lines[0];
  }

  test(
    "the agent appends one valid EMF document per interval: namespace, dimensions and metrics as the stack charts them",
    t.wrap(async () => {
      await waitFor("three EMF lines", () => emfLines(emfFile).length >= 3, 10_000, 100);
      const lines = emfLines(emfFile);
      const { namespace, environmentDimension, ...names } = AGENT_METRICS;
      for (const doc of lines) {
        const directive = doc._aws.CloudWatchMetrics[0];
        expect(directive.Namespace).toBe(namespace);
        expect(directive.Namespace).toBe(METRICS_NAMESPACE);
        expect(directive.Dimensions).toEqual([[environmentDimension], [environmentDimension, "InstanceId"]]);
        expect(directive.Metrics.map((m: { Name: string }) => m.Name).sort()).toEqual(Object.values(names).sort());
        expect(doc[environmentDimension]).toBe(`local-${PREFIX}`);
        for (const name of Object.values(names)) expect(typeof doc[name]).toBe("number");
      }
      expect(lines.at(-1)).toMatchObject({ Peers: 0, ActivePeers: 0, Healthy: 1 });
      const gaps = lines.slice(1).map((d, i) => (d._aws.Timestamp - lines[i]._aws.Timestamp) / 1000);
      for (const gap of gaps) expect(Math.abs(gap - INTERVAL_SECONDS)).toBeLessThan(0.5);
    }),
    20_000,
  );

  test(
    "a connected client is ActivePeers = 1 within one publish interval of its handshake; bytes move",
    t.wrap(async () => {
      const { config } = await c().addClient("alice", { server: 1 });
      await waitFor("alice on s1", () => (c().syncStatus(1)?.peers ?? 0) >= 1, 5_000, 50);
      await waitFor("a line with Peers = 1", () => emfLines(emfFile).some((d) => d.Peers === 1), 5_000, 100);
      await c().connectClient("alice", config);
      handshake = (await c().waitForHandshake("alice", 15_000)) ?? 0;
      expect(handshake).toBeGreaterThan(0);
      const ping = await c().clientExec("alice", "ping", ["-c", "3", "-i", "0.2", "-n", "-W", "2", topology.SERVER_TUNNEL_ADDRESS], { timeoutMs: 10_000 });
      expect(ping.code).toBe(0);
      // The first document sampled after the handshake (second resolution: + 1 s) counts alice.
      const first = await waitFor(
        "a line after the handshake",
        () => emfLines(emfFile).find((d) => d._aws.Timestamp >= (handshake + 1) * 1000),
        10_000,
        50,
      );
      expect(first).toMatchObject({ Peers: 1, ActivePeers: 1, Healthy: 1 });
      const delay = first._aws.Timestamp / 1000 - handshake;
      measure("handshake -> first EMF line with ActivePeers = 1", delay);
      expect(delay).toBeLessThanOrEqual(1 + INTERVAL_SECONDS + 0.5);
      const moved = await waitFor("a line with bytes", () => emfLines(emfFile).find((d) => d.BytesReceived > 0 && d.BytesSent > 0), 10_000, 100);
      expect(moved.ActivePeers).toBe(1);
      expect(emfLines(emfFile).at(-1)!.SyncAgeSeconds).toBeLessThan(10);
    }),
    60_000,
  );

  test(
    "after the client stops it counts until 180 s past its last handshake, then not (injected clock)",
    t.wrap(async () => {
      await c().disconnectClient("alice");
      const stoppedAt = Date.now() / 1000;
      // The server's own view of alice's latest handshake (what the agent compares with now).
      const dump = (await c().wgShow(1, "latest-handshakes")).stdout.trim().split(/\s+/);
      const last = Number(dump[1]);
      expect(last).toBeGreaterThanOrEqual(handshake);
      expect(last).toBeLessThanOrEqual(stoppedAt);
      // Real clock, right after the stop: still active (the 3-minute window has not passed).
      const seen = emfLines(emfFile).length;
      const now = await waitFor("a line after the stop", () => emfLines(emfFile).slice(seen)[0], 5_000, 50);
      expect(now).toMatchObject({ Peers: 1, ActivePeers: 1 });
      // Injected clock: 2 s before the end of the window (margin for the interpreter start), then 1 s after it.
      const shift = (secondsAfterHandshake: number) => last + secondsAfterHandshake - Date.now() / 1000;
      const before = await emfAt(shift(178));
      const after = await emfAt(shift(181));
      expect(before).toMatchObject({ Peers: 1, ActivePeers: 1 });
      expect(after).toMatchObject({ Peers: 1, ActivePeers: 0 });
      expect(after._aws.Timestamp / 1000 - last).toBeGreaterThanOrEqual(180);
      // ... so 3 minutes after it stopped (its last handshake is no later than that) it is gone.
      expect(await emfAt(stoppedAt + 180 + 1 - Date.now() / 1000)).toMatchObject({ ActivePeers: 0 });
    }),
    60_000,
  );

  test(
    "the CloudWatch agent's procstat patterns select exactly the sync loop, the health agent and wireguard-go",
    t.wrap(async () => {
      const text = readFileSync(join(TEMPLATES_DIR, "cloudwatch", "amazon-cloudwatch-agent.jsonc"), "utf8");
      const config = JSON.parse(text.split("\n").filter((l) => !/^\s*\/\//.test(l)).join("\n"));
      const patterns: string[] = config.metrics.metrics_collected.procstat.map((p: { pattern: string }) => p.pattern);
      const pids = (await run("ip", ["netns", "pids", c().server(1).namespace])).stdout.split("\n").filter(Boolean);
      const cmdlines = pids
        .map((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
          } catch {
            return ""; // exited meanwhile
          }
        })
        .filter(Boolean);
      const matches = patterns.map((p) => cmdlines.filter((cmd) => new RegExp(p).test(cmd)));
      // The harness runs templates/bin/wg-ha-sync and the agent from the checkout, wireguard-go as bootstrap does.
      expect(matches[0].length).toBeGreaterThanOrEqual(1);
      expect(new Set(matches[0])).toEqual(new Set([`bash ${join(TEMPLATES_DIR, "bin", "wg-ha-sync")}`]));
      expect(matches[1]).toEqual([expect.stringMatching(/(^|\/)python3 /)]); // python3 may be a full path (pyenv, /usr/bin)
      expect(matches[1][0].endsWith(` ${resolve(AGENT)}`)).toBe(true);
      expect(matches[2]).toEqual([`wireguard-go ${c().server(1).interface}`]);
      const unmatched = cmdlines.filter((cmd) => !patterns.some((p) => new RegExp(p).test(cmd)));
      expect(unmatched.filter((cmd) => /wg-ha|wireguard/.test(cmd))).toEqual([]);
    }),
    20_000,
  );
});
