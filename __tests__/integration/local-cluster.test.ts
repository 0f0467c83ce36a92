/**
 * scripts/local-cluster.ts end to end, as root: the real CLI is spawned for every step (no
 * library shortcut), on one cluster (prefix itlc + 4 random hex digits, health 1 s x 2). The cases run in order: up,
 * a second up, status --json against its schema, a client added, connected and used, failover
 * with traffic (kill-server of the LB target, then kill-server --watch), start/drain/add-server,
 * logs, client disconnect/revoke, down (nothing left behind) and down again. Then: down after
 * the up process is SIGKILLed half-way, and the files of a gone cluster. Waits poll the status
 * document through the library (fast); every action and every asserted output is the CLI's.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCluster, findLeftovers, LocalCluster, readState, run, scanLeftovers, statusJson, statusJsonSchema, waitFor, type StatusJson } from "../../scripts/lib/cluster";
import { isAlive, type ProcessRecord } from "../../scripts/lib/cluster/exec";
import { clusterStateDir, describeIntegration, failureTracker, measure, printMeasurements, runPrefix } from "./helpers";

/** Unique per run (helpers.runPrefix); an abandoned run's cluster tears itself down (--lifetime). */
const PREFIX = runPrefix("itlc");
const CRASH_PREFIX = runPrefix("itlx");
const REPO = join(__dirname, "..", "..");
const SCRIPT = join(REPO, "scripts", "local-cluster.ts");
const TUNNEL = "10.100.0.1";

