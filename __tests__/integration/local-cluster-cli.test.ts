/**
 * scripts/local-cluster.ts without a cluster (no root needed): --help of the command and every
 * subcommand, usage errors (exit 2), the prerequisite messages (exit 1), and the library parts
 * behind the command line (argument parsing, state-directory checks, saved client configs,
 * status rendering and schema, logs). The real CLI is spawned; the cluster tests are in
 * local-cluster.test.ts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  inspectStateDir, prerequisiteError, publicKeyOf, readClientConfig, removeLeftovers, renderStatus, saveClientConfig, savedClientConfigs,
  statusJsonSchema, tailFile, upRefusal, logFiles, parseLbEvent, formatFailoverEvent, formatFailoverSummary, type StatusJson,
} from "../../scripts/lib/cluster";
import { findProgram, prerequisiteReport } from "../../scripts/lib/cluster/prerequisites";
import { parseLocalClusterArgs, selfCommand, upOptions, USAGE, type ParsedCommand } from "../../scripts/lib/cluster/cli-args";
import { COMMANDS } from "../../scripts/lib/cluster/commands";

const REPO = join(__dirname, "..", "..");
const SCRIPT = join(REPO, "scripts", "local-cluster.ts");

/**
 * Runs the real CLI (node --import tsx: the shebang's runner without npx's start-up). `preload`:
 * a file node loads first (--require), e.g. one that makes the process look unprivileged.
 */
