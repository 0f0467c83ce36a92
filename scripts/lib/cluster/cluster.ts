/**
 * A wg-ha cluster on one Linux machine: the project's own templates/ (bootstrap, sync loop,
 * wg-client) and health agent running for real in network namespaces, behind an nftables "load
 * balancer" switched by a health poller, with a shared directory as "EFS". Used by the
 * integration tests, the benchmarks and scripts/local-cluster.ts. Topology: topology.ts; state
 * directory layout: state.ts; teardown: teardown.ts.
 *
 * ```ts
 * const cluster = await LocalCluster.up({ stateDir, servers: 2, healthIntervalSeconds: 1 });
 * try {
 *   const { config } = await cluster.addClient("alice", { server: 1 });
 *   await cluster.connectClient("alice", config);
 *   await cluster.clientExec("alice", "ping", ["-c1", "10.100.0.1"]);
 * } finally {
 *   cluster.down();
 * }
 * ```
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  check,
  inNamespace,
  isAlive,
  namespaceExists,
  namespacePids,
  recordProcess,
  run,
  spawnDetached,
  stopProcesses,
  waitFor,
  type ProcessRecord,
  type RunOptions,
  type RunResult,
} from "./exec";
import { renderLbRuleset } from "./lb";
import { LB_STATUS_FILE, type LbStatus } from "./lb-poller";
import { assertPrerequisites } from "./prerequisites";
import { readJson, readState, stateFile, writeState, STATE_VERSION, type ClientRecord, type ClusterState, type ServerRecord } from "./state";
import { destroyCluster, WIREGUARD_SOCKET_DIR, type TeardownOptions, type TeardownReport } from "./teardown";
import * as topo from "./topology";

export interface ClusterOptions {
  /** Directory for everything of this cluster; must not hold a cluster already. */
  readonly stateDir: string;
  /** Unique name prefix (2-8 of [a-z0-9]) of namespaces, interfaces, nft table. @default random "wh" + 6 hex */
  readonly prefix?: string;
  /** @default 2 */
  readonly servers?: number;
  /** Seconds between health probes of each agent (NLB: 5-300). @default 5 */
  readonly healthIntervalSeconds?: number;
  /** Consecutive failed probes before a target is unhealthy. @default 2 */
  readonly unhealthyThreshold?: number;
  /** Consecutive good probes before a target is healthy. @default 2 */
  readonly healthyThreshold?: number;
  /** Probe timeout. @default min(2, healthIntervalSeconds) */
  readonly healthTimeoutSeconds?: number;
  /** WG_HA_SYNC_INTERVAL_SECONDS of every server. @default 1 */
  readonly syncIntervalSeconds?: number;
  /** Extra WG_* settings for every server's settings file (win over the defaults). @default none */
  readonly extraSettings?: Readonly<Record<string, string>>;
  /** Checkout whose templates/ run. @default the repository holding this file */
  readonly repoRoot?: string;
  /** The health agent. @default <repoRoot>/templates/agent/wg-ha-agent.py */
  readonly agentPath?: string;
  /** Return from up() only once the LB's target is healthy. @default true */
  readonly waitHealthy?: boolean;
  /**
   * After this many seconds the LB poller tears the whole cluster down by itself (logs kept), so
   * a test process that dies without cleanup leaves nothing running for long. @default unlimited
   */
  readonly lifetimeSeconds?: number;
}

export interface SyncStatus {
  readonly applied_version: string;
  readonly last_success: number | null;
  readonly last_attempt: number;
  readonly peers: number;
  readonly skipped: string[];
  readonly source: "store" | "cache";
  readonly public_key: string;
  readonly error: string | null;
}

export interface ServerStatus {
  readonly index: number;
  readonly namespace: string;
  readonly interface: string;
  readonly address: string;
  readonly running: boolean;
  /** As the LB poller last saw it; null before its first probe. */
  readonly healthy: boolean | null;
  readonly lastHealthCode: number | null;
  readonly draining: boolean;
  readonly peers: number | null;
  readonly syncAgeSeconds: number | null;
  readonly syncSource: string | null;
}

export interface ClusterStatus {
  readonly prefix: string;
  readonly stateDir: string;
  readonly endpoint: string;
  readonly lb: { readonly target: number | null; readonly pollerRunning: boolean; readonly updatedAt: number | null; readonly switches: number };
  readonly servers: ServerStatus[];
  readonly clients: Array<{ readonly name: string; readonly namespace: string; readonly interface: string; readonly tunnelAddress: string; readonly running: boolean }>;
}

