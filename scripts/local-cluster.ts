#!/usr/bin/env -S node --import tsx
/**
 * local-cluster.ts: wg-ha on one Linux machine, as root (docs/local-cluster.md); `--help` lists
 * the commands (up, status, client ..., kill/start/drain/undrain/add-server, logs, down).
 *
 * A thin command line over scripts/lib/cluster, the harness the integration tests and
 * `npm run bench:failover` use: the project's own templates/ and health agent in network
 * namespaces behind an nftables "load balancer". Flags and help: lib/cluster/cli-args.ts.
 * Progress on stderr, results on stdout. Exit 0 ok, 1 failed, 2 usage; client exec exits with
 * its command's code. Only the argument parser loads before --help is handled.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { colorEnabled, EXIT, Failure, painter, runMain } from "./lib/cli";
import { DEFAULT_STATE_DIR_NAME, parseLocalClusterArgs, PROGRAM, selfCommand, upOptions, type ParsedCommand } from "./lib/cluster/cli-args";
import type { CommandName } from "./lib/cluster/commands";

const ROOT = resolve(__dirname, "..");
const TUNNEL = "10.100.0.1";

type Lib = typeof import("./lib/cluster/index");
type Cluster = import("./lib/cluster/index").LocalCluster;

interface Ctx {
  readonly cmd: ParsedCommand;
  readonly dir: string;
  readonly lib: Lib;
  /** How to run this command again (sudo, path, --state-dir), for "next" hints. */
  readonly self: string;
  readonly progress: (steps: number) => import("./lib/progress").Progress;
  readonly say: (line?: string) => void;
}

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseLocalClusterArgs(argv);
  if (cmd.help) {
    process.stdout.write(cmd.text);
    return EXIT.ok;
  }
  const [lib, { Progress }] = await Promise.all([import("./lib/cluster/index.js"), import("./lib/progress.js")]);
  if (cmd.spec.root) {
    const problem = lib.prerequisiteError(`${PROGRAM} ${cmd.spec.name}`, lib.prerequisiteReport(), { packages: cmd.spec.name === "up" });
    if (problem) throw new Failure(problem);
  }
  const dir = resolve(cmd.stateDir ?? resolve(ROOT, DEFAULT_STATE_DIR_NAME));
  const paint = painter(colorEnabled(process.stderr));
  const ctx: Ctx = {
    cmd, dir, lib,
    self: selfCommand({ repoRoot: ROOT, cwd: process.cwd(), env: process.env, stateDir: cmd.stateDir === undefined ? undefined : dir }),
    progress: (steps) => new Progress(steps, process.stderr, paint),
    say: (line = "") => process.stdout.write(`${line}\n`),
  };
  return HANDLERS[cmd.spec.name](ctx);
}

/** The cluster recorded in the state directory, or a Failure saying what to do. */
function open({ lib, dir, self }: Ctx): Cluster {
  const found = lib.inspectStateDir(dir);
  if (found.kind === "cluster") return lib.LocalCluster.open(dir);
  const hint = found.kind === "leftover" ? ` (only the files of an earlier cluster: ${self} logs; ${self} down removes them)` : "";
  throw new Failure(`no cluster in ${dir}${hint}; start one with: ${self} up`);
}

/** N, or the LB's current target for "active". */
function serverArg(c: Cluster, arg: unknown): number {
  if (arg !== "active") return c.server(arg as number).index;
  const target = c.lbTarget();
  if (target === undefined) throw new Failure("the LB has no target yet (its poller has not finished a round)");
  return target;
}

const running = (c: Cluster, i: number) => c.status().servers.find((s) => s.index === i)?.running ?? false;

