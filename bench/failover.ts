/**
 * npm run bench:failover [-- --runs N] [--interval S] [--threshold K]
 *
 * On a local cluster (scripts/lib/cluster, the real templates and agent; LB health interval 5 s x
 * unhealthy threshold 2 like the NLB), measures:
 *   - failover: an active client pinging every 0.2 s; the LB's target is killed (SIGKILL + link
 *     down); outage = kill -> first reply; and an idle client that starts sending 1 s after the kill;
 *   - propagation: `wg-client add` on a server the LB does not target -> peer applied on the target
 *     -> a new client's handshake through the LB;
 *   - peers added while a client talks: pings lost and re-handshakes of the existing client.
 * Writes the "## Failover and propagation" section of docs/benchmarks.md.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { integer, parseFlags, runMain, seconds } from "../scripts/lib/cli";
import { LocalCluster, startPinger, topology, waitFor } from "../scripts/lib/cluster";
import { fmt, machine, stats, writeSection } from "./cluster-report";

const WG_FLOOR_SECONDS = 15; // KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: an active client's re-handshake

const USAGE = `Usage: npm run bench:failover -- [--runs N] [--interval S] [--threshold K]   (as root)

Measures failover and peer propagation on a local cluster and writes the "Failover and
propagation" section of docs/benchmarks.md.

Options:
  --runs N        failovers to time (default 5)
  --interval S    seconds between the LB's health probes (default 5, as the NLB)
  --threshold K   failed probes before a server is unhealthy (default 2)
  -h, --help      show this help
`;

const now = () => Date.now() / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    runs: { type: "string", default: "5" },
    interval: { type: "string", default: "5" },
    threshold: { type: "string", default: "2" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const runs = integer(1, 100)(values.runs, "--runs");
  const interval = seconds(0.2, 300)(values.interval, "--interval");
  const threshold = integer(2, 10)(values.threshold, "--threshold");
  const stateDir = mkdtempSync(join(tmpdir(), "wg-ha-bench-failover-"));
  process.stderr.write(`bench:failover: ${runs} runs, health ${interval} s x ${threshold}, state in ${stateDir}\n`);
  const cluster = await LocalCluster.up({ stateDir, prefix: "bfo", servers: 2, healthIntervalSeconds: interval, unhealthyThreshold: threshold, healthyThreshold: 2 });
  const cleanup = () => cluster.down();
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const ping = (client: string, w = 1) =>
      cluster.clientExec(client, "ping", ["-c", "1", "-n", "-W", String(w), topology.SERVER_TUNNEL_ADDRESS], { timeoutMs: (w + 2) * 1000 });
    const connect = async (name: string) => {
      const target = cluster.lbTarget()!;
      const { config } = await cluster.addClient(name, { server: target });
      await waitFor(`${name} applied`, () => (cluster.syncStatus(target)?.peers ?? 0) >= cluster.state.clients.length + 1, 10_000);
      await cluster.connectClient(name, config);
      await waitFor(`${name} answers`, async () => (await ping(name)).code === 0, 20_000);
    };
    await connect("active");
    await connect("idle");

    // ---- failover ------------------------------------------------------------------------------
    const active: number[] = [];
    const idleFromKill: number[] = [];
    const idleFromSend: number[] = [];
    const detection: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const target = cluster.lbTarget()!;
      await sleep(3000); // the idle client is idle: no data for a while (keepalives only)
      const pinger = startPinger(cluster.client("active").namespace, topology.SERVER_TUNNEL_ADDRESS, 0.2, 120);
      try {
        await pinger.firstReplyAfter(now() + 1, 10_000);
        const killedAt = now();
        await cluster.killServer(target);
        const killDone = now();
        await sleep(1000);
        const idleStart = now();
        const idlePinger = startPinger(cluster.client("idle").namespace, topology.SERVER_TUNNEL_ADDRESS, 0.2, 120);
        try {
          const switched = await cluster.waitForTarget((s) => s.target !== target, 60_000);
          const reply = await pinger.firstReplyAfter(killDone, 90_000);
          const idleReply = await idlePinger.firstReplyAfter(idleStart, 90_000);
          detection.push(switched.updatedAt - killedAt);
          active.push(reply - killedAt);
          idleFromKill.push(idleReply - killedAt);
          idleFromSend.push(idleReply - idleStart);
          process.stderr.write(
            `run ${run}: LB moved after ${fmt(switched.updatedAt - killedAt)} s, active outage ${fmt(reply - killedAt)} s, idle client ${fmt(idleReply - idleStart)} s after its first packet\n`,
          );
        } finally {
          await idlePinger.stop();
        }
      } finally {
        await pinger.stop();
      }
      await cluster.startServer(target); // back in service for the next run (the LB stays where it is)
      await cluster.waitForTarget((s) => s.servers.every((h) => h.healthy), 60_000);
    }

    // ---- propagation ---------------------------------------------------------------------------
    const applied: number[] = [];
    const handshake: number[] = [];
    const handshakeAfterApplied: number[] = [];
    for (let i = 1; i <= 2 * runs; i++) {
      // Odd runs: the client comes up at once (it races B's sync; a lost race costs WireGuard's
      // 5 s handshake retry). Even runs: it comes up once B has applied the peer.
      const immediate = i % 2 === 1;
      const target = cluster.lbTarget()!;
      const other = cluster.state.servers.find((s) => s.index !== target)!.index;
      const name = `prop${i}`;
      const before = (await cluster.wgShow(target, "peers")).stdout.trim().split("\n").length;
      const t0 = now();
      const { config } = await cluster.addClient(name, { server: other });
      const firstReply = async () => {
        await cluster.connectClient(name, config);
        const p = startPinger(cluster.client(name).namespace, topology.SERVER_TUNNEL_ADDRESS, 0.2, 60);
        try {
          return await p.firstReplyAfter(t0, 30_000);
        } finally {
          await p.stop();
        }
      };
      const connecting = immediate ? firstReply() : undefined;
      await waitFor(`${name} on s${target}`, async () => (await cluster.wgShow(target, "peers")).stdout.trim().split("\n").length > before, 10_000, 20);
      applied.push(now() - t0);
      if (connecting) handshake.push((await connecting) - t0);
      else handshakeAfterApplied.push((await firstReply()) - t0);
      await cluster.disconnectClient(name);
    }

    // ---- peers added while a client talks --------------------------------------------------------
    const target = cluster.lbTarget()!;
    const other = cluster.state.servers.find((s) => s.index !== target)!.index;
    const handshakeBefore = await cluster.clientHandshake("active");
    const peersBefore = cluster.syncStatus(target)?.peers ?? 0;
    const pinger = startPinger(cluster.client("active").namespace, topology.SERVER_TUNNEL_ADDRESS, 0.2, 120);
    const started = now();
    const adds = 50;
    for (let i = 0; i < adds; i++) await cluster.wgClient(other, ["add", `bulk${i}`]);
    await waitFor("all peers applied", () => (cluster.syncStatus(target)?.peers ?? 0) >= peersBefore + adds, 30_000);
    await sleep(2000);
    await pinger.stop();
    const elapsed = now() - started;
    const expected = Math.floor(elapsed / 0.2);
    const lost = Math.max(0, expected - pinger.replies.length);
    const handshakeAfter = await cluster.clientHandshake("active");

    const a = stats(active);
    const d = stats(detection);
    const iK = stats(idleFromKill);
    const iS = stats(idleFromSend);
    const p = stats(applied);
    const h = stats(handshake);
    const h2 = stats(handshakeAfterApplied);
    const row = (what: string, s: ReturnType<typeof stats>, extra = "") => `| ${what} | ${fmt(s.min)} | ${fmt(s.median)} | ${fmt(s.max)} | ${s.n} |${extra}`;
    writeSection(
      "Failover and propagation",
      `
Command: \`npm run bench:failover -- --runs ${runs} --interval ${interval} --threshold ${threshold}\` (root; ${await machine()}).
Local cluster (\`scripts/lib/cluster\`, the harness behind \`./scripts/local-cluster.ts\` and the integration tests): 2 servers running the real templates and agent in network
namespaces, nftables LB switched by a health poller every ${interval} s, unhealthy after ${threshold}
failures (NLB-like: detected ${interval * (threshold - 1)}-${interval * threshold} s after the kill, by probe phase), moved flows' conntrack entries deleted. The
LB target is killed (SIGKILL of everything in its namespace + link down); the client pings every 0.2 s.

| measurement (seconds) | min | median | max | runs |
|---|---|---|---|---|
${row("LB moves to the other server (kill -> switch)", d)}
${row("**active client outage** (kill -> first reply)", a)}
${row("idle client, starts sending 1 s after the kill: first packet -> first reply", iS)}
${row("idle client: kill -> first reply", iK)}
${row("propagation: \`wg-client add\` on A -> peer applied on B (the LB target)", p)}
${row("propagation: \`wg-client add\` on A -> first reply via B, client up once B applied", h2)}
${row("propagation: \`wg-client add\` on A -> first reply via B, client up at once", h)}

Active client outage: median ${fmt(a.median)} s, ${fmt(a.median - WG_FLOOR_SECONDS)} s above the ${WG_FLOOR_SECONDS} s
WireGuard floor (an active client re-handshakes 15 s after it last heard the server: KEEPALIVE 10 s +
REKEY_TIMEOUT 5 s, + up to 1/3 s jitter); the LB had moved long before (${fmt(d.median)} s), so the
floor, not detection, sets the outage. The idle client's first packets reach the new server, which
drops them (unknown session); its timer then fires 15 s after its first unanswered packet.
Propagation is the time to "applied on B" (the sync loop polls the version marker every second).
A client that comes up the instant \`wg-client add\` returns races that sync: when its first
handshake initiation reaches B before B has the peer, WireGuard retries only after REKEY_TIMEOUT
(5 s), which the last row shows; a real user copying the config to a device is slower than the sync.

Peers added while a client talks: ${adds} \`wg-client add\` on A while the active client pinged B
every 0.2 s for ${fmt(elapsed, 1)} s: ${lost} pings lost, ${handshakeAfter === handshakeBefore ? "no new handshake" : "its session re-keyed (normal 2-minute rekey, not a drop)"}
(\`wg syncconf\` changes only the peers that differ: existing sessions are untouched).
`,
    );
    process.stderr.write(`bench:failover: active outage median ${fmt(a.median)} s; propagation median ${fmt(p.median)} s; written to docs/benchmarks.md\n`);
  } finally {
    cleanup();
  }
}

runMain("npm run bench:failover --", main);