const DEFAULT_REPO_ROOT = resolve(__dirname, "..", "..", "..");

/** The environment of every command we run: ours without WG_* (a stray value would win over the settings file). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WG_")) env[k] = v;
  return { ...env, ...extra };
}

export class LocalCluster {
  private constructor(readonly state: ClusterState) {}

  /** Creates the cluster; on any failure removes what it created (keeping the logs) and rethrows. */
  static async up(opts: ClusterOptions): Promise<LocalCluster> {
    assertPrerequisites();
    const repoRoot = resolve(opts.repoRoot ?? DEFAULT_REPO_ROOT);
    const agentPath = resolve(opts.agentPath ?? join(repoRoot, "templates", "agent", "wg-ha-agent.py"));
    if (!existsSync(agentPath)) {
      throw new Error(`health agent not found at ${agentPath}: templates/agent/wg-ha-agent.py has not landed in this checkout`);
    }
    const stateDir = resolve(opts.stateDir);
    if (existsSync(stateFile(stateDir))) {
      throw new Error(`a cluster already exists in ${stateDir} (tear it down first)`);
    }
    if (readdirSafe(stateDir).length) {
      throw new Error(`${stateDir} holds files of an earlier cluster (its store and logs): remove it or use another directory`);
    }
    const prefix = opts.prefix ?? topo.randomPrefix();
    topo.checkPrefix(prefix);
    const interval = opts.healthIntervalSeconds ?? 5;
    const servers = opts.servers ?? 2;
    if (!Number.isInteger(servers) || servers < 1 || servers > topo.MAX_SERVERS) throw new Error(`servers (${servers}) must be 1..${topo.MAX_SERVERS}`);
    const busy = readdirSafe("/run/netns").filter((n) => n.startsWith(`${prefix}-`));
    if (busy.length) throw new Error(`namespaces with prefix ${prefix} already exist (${busy.join(", ")}): another cluster uses it`);

    mkdirSync(stateDir, { recursive: true });
    const state: ClusterState = {
      version: STATE_VERSION,
      prefix,
      stateDir,
      repoRoot,
      createdAt: new Date().toISOString(),
      endpoint: `${topo.ENDPOINT_ADDRESS}:${topo.WG_PORT}`,
      storeDir: join(stateDir, "efs"),
      syncIntervalSeconds: opts.syncIntervalSeconds ?? 1,
      agentPath,
      lb: {
        namespace: topo.lbNamespace(prefix),
        table: topo.lbTable(prefix),
        dir: join(stateDir, "lb"),
        healthIntervalSeconds: interval,
        unhealthyThreshold: opts.unhealthyThreshold ?? 2,
        healthyThreshold: opts.healthyThreshold ?? 2,
        healthTimeoutSeconds: opts.healthTimeoutSeconds ?? Math.min(2, interval),
      },
      extraSettings: { ...opts.extraSettings },
      ...(opts.lifetimeSeconds ? { expiresAt: Date.now() / 1000 + opts.lifetimeSeconds } : {}),
      namespaces: [],
      interfaces: [],
      servers: [],
      clients: [],
      processes: [],
    };
    writeState(state);
    const cluster = new LocalCluster(state);
    try {
      mkdirSync(state.storeDir, { recursive: true });
      mkdirSync(state.lb.dir, { recursive: true });
      await cluster.createLoadBalancer();
      await cluster.createVpcHost();
      for (let i = 1; i <= servers; i++) await cluster.createServer(i);
      // All servers boot at once, like an Auto Scaling group launching: exercises the key election.
      await Promise.all(cluster.state.servers.map((s) => cluster.startServer(s.index)));
      cluster.startPoller();
      if (opts.waitHealthy ?? true) {
        await cluster.waitForTarget((st) => st.target !== null && st.servers.some((h) => h.index === st.target && h.healthy), 30_000 + interval * 4000);
      }
      return cluster;
    } catch (err) {
      cluster.down({ keepFiles: true });
      throw new Error(`local cluster up failed (logs kept in ${stateDir}): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The cluster recorded in stateDir (for status, failure rehearsal, teardown). */
  static open(stateDir: string): LocalCluster {
    return new LocalCluster(readState(resolve(stateDir)));
  }

  get prefix(): string {
    return this.state.prefix;
  }
  get stateDir(): string {
    return this.state.stateDir;
  }
  get endpoint(): string {
    return this.state.endpoint;
  }
  get storeDir(): string {
    return this.state.storeDir;
  }

  server(index: number): ServerRecord {
    const s = this.state.servers.find((x) => x.index === index);
    if (!s) throw new Error(`no server s${index} in this cluster (servers: ${this.state.servers.map((x) => x.index).join(", ")})`);
    return s;
  }

  client(name: string): ClientRecord {
    const c = this.state.clients.find((x) => x.name === name);
    if (!c) throw new Error(`no connected client '${name}'`);
    return c;
  }

  private save(): void {
    writeState(this.state);
  }

  private bin(name: string): string {
    return join(this.state.repoRoot, "templates", "bin", name);
  }

  // ---- topology -------------------------------------------------------------------------------

  private async addNamespace(ns: string): Promise<void> {
    if (!this.state.namespaces.includes(ns)) {
      this.state.namespaces.push(ns); // recorded before it exists: a crash right after still cleans it
      this.save();
    }
    if (!namespaceExists(ns)) await check("ip", ["netns", "add", ns]);
    await check("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }

  /** A veth from `ns` (named eth0 there, address/24, default route) to the LB namespace. */
  private async wire(ns: string, u: { address: string; gateway: string; lbLink: string }): Promise<void> {
    const lb = this.state.lb.namespace;
    await check("ip", ["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", u.lbLink, "netns", lb]);
    await check("ip", ["-n", ns, "address", "add", `${u.address}/24`, "dev", "eth0"]);
    await check("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    await check("ip", ["-n", ns, "route", "add", "default", "via", u.gateway]);
    await check("ip", ["-n", lb, "address", "add", `${u.gateway}/24`, "dev", u.lbLink]);
    await check("ip", ["-n", lb, "link", "set", u.lbLink, "up"]);
  }

  private async createLoadBalancer(): Promise<void> {
    const { namespace: ns, table } = this.state.lb;
    await this.addNamespace(ns);
    await check("ip", ["-n", ns, "address", "add", `${topo.ENDPOINT_ADDRESS}/32`, "dev", "lo"]);
    await check("ip", ["-n", ns, "address", "add", `${topo.INTERNET_HOST_ADDRESS}/32`, "dev", "lo"]);
    await check("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // The DNAT exists before any client packet: conntrack would pin a first flow un-NATed.
    await check("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: renderLbRuleset(table, 1) });
  }

  private async createVpcHost(): Promise<void> {
    const ns = topo.vpcNamespace(this.prefix);
    await this.addNamespace(ns);
    await this.wire(ns, topo.vpcUnderlay());
  }

  private async createServer(index: number): Promise<ServerRecord> {
    const ns = topo.serverNamespace(this.prefix, index);
    const iface = topo.serverInterface(this.prefix, index);
    const dir = join(this.stateDir, "servers", `s${index}`);
    const record: ServerRecord = {
      index,
      namespace: ns,
      interface: iface,
      underlayAddress: topo.serverUnderlay(index).address,
      dir,
      envFile: join(dir, "wg-ha.env"),
      localDir: join(dir, "local"),
      running: false,
      processes: [],
    };
    this.state.servers.push(record);
    this.state.interfaces.push(iface);
    this.save();
    mkdirSync(record.localDir, { recursive: true });
    writeFileSync(
      record.envFile,
      topo.renderServerSettings({
        prefix: this.prefix,
        index,
        storeDir: this.storeDir,
        localDir: record.localDir,
        syncIntervalSeconds: this.state.syncIntervalSeconds,
        extra: this.state.extraSettings,
      }),
    );
    await this.addNamespace(ns);
    await this.wire(ns, topo.serverUnderlay(index));
    return record;
  }

  /** Adds server N+1 (namespace, settings) and starts it; the LB poller probes it from its next round. */
  async addServer(): Promise<ServerRecord> {
    const index = Math.max(0, ...this.state.servers.map((s) => s.index)) + 1;
    const record = await this.createServer(index);
    await this.startServer(index);
    return record;
  }

  // ---- servers --------------------------------------------------------------------------------

  /** The environment the server's programs run with: only the settings file path is injected. */
  serverEnv(index: number): NodeJS.ProcessEnv {
    return cleanEnv({ WG_HA_CONFIG: this.server(index).envFile });
  }

  /** Runs a command in server i's namespace with its settings (WG_HA_CONFIG). */
  serverExec(index: number, cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const [c, a] = inNamespace(this.server(index).namespace, cmd, args);
    return run(c, a, { ...opts, env: { ...this.serverEnv(index), ...opts.env } });
  }

  /** Runs templates/bin/wg-ha-bootstrap in server i's namespace (idempotent). */
  async bootstrap(index: number, args: readonly string[] = []): Promise<RunResult> {
    const s = this.server(index);
    const r = await this.serverExec(index, this.bin("wg-ha-bootstrap"), args, { timeoutMs: 60_000 });
    writeFileSync(join(s.dir, "bootstrap.log"), r.stderr + r.stdout, { flag: "a" });
    return r;
  }

  /** Boots server i (bootstrap, then the sync loop and the agent); no-op if it runs. */
  async startServer(index: number): Promise<void> {
    const s = this.server(index);
    if (s.running && s.processes.some(isAlive)) return;
    const gw = topo.serverUnderlay(index).gateway;
    await check("ip", ["-n", s.namespace, "link", "set", "eth0", "up"]);
    await check("ip", ["-n", s.namespace, "route", "replace", "default", "via", gw]);
    const boot = await this.bootstrap(index);
    if (boot.code !== 0) throw new Error(`wg-ha-bootstrap on s${index} failed (${boot.code}): ${boot.stderr.trim().split("\n").slice(-3).join(" / ")}`);
    // wireguard-go daemons forked by bootstrap: recorded so teardown finds them even without the namespace.
    const daemons = namespacePids(s.namespace)
      .map((pid) => recordProcess(pid, `wireguard-go s${index}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    const env = this.serverEnv(index);
    const sync = spawnDetached(s.namespace, this.bin("wg-ha-sync"), [], { logFile: join(s.dir, "sync.log"), env, what: `wg-ha-sync s${index}` });
    const agent = spawnDetached(s.namespace, "python3", [this.state.agentPath], { logFile: join(s.dir, "agent.log"), env, what: `agent s${index}` });
    s.processes = [...daemons, sync, agent];
    s.running = true;
    this.save();
  }

  /**
   * Power-off of server i: SIGKILL to everything in its namespace (sync, agent, wireguard-go:
   * the interface vanishes) and its link down, so probes and packets get no answer.
   */
  async killServer(index: number): Promise<void> {
    const s = this.server(index);
    const inside = namespacePids(s.namespace)
      .map((pid) => recordProcess(pid, `in ${s.namespace}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    await stopProcesses([...s.processes, ...inside], 0);
    await run("ip", ["-n", s.namespace, "link", "set", "eth0", "down"]);
    rmSync(join(WIREGUARD_SOCKET_DIR, `${s.interface}.sock`), { force: true });
    s.processes = [];
    s.running = false;
    this.save();
  }

  /** Graceful stop of server i's processes (SIGTERM), link kept up: the agent just stops answering. */
  async stopServer(index: number): Promise<void> {
    const s = this.server(index);
    await stopProcesses(s.processes);
    const inside = namespacePids(s.namespace)
      .map((pid) => recordProcess(pid, `in ${s.namespace}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    await stopProcesses(inside);
    rmSync(join(WIREGUARD_SOCKET_DIR, `${s.interface}.sock`), { force: true });
    s.processes = [];
    s.running = false;
    this.save();
  }

  /** The agent's drain flag (templates/CONTRACT.md): /health answers 503 while it exists. */
  drainServer(index: number, reason = "drained by the local cluster"): void {
    writeFileSync(join(this.server(index).localDir, "draining"), `${reason}\n`);
  }

  undrainServer(index: number): void {
    rmSync(join(this.server(index).localDir, "draining"), { force: true });
  }

  /** GET /health of server i's agent from the LB namespace (as the poller sees it). */
  async probeHealth(index: number, path = "/health"): Promise<{ code: number; body: string }> {
    const url = `http://${this.server(index).underlayAddress}:${topo.AGENT_PORT}${path}`;
    const r = await run("ip", ["netns", "exec", this.state.lb.namespace, "curl", "-s", "--max-time", "3", "-w", "\n%{http_code}", url], { timeoutMs: 5000 });
    const lines = r.stdout.split("\n");
    return { code: Number(lines.pop() ?? 0), body: lines.join("\n") };
  }

  /** sync-status.json of server i (templates/CONTRACT.md), if written yet. */
  syncStatus(index: number): SyncStatus | undefined {
    return readJson<SyncStatus>(join(this.server(index).localDir, "sync-status.json"));
  }

  /** `wg show <iface> <args>` on server i. */
  wgShow(index: number, ...args: string[]): Promise<RunResult> {
    return this.serverExec(index, "wg", ["show", this.server(index).interface, ...args]);
  }

  /** Runs templates/bin/wg-client on server i. */
  wgClient(index: number, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.serverExec(index, this.bin("wg-client"), args, opts);
  }

  /** `wg-client add NAME ...` on a server (default: a random one); returns the printed config. */
  async addClient(name: string, opts: { server?: number; args?: readonly string[] } = {}): Promise<{ config: string; server: number; result: RunResult }> {
    const running = this.state.servers.filter((s) => s.running);
    const server = opts.server ?? running[Math.floor(Math.random() * running.length)]?.index ?? 1;
    const result = await this.wgClient(server, ["add", name, ...(opts.args ?? [])]);
    if (result.code !== 0) throw new Error(`wg-client add ${name} on s${server} failed: ${result.stderr.trim()}`);
    return { config: result.stdout, server, result };
  }

  // ---- clients --------------------------------------------------------------------------------

  /**
   * A client namespace behind the LB running stock `wg-quick up` with the config (DNS line
   * dropped: see topology.clientConfigForNamespace). Its interface is <prefix>c<j>.
   */
  async connectClient(name: string, config: string): Promise<ClientRecord> {
    if (this.state.clients.some((c) => c.name === name)) throw new Error(`client '${name}' is already connected`);
    const index = Math.max(0, ...this.state.clients.map((c) => c.index)) + 1;
    const ns = topo.clientNamespace(this.prefix, index);
    const iface = topo.clientInterface(this.prefix, index);
    const dir = join(this.stateDir, "clients");
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, `${iface}.conf`);
    const body = topo.clientConfigForNamespace(config);
    const address = /^\s*Address\s*=\s*([0-9.]+)/m.exec(body)?.[1];
    if (!address) throw new Error(`client config for ${name} has no IPv4 Address line`);
    const u = topo.clientUnderlay(index);
    const record: ClientRecord = { name, index, namespace: ns, interface: iface, underlayAddress: u.address, configFile, tunnelAddress: address, processes: [] };
    this.state.clients.push(record);
    this.state.interfaces.push(iface);
    this.save();
    writeFileSync(configFile, body, { mode: 0o600 });
    await this.addNamespace(ns);
    await this.wire(ns, u);
    const up = await run("ip", ["netns", "exec", ns, "wg-quick", "up", configFile], {
      env: cleanEnv({ WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" }),
      timeoutMs: 20_000,
    });
    writeFileSync(join(dir, `${iface}.log`), up.stderr + up.stdout);
    record.processes = namespacePids(ns)
      .map((pid) => recordProcess(pid, `wireguard-go client ${name}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    this.save();
    if (up.code !== 0) throw new Error(`wg-quick up for client ${name} failed: ${up.stderr.trim()}`);
    return record;
  }

  /** Removes the client's namespace and its wireguard-go. */
  async disconnectClient(name: string): Promise<void> {
    const c = this.client(name);
    const inside = namespacePids(c.namespace)
      .map((pid) => recordProcess(pid, `in ${c.namespace}`))
      .filter((p): p is ProcessRecord => p !== undefined);
    await stopProcesses([...c.processes, ...inside], 500);
    await run("ip", ["netns", "del", c.namespace]);
    rmSync(join(WIREGUARD_SOCKET_DIR, `${c.interface}.sock`), { force: true });
    this.state.clients = this.state.clients.filter((x) => x !== c);
    this.state.namespaces = this.state.namespaces.filter((n) => n !== c.namespace);
    this.state.interfaces = this.state.interfaces.filter((n) => n !== c.interface);
    this.save();
  }

  /** Runs a command in the client's namespace. */
  clientExec(name: string, cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const [c, a] = inNamespace(this.client(name).namespace, cmd, args);
    return run(c, a, { ...opts, env: opts.env ?? cleanEnv() });
  }

  /** Epoch seconds of the client's latest handshake (0 = none yet). */
  async clientHandshake(name: string): Promise<number> {
    const c = this.client(name);
    const r = await this.clientExec(name, "wg", ["show", c.interface, "latest-handshakes"]);
    return Number(r.stdout.trim().split(/\s+/)[1] ?? 0);
  }

  /** Epoch seconds of the client's first handshake, waiting up to timeoutMs (undefined: none by then). */
  async waitForHandshake(name: string, timeoutMs: number): Promise<number | undefined> {
    try {
      return await waitFor(`a handshake of ${name}`, async () => (await this.clientHandshake(name)) || undefined, timeoutMs, 100);
    } catch {
      return undefined;
    }
  }

  /** True once server i has the peer on its interface (its sync loop applied it), false after timeoutMs. */
  async waitForPeer(index: number, publicKey: string, timeoutMs: number): Promise<boolean> {
    try {
      return await waitFor(`${publicKey} on s${index}`, async () => (await this.wgShow(index, "peers")).stdout.split("\n").includes(publicKey), timeoutMs, 100);
    } catch {
      return false;
    }
  }

  // ---- load balancer --------------------------------------------------------------------------

  private startPoller(): void {
    const poller = spawnDetached(
      this.state.lb.namespace,
      process.execPath,
      ["--import", "tsx", join(__dirname, "lb-poller.ts"), this.stateDir],
      { logFile: join(this.state.lb.dir, "poller.log"), cwd: this.state.repoRoot, env: cleanEnv(), what: "lb health poller" },
    );
    this.state.processes.push(poller);
    this.save();
  }

  /** The poller's last status (lb/status.json). */
  lbStatus(): LbStatus | undefined {
    return readJson<LbStatus>(join(this.state.lb.dir, LB_STATUS_FILE));
  }

  /** Index of the server the LB currently sends new flows to. */
  lbTarget(): number | undefined {
    return this.lbStatus()?.target ?? undefined;
  }

  async waitForTarget(pred: (s: LbStatus) => boolean, timeoutMs: number): Promise<LbStatus> {
    return waitFor(
      "the LB health poller",
      () => {
        const poller = this.state.processes[0];
        if (poller && !isAlive(poller)) throw new Error(`the LB health poller died; see ${join(this.state.lb.dir, "poller.log")}`);
        const st = this.lbStatus();
        return st && pred(st) ? st : undefined;
      },
      timeoutMs,
      50,
    );
  }

  /** Lines of lb/events.log (health changes and switches, with epoch seconds). */
  lbEvents(): string[] {
    try {
      return readFileSync(join(this.state.lb.dir, "events.log"), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }

  /** Runs a command in the LB namespace. */
  lbExec(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const [c, a] = inNamespace(this.state.lb.namespace, cmd, args);
    return run(c, a, opts);
  }

  // ---- status and teardown --------------------------------------------------------------------

  status(): ClusterStatus {
    const lb = this.lbStatus();
    const now = Date.now() / 1000;
    return {
      prefix: this.prefix,
      stateDir: this.stateDir,
      endpoint: this.endpoint,
      lb: {
        target: lb?.target ?? null,
        pollerRunning: this.state.processes.some(isAlive),
        updatedAt: lb?.updatedAt ?? null,
        switches: lb?.switches ?? 0,
      },
      servers: this.state.servers.map((s) => {
        const h = lb?.servers.find((x) => x.index === s.index);
        const sync = this.syncStatus(s.index);
        return {
          index: s.index,
          namespace: s.namespace,
          interface: s.interface,
          address: s.underlayAddress,
          running: s.running && s.processes.some(isAlive),
          healthy: h ? h.healthy : null,
          lastHealthCode: h?.lastCode ?? null,
          draining: existsSync(join(s.localDir, "draining")),
          peers: sync?.peers ?? null,
          syncAgeSeconds: sync?.last_success ? Math.max(0, now - sync.last_success) : null,
          syncSource: sync?.source ?? null,
        };
      }),
      clients: this.state.clients.map((c) => ({
        name: c.name,
        namespace: c.namespace,
        interface: c.interface,
        tunnelAddress: c.tunnelAddress,
        running: c.processes.some(isAlive),
      })),
    };
  }

  /** Removes everything the cluster created (see teardown.ts); idempotent. */
  down(opts: TeardownOptions = {}): TeardownReport {
    return destroyCluster(this.stateDir, opts);
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
