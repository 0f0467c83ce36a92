/**
 * npm run bench:peers
 *
 * One local-cluster server (the real wg-ha-sync loop, userspace wireguard-go) applying 1,000 and
 * then 10,000 peers written to the shared store: wall time from the version bump to the applied
 * status, CPU of the sync loop (bash + awk + wg) and of wireguard-go; then the cost of polls that
 * find nothing new (CPU over an idle minute), next to one no-op `wg syncconf` of the same config.
 * Writes the "## Peer scale" section of docs/benchmarks.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags, runMain } from "../scripts/lib/cli";
import { LocalCluster, run, waitFor } from "../scripts/lib/cluster";
import { cpuSeconds, fmt, machine, writeSection } from "./cluster-report";

const IDLE_SECONDS = 30;

function writePeers(storeDir: string, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const host = 2 + i; // 10.100.0.2 ... inside 10.100.0.0/18
    const address = `10.100.${Math.floor(host / 256)}.${host % 256}/32`;
    const key = randomBytes(32).toString("base64");
    writeFileSync(join(storeDir, "peers", `p${i}.peer`), `name=p${i}\npublic_key=${key}\naddress=${address}\ncreated_at=2026-01-01T00:00:00Z\ncreated_by=bench\n`);
  }
}

const USAGE = `Usage: npm run bench:peers   (as root)

Applies 1,000 and then 10,000 peers on one local-cluster server and writes the "Peer scale"
section of docs/benchmarks.md.
`;

async function main(argv: readonly string[]): Promise<void> {
  if (parseFlags(argv, { help: { type: "boolean", short: "h" } }).values.help) return void process.stdout.write(USAGE);
  const stateDir = mkdtempSync(join(tmpdir(), "wg-ha-bench-peers-"));
  const cluster = await LocalCluster.up({
    stateDir,
    prefix: "bps",
    servers: 1,
    healthIntervalSeconds: 5,
    extraSettings: { WG_HA_CLIENT_CIDR: "10.100.0.0/18", WG_HA_SERVER_ADDRESS: "10.100.0.1/18", WG_HA_SYNC_STALE_SECONDS: "600" },
  });
  try {
    const server = cluster.server(1);
    const syncPid = server.processes.find((p) => p.what.startsWith("wg-ha-sync"))!.pid;
    const wgPid = server.processes.find((p) => p.what.startsWith("wireguard-go"))!.pid;
    const rows: string[] = [];
    let written = 0;
    let confFile = "";
    for (const n of [1000, 10000]) {
      writePeers(cluster.storeDir, written, n);
      written = n;
      const sync0 = cpuSeconds(syncPid);
      const wg0 = cpuSeconds(wgPid);
      const version = `bench-${n}-${Date.now()}`;
      const t0 = Date.now();
      writeFileSync(join(cluster.storeDir, "version"), `${version}\n`);
      await waitFor(`${n} peers applied`, () => {
        const st = cluster.syncStatus(1);
        return st?.applied_version === version && st.peers === n;
      }, 300_000, 10);
      const wall = (Date.now() - t0) / 1000;
      const syncCpu = cpuSeconds(syncPid) - sync0;
      const wgCpu = cpuSeconds(wgPid) - wg0;
      const onInterface = (await cluster.wgShow(1, "peers")).stdout.trim().split("\n").length;
      confFile = join(server.localDir, `${server.interface}.conf`);
      const noop = await run("ip", ["netns", "exec", server.namespace, "wg", "syncconf", server.interface, confFile], { timeoutMs: 120_000 });
      rows.push(
        `| ${n.toLocaleString("en")} | ${fmt(wall)} | ${fmt(syncCpu)} | ${fmt(wgCpu)} | ${onInterface.toLocaleString("en")} | ${fmt(noop.durationMs / 1000)} |`,
      );
      process.stderr.write(`bench:peers: ${n} peers applied in ${fmt(wall)} s (sync CPU ${fmt(syncCpu)} s, wireguard-go CPU ${fmt(wgCpu)} s)\n`);
    }
    // Idle: polls every second with nothing new.
    const idle0 = cpuSeconds(syncPid);
    const idleStart = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const idleCpu = cpuSeconds(syncPid) - idle0;
    const polls = Math.round((Date.now() - idleStart) / 1000);
    writeSection(
      "Peer scale",
      `
Command: \`npm run bench:peers\` (root; ${await machine()}).
One local-cluster server: the real \`wg-ha-sync\` loop applies peers written to the shared store
(a version bump, then a rebuild of the whole config and one \`wg syncconf\`), on userspace
wireguard-go (the kernel module is faster; EC2 uses it). CPU from /proc (user + system, the sync
loop's children \`awk\`/\`wg\` included), 10 ms resolution.

| peers | version bump -> applied (s) | sync loop CPU (s) | wireguard-go CPU (s) | peers on the interface | one no-op \`wg syncconf\` (s) |
|---|---|---|---|---|---|
${rows.join("\n")}

Polls that find nothing new, with 10,000 peers applied: ${polls} polls (1 s interval) over ${IDLE_SECONDS} s cost
${fmt(idleCpu * 1000, 0)} ms of CPU in total (${fmt((idleCpu * 1000) / polls, 2)} ms per poll on average, the status heartbeat's one
\`mv\` every 5 s included): a poll reads two small files with shell builtins, forks nothing and calls
no \`wg\`; the last column is what a poll would cost if it re-applied the config every time.
`,
    );
    process.stderr.write(`bench:peers: idle ${fmt((idleCpu * 1000) / polls, 2)} ms CPU per poll; written to docs/benchmarks.md\n`);
  } finally {
    cluster.down();
  }
}

runMain("npm run bench:peers --", main);