function cli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; preload?: string } = {}) {
  const argv = [...(opts.preload ? ["--require", opts.preload] : []), "--import", "tsx", SCRIPT, ...args];
  const r = spawnSync(process.execPath, argv, { cwd: REPO, encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1", ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const parsed = (argv: string[]) => parseLocalClusterArgs(argv) as ParsedCommand;
const tmp = () => mkdtempSync(join(tmpdir(), "wg-ha-lc-cli-"));

describe("--help (spawned CLI)", () => {
  test("the main help lists every command, the global options, prerequisites and exit codes, on stdout", () => {
    const r = cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(USAGE);
    expect(r.stdout).toMatch(/^Usage: \.\/scripts\/local-cluster\.ts COMMAND \[options\]/);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name}`);
    expect(r.stdout).toMatch(/Exit codes: 0 ok, 1 failed .*, 2 usage error/);
    expect(r.stdout).toContain("wireguard-go nftables conntrack");
  });

  test("through the shebang (node --import tsx), as the README runs it", () => {
    const r = spawnSync(SCRIPT, ["-h"], { cwd: REPO, encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(USAGE);
  });

  test.each(COMMANDS.map((c) => [c.name]))("%s --help: its usage and every flag, exit 0", (name) => {
    const spec = COMMANDS.find((c) => c.name === name)!;
    const r = cli([...name.split(" "), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`^Usage: \\./scripts/local-cluster\\.ts ${name}`));
    for (const flag of [...Object.keys(spec.options), "state-dir", "help"]) expect(r.stdout).toContain(`--${flag}`);
  });

  test("client --help lists the client commands", () => {
    const r = cli(["client", "--help"]);
    expect(r.code).toBe(0);
    for (const sub of ["add", "connect", "exec", "list", "disconnect", "revoke"]) expect(r.stdout).toContain(`client ${sub}`);
  });
});

describe("usage errors exit 2 with one error line and a pointer to --help", () => {
  test.each([
    ["no command", [], /a command is needed/],
    ["an unknown command", ["bogus"], /unknown command "bogus"/],
    ["an unknown flag", ["up", "--bogus"], /up: Unknown option '--bogus'/],
    ["a flag of another command", ["status", "--servers", "3"], /status: Unknown option '--servers'/],
    ["a bad number", ["up", "--servers", "0"], /--servers must be a whole number from 1 to 50, not "0"/],
    ["a non-number", ["up", "--health-interval", "fast"], /--health-interval must be a number of seconds/],
    ["a bad prefix", ["up", "--prefix", "Bad-1"], /--prefix must be 2-8 lower-case/],
    ["client without a command", ["client"], /client needs a command: add, connect, exec, list, disconnect, revoke/],
    ["an unknown client command", ["client", "frob", "x"], /unknown client command "frob"/],
    ["client add without NAME", ["client", "add"], /client add: missing NAME/],
    ["an invalid client name", ["client", "add", "Alice!"], /invalid client name "Alice!"/],
    ["client exec without a command", ["client", "exec", "alice"], /the command to run is missing/],
    ["client exec without --", ["client", "exec", "alice", "ping"], /unexpected argument "ping" \(put the command after --\)/],
    ["kill-server without N", ["kill-server"], /kill-server: missing N\|active/],
    ["kill-server with a bad N", ["kill-server", "first"], /the server number N must be a whole number/],
    ["extra arguments", ["down", "now"], /down: unexpected argument "now"/],
    ["logs server without N", ["logs", "server"], /logs server: which server/],
    ["logs of an unknown source", ["logs", "vpc"], /SOURCE is lb or server/],
    ["--state-dir without a value", ["--state-dir"], /--state-dir needs a value/],
  ])("%s", (_name, args, message) => {
    const r = cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^error: .*\nRun \.\/scripts\/local-cluster\.ts --help for usage\.\n$/);
  });
});

describe("prerequisites: exit 1 naming the privilege or the packages", () => {
  test.each([
    ["up", "up"],
    ["status", "status"],
    ["client add alice", "client add"],
    ["kill-server 1", "kill-server"],
    ["down", "down"],
  ])("%s without root: names root and sudo, exit 1", (command, name) => {
    // As root, a preloaded file makes the CLI see uid 1000 (setpriv to another user would need
    // the checkout to be readable by that user, which a CI clone need not be).
    const dir = tmp();
    try {
      const preload = join(dir, "uid1000.js");
      writeFileSync(preload, "process.getuid = () => 1000;\n");
      const r = cli(command.split(" "), { preload });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: .* needs:\n {2}- root privileges \(network namespaces, nftables, WireGuard interfaces\): run it with sudo\n/);
      expect(r.stderr.split("\n")[0]).toBe(`error: ./scripts/local-cluster.ts ${name} needs:`);
      expect(r.stdout).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("logs needs no root (it reads the state directory)", () => {
    const dir = tmp();
    try {
      const preload = join(dir, "uid1000.js");
      writeFileSync(preload, "process.getuid = () => 1000;\n");
      const r = cli(["logs", "--state-dir", join(dir, "none")], { preload });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: no LB logs in ${join(dir, "none")}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("missing programs: the exact apt packages and the apt-get command", () => {
    const bin = tmp();
    try {
      symlinkSync(process.execPath, join(bin, "node")); // a PATH with node only (sbin directories are searched anyway)
      const r = cli(["up"], { env: { PATH: bin } });
      expect(r.code).toBe(1);
      const report = prerequisiteReport({ path: bin });
      expect(report.packages).toEqual(expect.arrayContaining(["wireguard-tools", "curl"])); // in /usr/bin: not on this PATH
      expect(r.stderr).toContain(`Install the packages with:\n  sudo apt-get install -y ${report.packages.join(" ")}\n`);
      expect(r.stderr).toMatch(/- the packages .* \(missing programs: wg, wg-quick, wireguard-go/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test("prerequisiteError: one line per problem; the install line only when packages are checked", () => {
    const report = { platform: "darwin", root: false, programs: ["nft", "conntrack"], packages: ["nftables", "conntrack"] };
    expect(prerequisiteError("x up", report)).toBe(
      "x up needs:\n  - Linux: network namespaces are Linux only (this is darwin)\n" +
        "  - root privileges (network namespaces, nftables, WireGuard interfaces): run it with sudo\n" +
        "  - the packages nftables conntrack (missing programs: nft, conntrack)\nInstall the packages with:\n  sudo apt-get install -y nftables conntrack",
    );
    expect(prerequisiteError("x down", report, { packages: false })).not.toMatch(/apt-get/);
    expect(prerequisiteError("x up", { root: true, programs: [], packages: [] })).toBeUndefined();
  });
});

describe("argument parsing", () => {
  test("up's flags become LocalCluster.up options; unset flags keep the library defaults", () => {
    const p = parsed(["up", "--servers", "3", "--health-interval", "0.5", "--unhealthy-threshold", "3", "--healthy-threshold", "2", "--sync-interval", "2", "--lifetime", "600", "--prefix", "demo1"]);
    expect(upOptions(p.options)).toEqual({ servers: 3, healthIntervalSeconds: 0.5, unhealthyThreshold: 3, healthyThreshold: 2, syncIntervalSeconds: 2, lifetimeSeconds: 600, prefix: "demo1" });
    expect(upOptions(parsed(["up"]).options)).toEqual({});
  });

  test("--state-dir before or after the command; client exec keeps everything after --", () => {
    expect(parsed(["--state-dir", "/x", "status"]).stateDir).toBe("/x");
    expect(parsed(["--state-dir=/y", "status", "--json"]).options.json).toBe(true);
    expect(parsed(["status", "--state-dir", "/z"]).stateDir).toBe("/z");
    const exec = parsed(["client", "exec", "alice", "--", "ping", "-c", "1", "--", "x"]);
    expect(exec.args).toEqual(["alice"]);
    expect(exec.rest).toEqual(["ping", "-c", "1", "--", "x"]);
    expect(parsed(["client", "exec", "alice", "--", "sh", "--help"]).rest).toEqual(["sh", "--help"]); // the command's --help, not ours
  });

  test("servers by number or 'active'; logs sources", () => {
    expect(parsed(["kill-server", "active", "--watch", "alice"])).toMatchObject({ args: ["active"], options: { watch: "alice" } });
    expect(parsed(["drain-server", "2"]).args).toEqual([2]);
    expect(() => parsed(["start-server", "active"])).toThrow(/whole number/);
    expect(parsed(["logs", "server", "2", "--lines", "5"])).toMatchObject({ args: ["server", 2], options: { lines: 5 } });
    expect(parsed(["logs"]).args).toEqual([]);
  });
});

test.each([
  ["from the repository", { cwd: "/r", env: {} }, "./scripts/local-cluster.ts"],
  ["from its scripts directory, through sudo", { cwd: "/r/scripts", env: { SUDO_USER: "me" } }, "sudo ./local-cluster.ts"],
  ["from elsewhere: the absolute path", { cwd: "/tmp", env: {} }, "/r/scripts/local-cluster.ts"],
  ["through the npm script", { cwd: "/r", env: { npm_lifecycle_event: "local-cluster" } }, "npm run local-cluster --"],
  ["with a state directory", { cwd: "/r", env: {}, stateDir: "/tmp/x" }, "./scripts/local-cluster.ts --state-dir /tmp/x"],
  ["with a state directory that needs quotes", { cwd: "/r", env: {}, stateDir: "/tmp/my dir's" }, "./scripts/local-cluster.ts --state-dir '/tmp/my dir'\\''s'"],
])("the command in next-step hints: %s", (_name, o, want) => {
  expect(selfCommand({ repoRoot: "/r", ...o })).toBe(want);
});

test("failover timeline and summary lines", () => {
  expect(formatFailoverEvent(null, "alice pings")).toBe("           alice pings");
  expect(formatFailoverEvent(15.567, "first reply")).toBe("+ 15.57 s  first reply");
  expect(formatFailoverSummary("alice", { server: 1, killedAt: 0, outageSeconds: 15.57, switchSeconds: 9.67, newTarget: 2, lostReplies: 77 })).toEqual([
    "alice's outage: 15.57 s (about 77 pings unanswered); the LB moved to s2 after 9.67 s.",
    "The rest is WireGuard's own: a client that keeps sending re-handshakes 15 s after it last heard a server.",
  ]);
  expect(formatFailoverSummary("bob", { server: 3, killedAt: 0, outageSeconds: 0.2, lostReplies: 0 })).toEqual(["bob's outage: 0.20 s (about 0 pings unanswered)."]);
});

describe("state directory checks (up refuses, down removes only what is ours)", () => {
  test("none, leftover files of a gone cluster, foreign files", () => {
    const dir = tmp();
    try {
      expect(inspectStateDir(join(dir, "missing"))).toEqual({ kind: "none" });
      expect(inspectStateDir(dir)).toEqual({ kind: "none" });
      expect(upRefusal(inspectStateDir(dir), dir, "lc")).toBeUndefined();
      mkdirSync(join(dir, "lb"));
      writeFileSync(join(dir, "lb", "events.log"), "x\n");
      mkdirSync(join(dir, "servers", "s1"), { recursive: true });
      expect(inspectStateDir(dir).kind).toBe("leftover");
      expect(upRefusal(inspectStateDir(dir), dir, "lc")).toBe(`${dir} holds the files of an earlier cluster that is gone (a failed up, or its lifetime ended): read them with lc logs, then run down first: lc down`);
      writeFileSync(join(dir, "notes.txt"), "mine");
      expect(inspectStateDir(dir)).toEqual({ kind: "foreign", entries: expect.arrayContaining(["notes.txt", "lb", "servers"]) });
      expect(removeLeftovers(dir)).toBe(false);
      expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine");
      rmSync(join(dir, "notes.txt"));
      expect(removeLeftovers(dir)).toBe(true);
      expect(inspectStateDir(dir)).toEqual({ kind: "none" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a recorded cluster whose processes are gone is still a cluster (down first)", () => {
    const dir = tmp();
    try {
      const state = { version: 1, prefix: "zz", stateDir: dir, createdAt: "2026-01-01T00:00:00.000Z", processes: [{ pid: 999999999, startTime: "1", what: "x" }], servers: [], clients: [] };
      writeFileSync(join(dir, "state.json"), JSON.stringify(state));
      const found = inspectStateDir(dir);
      expect(found).toMatchObject({ kind: "cluster", alive: false });
      expect(upRefusal(found, dir, "lc")).toBe(`a cluster is recorded in ${dir} but none of its processes runs (a crash, or a reboot); run down first: lc down`);
      expect(upRefusal({ ...found, alive: true } as never, dir, "lc")).toMatch(/^a cluster is already running in .* \(prefix zz, up since 2026-01-01T00:00:00\.000Z\); run down first: lc down$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("saved client configs", () => {
  test("saved 0600 under configs/, listed, read back; names checked", () => {
    const dir = tmp();
    try {
      const file = saveClientConfig(dir, "alice", "[Interface]\nPrivateKey = k");
      expect(file).toBe(join(dir, "configs", "alice.conf"));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      chmodSync(file, 0o644);
      saveClientConfig(dir, "alice", "[Interface]\nPrivateKey = k2\n");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readClientConfig(dir, "alice")).toBe("[Interface]\nPrivateKey = k2\n");
      saveClientConfig(dir, "bob", "x");
      expect(savedClientConfigs(dir)).toEqual(["alice", "bob"]);
      expect(readClientConfig(dir, "carol")).toBeUndefined();
      expect(() => saveClientConfig(dir, "../etc", "x")).toThrow(/invalid client name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("publicKeyOf: RFC 7748 section 6.1 vector, and the same as wg pubkey", () => {
    const alicePrivate = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex").toString("base64");
    const alicePublic = Buffer.from("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "hex").toString("base64");
    expect(publicKeyOf(alicePrivate)).toBe(alicePublic);
    expect(() => publicKeyOf("short")).toThrow(/not a WireGuard private key/);
    if (findProgram("wg")) {
      const priv = spawnSync("wg", ["genkey"], { encoding: "utf8" }).stdout.trim();
      expect(publicKeyOf(priv)).toBe(spawnSync("wg", ["pubkey"], { input: `${priv}\n`, encoding: "utf8" }).stdout.trim());
    }
  });
});

describe("status document and rendering", () => {
  const doc: StatusJson = {
    schemaVersion: 1,
    prefix: "demo",
    stateDir: "/s",
    createdAt: "2026-01-01T00:00:00.000Z",
    expiresAt: null,
    endpoint: "203.0.113.1:51820",
    lb: { target: 2, pollerRunning: true, updatedAt: 1000, switches: 1, healthIntervalSeconds: 5, unhealthyThreshold: 2, healthyThreshold: 2, healthTimeoutSeconds: 2 },
    servers: [
      { index: 1, namespace: "demo-s1", interface: "demos1", address: "10.40.1.2", running: false, lbTarget: false, healthy: false, lastHealthCode: null, lastHealthError: "timeout", draining: false, peers: 1, syncAgeSeconds: 31.2, syncSource: "store", syncError: null },
      { index: 2, namespace: "demo-s2", interface: "demos2", address: "10.40.2.2", running: true, lbTarget: true, healthy: true, lastHealthCode: 200, lastHealthError: null, draining: true, peers: 1, syncAgeSeconds: 0.5, syncSource: "store", syncError: null },
    ],
    clients: [{ name: "alice", namespace: "demo-c1", interface: "democ1", tunnelAddress: "10.100.0.2", running: true }],
    savedConfigs: ["alice", "bob"],
  };

  test("the schema accepts the document and rejects unknown or missing fields", () => {
    expect(statusJsonSchema.parse(doc)).toEqual(doc);
    expect(() => statusJsonSchema.parse({ ...doc, extra: 1 })).toThrow();
    const { lb: _lb, ...noLb } = doc;
    expect(() => statusJsonSchema.parse(noLb)).toThrow();
    expect(() => statusJsonSchema.parse({ ...doc, servers: [{ ...doc.servers[0], healthy: "yes" }] })).toThrow();
  });

  test("renders servers, target, health, peers, sync age, drain, clients and idle configs", () => {
    const text = renderStatus(doc, undefined, 1002);
    expect(text).toContain("load balancer: target s2, health poller running, /health every 5 s (unhealthy after 2, healthy after 2), 1 switch, last round 2.0 s ago");
    expect(text).toMatch(/^SERVER +LB +PROCESSES +HEALTH +PEERS +SYNC AGE +NOTES$/m);
    expect(text).toMatch(/^s1 +stopped +unhealthy \(no answer\) +1 +31 s$/m);
    expect(text).toMatch(/^s2 +target +running +healthy \(last 200\) +1 +0\.5 s +draining$/m);
    expect(text).toMatch(/^alice +10\.100\.0\.2 +demo-c1 +running$/m);
    expect(text).toContain("saved configs, not connected: bob");
    expect(text).not.toMatch(/\u001b\[/);
  });
});

describe("logs and LB events", () => {
  test("log files by source, tail, event lines", () => {
    const dir = tmp();
    try {
      mkdirSync(join(dir, "lb"));
      mkdirSync(join(dir, "servers", "s2", "local"), { recursive: true });
      writeFileSync(join(dir, "lb", "events.log"), "a\nb\nc\n");
      writeFileSync(join(dir, "servers", "s2", "sync.log"), "x\n");
      expect(logFiles(dir, { kind: "lb" })).toEqual([join(dir, "lb", "events.log")]);
      expect(logFiles(dir, { kind: "server", index: 2 })).toEqual([join(dir, "servers", "s2", "sync.log")]);
      expect(logFiles(dir, { kind: "server", index: 1 })).toEqual([]);
      expect(tailFile(join(dir, "lb", "events.log"), 2)).toEqual(["b", "c"]);
      expect(parseLbEvent("2026-11-25T11:21:36.281Z 1795605696.281 switch s1 -> s2")).toEqual({ at: 1795605696.281, message: "switch s1 -> s2" });
      expect(parseLbEvent("garbage")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