async function up(ctx: Ctx): Promise<number> {
  const { lib, dir, cmd, self, say } = ctx;
  const refusal = lib.upRefusal(lib.inspectStateDir(dir), dir, self);
  if (refusal) throw new Failure(refusal);
  const options = upOptions(cmd.options);
  const servers = options.servers ?? 2;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\ninterrupted (${signal}): removing what up created ...\n`);
    lib.destroyCluster(dir);
    process.exit(128 + constants.signals[signal]);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const cluster = await ctx.progress(1).step(`up: ${servers} server${servers > 1 ? "s" : ""} + the load balancer, until the LB target is healthy`, () =>
    lib.LocalCluster.up({ stateDir: dir, ...options }),
  );
  process.removeListener("SIGINT", onSignal).removeListener("SIGTERM", onSignal);
  const lb = cluster.state.lb;
  say(`Local cluster up: ${servers} server${servers > 1 ? "s" : ""} behind the load balancer, which sends new flows to s${cluster.lbTarget()}.`);
  say(`  endpoint  ${cluster.endpoint} (UDP), reachable from the cluster's client namespaces`);
  say(`  state     ${dir} (prefix ${cluster.prefix}; logs: ${self} logs)`);
  say(`  health    /health every ${lb.healthIntervalSeconds} s, unhealthy after ${lb.unhealthyThreshold}, healthy after ${lb.healthyThreshold}`);
  if (options.lifetimeSeconds) say(`  lifetime  tears itself down after ${options.lifetimeSeconds} s`);
  const next = ["client add alice", "client connect alice", `client exec alice -- ping -c 3 ${TUNNEL}`, "kill-server active --watch alice", "status", "down"];
  say(`\nNext:\n${next.map((n) => `  ${self} ${n}`).join("\n")}`);
  return EXIT.ok;
}

async function down({ lib, dir, cmd, progress, say }: Ctx): Promise<number> {
  const keepFiles = cmd.options["keep-logs"] === true;
  const found = lib.inspectStateDir(dir);
  if (found.kind !== "cluster") {
    const removed = found.kind === "leftover" && !keepFiles && lib.removeLeftovers(dir);
    say(`nothing to tear down in ${dir}${removed ? " (removed the files of an earlier cluster)" : found.kind === "foreign" ? " (it holds other files: left alone)" : ""}`);
    return EXIT.ok;
  }
  const prefix = found.state.prefix;
  const report = await progress(1).step(`down: cluster ${prefix}`, () => lib.destroyCluster(dir, { keepFiles }));
  const left = lib.findLeftovers(prefix);
  if (left.namespaces.length || left.sockets.length) throw new Failure(`could not remove ${[...left.namespaces, ...left.sockets].join(", ")}`);
  say(`removed cluster ${prefix}: ${report.namespaces.length} namespaces (${report.namespaces.join(", ") || "none left"}), ${report.processes} processes, ${report.sockets.length} WireGuard sockets`);
  say(keepFiles ? `logs and store kept in ${dir} (down again removes them)` : `removed ${dir}`);
  return EXIT.ok;
}

async function status(ctx: Ctx): Promise<number> {
  const json = ctx.lib.statusJson(open(ctx));
  if (ctx.cmd.options.json) ctx.say(JSON.stringify(json, null, 2));
  else process.stdout.write(ctx.lib.renderStatus(json, painter(colorEnabled(process.stdout))));
  return EXIT.ok;
}

async function logs({ lib, dir, cmd, say }: Ctx): Promise<number> {
  const [source, index] = cmd.args as [string | undefined, number | undefined];
  const files = lib.logFiles(dir, source === "server" ? { kind: "server", index: index! } : { kind: "lb" });
  if (!files.length) {
    const servers = lib.loggedServers(dir);
    throw new Failure(`no ${source === "server" ? `logs of s${index}` : "LB logs"} in ${dir}${servers.length ? ` (servers with logs: ${servers.map((s) => `s${s}`).join(", ")})` : ""}`);
  }
  for (const file of files) {
    say(`==> ${file} <==`);
    const lines = lib.tailFile(file, (cmd.options.lines as number | undefined) ?? 40);
    say(lines.length ? lines.join("\n") : "(empty)");
    say();
  }
  return EXIT.ok;
}