describeIntegration("local-cluster.ts: the user command, end to end", () => {
  const dir = clusterStateDir(PREFIX);
  const crashDir = clusterStateDir(CRASH_PREFIX);
  const goneDir = clusterStateDir(`${PREFIX}gone`);
  const t = failureTracker();
  const children: ChildProcessWithoutNullStreams[] = [];

  /** The real CLI (node --import tsx, the shebang's runner), bounded in time. */
  const cli = (args: readonly string[], opts: { timeoutMs?: number; stateDir?: string } = {}) =>
    run(process.execPath, ["--import", "tsx", SCRIPT, "--state-dir", opts.stateDir ?? dir, ...args], {
      cwd: REPO,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { ...process.env, NO_COLOR: "1", SUDO_USER: "" },
    });
  const status = async (): Promise<StatusJson> => {
    const r = await cli(["status", "--json"]);
    expect(r.code).toBe(0);
    return statusJsonSchema.parse(JSON.parse(r.stdout));
  };
  /** The same document, read by the library: for polling until a state is reached (fast); assertions use the CLI. */
  const observe = (): StatusJson => statusJson(LocalCluster.open(dir));
  /** `client exec NAME -- ping -D ...` as a child; reply times (epoch s) collected as they come. */
  const pinger = (client: string, seconds: number) => {
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, "--state-dir", dir, "client", "exec", client, "--", "ping", "-D", "-n", "-i", "0.2", "-w", String(seconds), TUNNEL], { cwd: REPO });
    children.push(child);
    const replies: number[] = [];
    child.stdout.on("data", (d: Buffer) => {
      for (const m of d.toString().matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)) replies.push(Number(m[1]));
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    return { child, replies, exited };
  };
  const cleanup = (d: string, keep = false) => {
    destroyCluster(d, { keepFiles: keep });
    if (!keep) rmSync(d, { recursive: true, force: true });
  };

  beforeAll(() => {
    for (const d of [dir, crashDir, goneDir]) cleanup(d); // a crashed earlier run's, if any
  });

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    cleanup(dir, t.failed);
    cleanup(crashDir);
    cleanup(goneDir);
    if (t.failed) process.stderr.write(`[integration] logs of the local-cluster.ts test kept in ${dir}\n`);
    printMeasurements("local-cluster.test.ts");
  });

  test(
    "up: a healthy cluster; prints the endpoint, the state directory and the next commands",
    t.wrap(async () => {
      const started = Date.now();
      const r = await cli(["up", "--servers", "2", "--health-interval", "1", "--unhealthy-threshold", "2", "--healthy-threshold", "2", "--lifetime", "900", "--prefix", PREFIX], { timeoutMs: 90_000 });
      measure("up (2 servers, until the LB target is healthy)", (Date.now() - started) / 1000);
      expect(r.stderr).toMatch(/^==> \[1\/1\] up: 2 servers \+ the load balancer, until the LB target is healthy \.\.\. \d+\.\ds$/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Local cluster up: 2 servers behind the load balancer, which sends new flows to s[12]\.$/m);
      expect(r.stdout).toContain("endpoint  203.0.113.1:51820 (UDP)");
      expect(r.stdout).toContain(`state     ${dir} (prefix ${PREFIX};`);
      expect(r.stdout).toContain("lifetime  tears itself down after 900 s");
      expect(r.stdout).toContain(`--state-dir ${dir} client add alice`);
      expect(r.stdout).toContain(`--state-dir ${dir} kill-server active --watch alice`);
      expect(findLeftovers(PREFIX).namespaces.sort()).toEqual([`${PREFIX}-lb`, `${PREFIX}-s1`, `${PREFIX}-s2`, `${PREFIX}-vpc`]);
    }),
    100_000,
  );

  test(
    "a second up: a clear error, exit 1, and the running cluster is untouched",
    t.wrap(async () => {
      const other = runPrefix("itlb");
      const r = await cli(["up", "--prefix", other]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: a cluster is already running in ${dir} \\(prefix ${PREFIX}, up since [0-9T:.-]+Z\\); run down first: .* down\\n$`));
      expect(findLeftovers(other).namespaces).toEqual([]);
      expect((await status()).servers.every((s) => s.running)).toBe(true);
    }),
    30_000,
  );

  test(
    "status --json: the documented schema, one LB target, healthy servers; status: the table",
    t.wrap(async () => {
      await waitFor("both servers healthy", () => observe().servers.every((x) => x.healthy), 15_000, 200);
      const s = await status();
      expect(s).toMatchObject({ schemaVersion: 1, prefix: PREFIX, stateDir: dir, endpoint: "203.0.113.1:51820", clients: [], savedConfigs: [] });
      expect(s.lb).toMatchObject({ pollerRunning: true, healthIntervalSeconds: 1, unhealthyThreshold: 2, healthyThreshold: 2, switches: 0 });
      expect(s.servers.map((x) => x.index)).toEqual([1, 2]);
      expect(s.servers.filter((x) => x.lbTarget).map((x) => x.index)).toEqual([s.lb.target]);
      for (const x of s.servers) expect(x).toMatchObject({ running: true, healthy: true, lastHealthCode: 200, draining: false, peers: 0, syncSource: "store" });
      expect(new Date(s.expiresAt!).getTime()).toBeGreaterThan(Date.now() + 800_000);
      const text = await cli(["status"]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^s${s.lb.target} +target +running +healthy \\(last 200\\) +0 +`, "m"));
    }),
    30_000,
  );

  test(
    "client add, connect, exec: the config is printed and saved, the client handshakes, exec returns the command's exit code",
    t.wrap(async () => {
      const add = await cli(["client", "add", "alice", "--server", "2"]);
      expect(add.code).toBe(0);
      expect(add.stdout).toMatch(/^\[Interface\]\nPrivateKey = \S{44}\nAddress = 10\.100\.0\.\d+\/32\n/);
      expect(add.stdout).toContain("Endpoint = 203.0.113.1:51820");
      expect(add.stderr).toContain(`added alice on s2; its config is saved in ${join(dir, "configs", "alice.conf")}`);
      expect(statSync(join(dir, "configs", "alice.conf")).mode & 0o777).toBe(0o600);

      const connect = await cli(["client", "connect", "alice"]);
      expect(connect.code).toBe(0);
      expect(connect.stdout).toMatch(new RegExp(`^alice connected: namespace ${PREFIX}-c1, interface ${PREFIX}c1, address 10\\.100\\.0\\.\\d+`, "m"));
      expect((await cli(["client", "connect", "alice"])).stderr).toMatch(/client 'alice' is already connected/);

      const ping = await cli(["client", "exec", "alice", "--", "ping", "-c", "1", "-W", "2", TUNNEL]);
      expect(ping.code).toBe(0);
      expect(ping.stdout).toMatch(/1 received/);
      expect((await cli(["client", "exec", "alice", "--", "sh", "-c", "exit 7"])).code).toBe(7);
      expect((await cli(["client", "exec", "bob", "--", "true"])).stderr).toMatch(/^error: no connected client 'bob'/);

      const list = await cli(["client", "list"]);
      expect(list.stdout).toMatch(/^alice +10\.100\.0\.\d+\/32 /m);
      expect(list.stdout).toMatch(new RegExp(`Connected on this machine: alice \\(10\\.100\\.0\\.\\d+, namespace ${PREFIX}-c1\\)`));
      const s = await status();
      expect(s.clients).toEqual([expect.objectContaining({ name: "alice", namespace: `${PREFIX}-c1`, running: true })]);
      expect(s.savedConfigs).toEqual(["alice"]);
      await waitFor("alice's peer on both servers", () => observe().servers.every((x) => x.peers === 1), 10_000, 200);
    }),
    60_000,
  );

  test(
    "a client with its own key (--public-key): no private key printed; connect needs --config with the full config",
    t.wrap(async () => {
      const priv = (await run("wg", ["genkey"])).stdout.trim();
      const pub = (await run("wg", ["pubkey"], { input: `${priv}\n` })).stdout.trim();
      const add = await cli(["client", "add", "carol", "--public-key", pub]);
      expect(add.code).toBe(0);
      expect(add.stdout).toMatch(new RegExp(`^# PrivateKey = <the private key of ${pub.replace(/[+/]/g, "\\$&")}: not stored on the servers>$`, "m"));
      expect(add.stderr).toMatch(/its config has no private key \(you hold it\): .* client connect carol --config FILE/);
      const refused = await cli(["client", "connect", "carol"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/carol's config has no PrivateKey \(added with --public-key\): pass --config FILE/);
      const file = join(dir, "carol-full.conf");
      writeFileSync(file, add.stdout.replace(/^# PrivateKey = .*$/m, `PrivateKey = ${priv}`), { mode: 0o600 });
      expect((await cli(["client", "connect", "carol", "--config", file])).code).toBe(0);
      expect((await cli(["client", "exec", "carol", "--", "ping", "-c", "1", "-W", "2", TUNNEL])).code).toBe(0);
      expect((await cli(["client", "revoke", "carol"])).code).toBe(0);
      expect((await status()).clients.map((c) => c.name)).toEqual(["alice"]);
    }),
    40_000,
  );

  test(
    "kill-server of the LB target: the LB moves and the client's traffic (client exec ping) recovers",
    t.wrap(async () => {
      const target = (await status()).lb.target!;
      const p = pinger("alice", 60);
      await waitFor("replies before the kill", () => p.replies.length >= 3, 10_000);
      const killedAt = Date.now() / 1000;
      const kill = await cli(["kill-server", String(target)]);
      const killDone = Date.now() / 1000;
      expect(kill.code).toBe(0);
      expect(kill.stdout).toContain(`killed s${target} (the LB target): SIGKILL to everything in its namespace, link down`);
      await waitFor("the LB to move", () => observe().lb.target !== target, 15_000, 100);
      const moved = await status();
      expect(moved.servers.find((x) => x.index === target)).toMatchObject({ running: false, healthy: false });
      const reply = await waitFor("a reply after the kill", () => p.replies.find((r) => r > killDone), 45_000, 100);
      measure("kill-server (CLI): client outage, kill -> first reply", reply - killedAt);
      expect(reply - killedAt).toBeGreaterThan(5); // a new server needs a new handshake: never instant
      p.child.kill("SIGTERM"); // forwarded to ping by client exec: its exit says so
      expect(await p.exited).toBe(143);
    }),
    90_000,
  );

  test(
    "start-server brings it back; kill-server active --watch times the failover as the client sees it",
    t.wrap(async () => {
      const before = await status();
      const dead = before.servers.find((x) => !x.running)!.index;
      const start = await cli(["start-server", String(dead)]);
      expect(start.code).toBe(0);
      expect(start.stdout).toContain(`s${dead} started`);
      expect((await cli(["start-server", String(dead)])).stdout).toContain(`s${dead} is already running`);
      await waitFor("both healthy", () => observe().servers.every((x) => x.healthy), 15_000, 100);
      const target = (await status()).lb.target!;
      const watch = await cli(["kill-server", "active", "--watch", "alice"], { timeoutMs: 80_000 });
      expect(watch.code).toBe(0);
      expect(watch.stdout).toMatch(new RegExp(`^\\+ *\\d+\\.\\d+ s  s${target} killed`, "m"));
      expect(watch.stdout).toMatch(new RegExp(`^\\+ *\\d+\\.\\d+ s  LB: switch s${target} -> s\\d`, "m"));
      const outage = Number(/alice's outage: (\d+\.\d+) s/.exec(watch.stdout)?.[1]);
      measure("kill-server active --watch alice: reported outage", outage);
      expect(outage).toBeGreaterThan(5);
      expect(outage).toBeLessThan(40);
      expect(watch.stdout).toContain(`start-server ${target}`);
      expect((await cli(["start-server", String(target)])).code).toBe(0);
    }),
    120_000,
  );

  test(
    "drain-server, undrain-server, add-server, logs",
    t.wrap(async () => {
      await waitFor("both healthy", () => observe().servers.every((x) => x.healthy), 15_000, 100);
      const target = (await status()).lb.target!;
      const drain = await cli(["drain-server", "active"]);
      expect(drain.stdout).toContain(`s${target} drains`);
      await waitFor("the LB to move off the drained server", () => observe().lb.target !== target, 10_000, 100);
      const moved = await status();
      expect(moved.servers.find((x) => x.index === target)).toMatchObject({ draining: true, healthy: false, lastHealthCode: 503 });
      expect((await cli(["undrain-server", String(target)])).code).toBe(0);
      await waitFor("no drain", () => observe().servers.every((x) => !x.draining && x.healthy), 10_000, 100);

      const add = await cli(["add-server"]);
      expect(add.code).toBe(0);
      expect(add.stdout).toContain("s3 started");
      await waitFor("s3 healthy", () => observe().servers.find((x) => x.index === 3)?.healthy, 15_000, 100);
      const three = await status();
      expect(three.servers.find((x) => x.index === 3)).toMatchObject({ running: true, peers: 1 });

      const lb = await cli(["logs", "--lines", "100"]);
      expect(lb.stdout).toContain(`==> ${join(dir, "lb", "events.log")} <==`);
      expect(lb.stdout).toMatch(/switch s\d -> s\d/);
      const s3 = await cli(["logs", "server", "3", "--lines", "5"]);
      expect(s3.stdout).toContain(`==> ${join(dir, "servers", "s3", "bootstrap.log")} <==`);
      expect(s3.stdout).toMatch(/wg-ha-agent: listening/);
      expect((await cli(["logs", "server", "9"])).stderr).toMatch(/no logs of s9 .*\(servers with logs: s1, s2, s3\)/);
      expect((await cli(["kill-server", "9"])).stderr).toMatch(/^error: no server s9 in this cluster \(servers: 1, 2, 3\)/);
    }),
    60_000,
  );

  test(
    "client disconnect removes the namespace; client revoke removes the peer everywhere and the saved config",
    t.wrap(async () => {
      expect((await cli(["client", "disconnect", "alice"])).code).toBe(0);
      expect(findLeftovers(PREFIX).namespaces).not.toContain(`${PREFIX}-c1`);
      expect((await status()).clients).toEqual([]);
      const revoke = await cli(["client", "revoke", "alice"]);
      expect(revoke.code).toBe(0);
      expect(existsSync(join(dir, "configs", "alice.conf"))).toBe(false);
      await waitFor("no peer anywhere", () => observe().servers.filter((x) => x.running).every((x) => x.peers === 0), 10_000, 200);
      expect((await cli(["client", "connect", "alice"])).stderr).toMatch(/no saved config for alice: run .* client add alice first/);
    }),
    40_000,
  );

  test(
    "down leaves nothing behind (namespaces, links, sockets, nft tables, processes, files); a second down is fine",
    t.wrap(async () => {
      const state = readState(dir);
      const recorded: ProcessRecord[] = [...state.processes, ...state.servers.flatMap((s) => s.processes), ...state.clients.flatMap((c) => c.processes)];
      expect(recorded.filter(isAlive).length).toBeGreaterThanOrEqual(10); // poller + 3 x (wireguard-go, sync, agent)
      const down = await cli(["down"]);
      expect(down.code).toBe(0);
      expect(down.stdout).toMatch(new RegExp(`^removed cluster ${PREFIX}: 5 namespaces \\(`, "m"));
      expect(down.stdout).toContain(`removed ${dir}`);
      expect(recorded.filter(isAlive)).toEqual([]);
      expect(scanLeftovers(PREFIX, dir)).toEqual({ namespaces: [], sockets: [], links: [], nftTables: [], processes: [] });
      expect(existsSync(dir)).toBe(false);
      const again = await cli(["down"]);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(`nothing to tear down in ${dir}\n`);
      expect((await cli(["status"])).stderr).toMatch(/^error: no cluster in .*; start one with: .* up\n$/);
    }),
    30_000,
  );

  test(
    "down after the up process is SIGKILLed half-way removes everything it had created",
    t.wrap(async () => {
      const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, "--state-dir", crashDir, "up", "--servers", "3", "--prefix", CRASH_PREFIX, "--health-interval", "1", "--lifetime", "300"], { cwd: REPO });
      children.push(child);
      // Half-way: some server namespaces exist, the cluster is not up yet.
      await waitFor("server namespaces", () => findLeftovers(CRASH_PREFIX).namespaces.filter((n) => /-s\d$/.test(n)).length >= 2, 30_000, 20);
      child.kill("SIGKILL");
      await new Promise((r) => child.on("close", r));
      expect(findLeftovers(CRASH_PREFIX).namespaces.length).toBeGreaterThanOrEqual(3);
      const up = await cli(["up"], { stateDir: crashDir });
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(/run down first/);
      const down = await cli(["down"], { stateDir: crashDir });
      expect(down.code).toBe(0);
      expect(scanLeftovers(CRASH_PREFIX, crashDir)).toEqual({ namespaces: [], sockets: [], links: [], nftTables: [], processes: [] });
      expect(existsSync(crashDir)).toBe(false);
    }),
    60_000,
  );

  test(
    "the files of a gone cluster (a failed up keeps its logs): up refuses, logs reads them, down removes them",
    t.wrap(async () => {
      mkdirSync(join(goneDir, "lb"), { recursive: true });
      mkdirSync(join(goneDir, "servers", "s1"), { recursive: true });
      writeFileSync(join(goneDir, "lb", "events.log"), "2026-11-25T00:00:00.000Z 1.000 lifetime over: tearing the cluster down (logs kept)\n");
      writeFileSync(join(goneDir, "servers", "s1", "bootstrap.log"), "wg-ha-bootstrap: cannot create the interface\n");
      const up = await cli(["up"], { stateDir: goneDir });
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(/holds the files of an earlier cluster that is gone .* then run down first/);
      expect((await cli(["status"], { stateDir: goneDir })).stderr).toMatch(/no cluster in .* \(only the files of an earlier cluster/);
      expect((await cli(["logs", "server", "1"], { stateDir: goneDir })).stdout).toContain("cannot create the interface");
      const down = await cli(["down"], { stateDir: goneDir });
      expect(down.stdout).toBe(`nothing to tear down in ${goneDir} (removed the files of an earlier cluster)\n`);
      expect(existsSync(goneDir)).toBe(false);
    }),
    40_000,
  );
});