async function clientAdd(ctx: Ctx): Promise<number> {
  const { lib, dir, cmd, self } = ctx;
  const c = open(ctx);
  const name = cmd.args[0] as string;
  const key = cmd.options["public-key"] as string | undefined;
  const want = cmd.options.server as number | undefined;
  if (want !== undefined && !running(c, c.server(want).index)) throw new Failure(`s${want} is not running (start-server ${want}, or pick another --server)`);
  const { config, server, result } = await c.addClient(name, { ...(want ? { server: want } : {}), args: key ? ["--public-key", key] : [] });
  process.stderr.write(result.stderr.replace(/^(?!$)/gm, `[s${server}] `));
  process.stdout.write(config);
  const file = lib.saveClientConfig(dir, name, config);
  process.stderr.write(`added ${name} on s${server}; its config is saved in ${file}\n`);
  process.stderr.write(lib.configPrivateKey(config)
    ? `next: ${self} client connect ${name}\n`
    : `its config has no private key (you hold it): ${self} client connect ${name} --config FILE, with FILE the full config\n`);
  return EXIT.ok;
}

async function clientConnect(ctx: Ctx): Promise<number> {
  const { lib, dir, cmd, self, say } = ctx;
  const c = open(ctx);
  const name = cmd.args[0] as string;
  const file = cmd.options.config as string | undefined;
  const config = file ? readFileSync(file, "utf8") : lib.readClientConfig(dir, name);
  if (config === undefined) throw new Failure(`no saved config for ${name}: run ${self} client add ${name} first, or pass --config FILE`);
  const key = lib.configPrivateKey(config);
  if (!key) throw new Failure(`${name}'s config has no PrivateKey (added with --public-key): pass --config FILE with the full config`);
  const target = c.lbTarget();
  const progress = ctx.progress(3);
  if (target !== undefined && running(c, target)) {
    const applied = await progress.step(`s${target} (the LB target) applies ${name}'s peer`, () => c.waitForPeer(target, lib.publicKeyOf(key), 10_000));
    if (!applied) progress.note(`warning: s${target} does not have ${name}'s peer after 10 s; connecting anyway`);
  } else progress.skip("the LB target applies the peer", "the LB target is not running");
  const client = await progress.step(`wg-quick up in a client namespace`, () => c.connectClient(name, config));
  const handshake = await progress.step("first handshake through the load balancer", () => c.waitForHandshake(name, 20_000));
  if (!handshake) throw new Failure(`${name} is connected (namespace ${client.namespace}) but has no handshake after 20 s: see ${self} status, ${self} logs`);
  say(`${name} connected: namespace ${client.namespace}, interface ${client.interface}, address ${client.tunnelAddress}, endpoint ${c.endpoint}`);
  say(`try: ${self} client exec ${name} -- ping -c 3 ${TUNNEL}`);
  return EXIT.ok;
}

async function clientExec(ctx: Ctx): Promise<number> {
  const ns = open(ctx).client(ctx.cmd.args[0] as string).namespace;
  const child = spawn("ip", ["netns", "exec", ns, ...ctx.cmd.rest], { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => child.kill(signal); // Ctrl-C reaches the child from the terminal too
  process.on("SIGINT", () => undefined).on("SIGTERM", forward).on("SIGHUP", forward);
  return new Promise((done) => {
    child.on("error", (error) => done((process.stderr.write(`error: ${error.message}\n`), EXIT.failed)));
    child.on("close", (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

async function clientList(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const live = c.status().servers.filter((s) => s.running).map((s) => s.index);
  const server = live.includes(c.lbTarget() ?? 0) ? c.lbTarget()! : live[0];
  if (server === undefined) throw new Failure("no server is running: start one with start-server N");
  const r = await c.wgClient(server, ["list"]);
  if (r.code !== 0) throw new Failure(`wg-client list on s${server} failed: ${r.stderr.trim()}`);
  ctx.say(`Clients in the shared store (wg-client list on s${server}; handshakes as s${server} saw them):`);
  process.stdout.write(r.stdout);
  const here = c.status().clients;
  ctx.say(`\nConnected on this machine: ${here.length ? here.map((x) => `${x.name} (${x.tunnelAddress}, namespace ${x.namespace})`).join(", ") : "none"}`);
  return EXIT.ok;
}

async function clientDisconnect(ctx: Ctx): Promise<number> {
  const name = ctx.cmd.args[0] as string;
  await open(ctx).disconnectClient(name);
  ctx.say(`${name} disconnected (namespace removed). Its peer stays on the servers: ${ctx.self} client connect ${name}, or ${ctx.self} client revoke ${name}`);
  return EXIT.ok;
}

async function clientRevoke(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const name = ctx.cmd.args[0] as string;
  const server = c.status().servers.find((s) => s.running)?.index;
  if (server === undefined) throw new Failure("no server is running: start one with start-server N");
  const r = await c.wgClient(server, ["revoke", name]);
  if (r.code !== 0) throw new Failure(`wg-client revoke ${name} on s${server} failed: ${r.stderr.trim()}`);
  if (c.state.clients.some((x) => x.name === name)) await c.disconnectClient(name);
  ctx.lib.removeClientConfig(ctx.dir, name);
  ctx.say(`revoked ${name} on s${server}: every server's sync loop removes the peer within seconds`);
  return EXIT.ok;
}

async function killServer(ctx: Ctx): Promise<number> {
  const { cmd, self, say } = ctx;
  const c = open(ctx);
  const n = serverArg(c, cmd.args[0]);
  const lb = c.state.lb;
  const watch = cmd.options.watch as string | undefined;
  if (!watch) {
    const wasTarget = c.lbTarget() === n;
    const wasRunning = running(c, n);
    await c.killServer(n);
    say(`killed s${n}${wasTarget ? " (the LB target)" : ""}${wasRunning ? "" : " (it was not running)"}: SIGKILL to everything in its namespace, link down`);
    if (wasTarget) say(`the LB moves new flows after ${lb.unhealthyThreshold} failed probes, ${lb.healthIntervalSeconds} s apart; watch: ${self} status`);
    say(`bring it back: ${self} start-server ${n}`);
    return EXIT.ok;
  }
  const r = await ctx.lib.watchFailover(c, { client: watch, server: n, onEvent: (t, text) => say(ctx.lib.formatFailoverEvent(t, text)) });
  say(`\n${ctx.lib.formatFailoverSummary(watch, r).join("\n")}`);
  say(`bring it back: ${self} start-server ${n}`);
  return EXIT.ok;
}

async function startServer(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const n = c.server(ctx.cmd.args[0] as number).index;
  if (running(c, n)) return (ctx.say(`s${n} is already running`), EXIT.ok);
  await ctx.progress(1).step(`start s${n}: bootstrap, sync loop, agent`, () => c.startServer(n));
  ctx.say(`s${n} started; the LB counts it healthy after ${c.state.lb.healthyThreshold} good probes (and keeps its current target)`);
  return EXIT.ok;
}

async function drainServer(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const n = serverArg(c, ctx.cmd.args[0]);
  c.drainServer(n, "drained with local-cluster.ts drain-server");
  ctx.say(`s${n} drains: its agent answers 503, so the LB stops choosing it${c.lbTarget() === n ? " and moves new flows" : ""}; undo: ${ctx.self} undrain-server ${n}`);
  return EXIT.ok;
}

async function undrainServer(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const n = c.server(ctx.cmd.args[0] as number).index;
  c.undrainServer(n);
  ctx.say(`s${n} no longer drains: its agent answers 200 again`);
  return EXIT.ok;
}

async function addServer(ctx: Ctx): Promise<number> {
  const c = open(ctx);
  const next = Math.max(0, ...c.state.servers.map((s) => s.index)) + 1;
  await ctx.progress(1).step(`add s${next}: namespace, bootstrap, sync loop, agent`, () => c.addServer());
  ctx.say(`s${next} started; the LB probes it from its next round`);
  return EXIT.ok;
}

const HANDLERS: Record<CommandName, (ctx: Ctx) => Promise<number>> = {
  up, down, status, logs,
  "client add": clientAdd, "client connect": clientConnect, "client exec": clientExec, "client list": clientList,
  "client disconnect": clientDisconnect, "client revoke": clientRevoke,
  "kill-server": killServer, "start-server": startServer, "drain-server": drainServer, "undrain-server": undrainServer, "add-server": addServer,
};

runMain(PROGRAM, main);
