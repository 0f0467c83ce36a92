/**
 * Every command the docs tell people to run is one the project provides: GIVEN README.md and
 * docs/**.md, WHEN every `./scripts/deploy.ts ...`, `npm run deploy -- ...`, `wg-client ...`,
 * `./scripts/local-cluster.ts ...` and `npm run diagram ...` in them is compared with that tool's
 * own --help (each run once; local-cluster's per-command help from the parser its CLI prints it
 * from), THEN every subcommand and flag exists; every `journalctl -u UNIT`
 * names a unit the templates install; every `npm run NAME` is a script of package.json; every agent
 * URL path is one the agent serves.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { parseLocalClusterArgs } from "../../scripts/lib/cluster/cli-args";
import {
  checkInvocation,
  codeSnippets,
  helpOptions,
  invocations,
  localClusterCommand,
  localClusterCommands,
  unitNames,
  wgClientCommands,
  type Helps,
  type Invocation,
  type Snippet,
} from "./cli-usage";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
  );
}

const DOCS = [join(ROOT, "README.md"), ...markdownFiles(join(ROOT, "docs"))].sort();
const snippets: Snippet[] = DOCS.flatMap((f) => codeSnippets(relative(ROOT, f), readFileSync(f, "utf8")));
const found = invocations(snippets);
const where = (s: Snippet) => `${s.file}:${s.line}: ${s.text.trim()}`;

async function help(command: string, args: string[]): Promise<string> {
  const { stdout } = await run(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 });
  return stdout;
}

let helps: Helps;
let agentHelp: string;

beforeAll(async () => {
  const cluster = (args: string[]) => help(TSX, ["scripts/local-cluster.ts", ...args]);
  const [deploy, diagram, wgClient, clusterTop, agent] = await Promise.all([
    help(TSX, ["scripts/deploy.ts", "--help"]),
    help(TSX, ["scripts/diagram.ts", "--help"]),
    help(join(ROOT, "templates/bin/wg-client"), ["--help"]),
    cluster(["--help"]),
    help("python3", ["templates/agent/wg-ha-agent.py", "--help"]),
  ]);
  agentHelp = agent;
  const commands = localClusterCommands(clusterTop);
  // One --help per local-cluster command the docs use (and at least `up`), in parallel.
  const used = new Set(["up"]);
  for (const inv of found.filter((i) => i.tool === "local-cluster.ts")) {
    const c = localClusterCommand(inv.args, commands);
    if (c && commands.has(c)) used.add(c);
  }
  // The per-command help comes from the parser the CLI prints it from (no process per command).
  const perCommand = new Map(
    [...used].map((c) => {
      const parsed = parseLocalClusterArgs([...c.split(" "), "--help"]);
      if (!parsed.help) throw new Error(`${c} --help did not return help`);
      return [c, helpOptions(parsed.text)] as const;
    }),
  );
  helps = {
    deploy: helpOptions(deploy),
    diagram: helpOptions(diagram),
    wgClient: wgClientCommands(wgClient),
    localCluster: { commands, global: helpOptions(clusterTop), perCommand },
  };
}, 60_000);

describe("the --help texts parse (else every check below would pass vacuously)", () => {
  test("deploy.ts", () => {
    expect([...helps.deploy.keys()]).toEqual(expect.arrayContaining(["--environment", "--dry-run", "--plan-only", "--auto-approve", "--destroy", "--help", "-h"]));
    expect(helps.deploy.get("--environment")).toBe(true);
    expect(helps.deploy.get("--dry-run")).toBe(false);
  });
  test("wg-client", () => {
    expect([...helps.wgClient.keys()]).toEqual(["add", "list", "show", "revoke"]);
    expect(helps.wgClient.get("add")?.get("--public-key")).toBe(true);
    expect(helps.wgClient.get("show")?.has("--qr")).toBe(true);
  });
  test("local-cluster.ts", () => {
    expect([...helps.localCluster.commands]).toEqual(expect.arrayContaining(["up", "down", "status", "client add", "client connect", "kill-server", "logs"]));
    expect(helps.localCluster.global.get("--state-dir")).toBe(true);
    expect(helps.localCluster.perCommand.get("up")?.get("--servers")).toBe(true);
  });
  test("diagram.ts", () => {
    expect(helps.diagram.get("--environment")).toBe(true);
    expect(helps.diagram.get("--check")).toBe(false);
  });
  test("the docs contain invocations of every tool (the extraction works)", () => {
    const tools = new Set(found.map((i) => i.tool));
    expect([...tools].sort()).toEqual(["deploy.ts", "diagram.ts", "local-cluster.ts", "wg-client"]);
    expect(found.length).toBeGreaterThan(30);
  });
});

describe("commands in README.md and docs/", () => {
  test("every deploy.ts, wg-client, local-cluster.ts and diagram invocation uses real subcommands and flags", () => {
    const problems = found.flatMap((inv) => checkInvocation(inv, helps).map((p) => `${where(inv)}\n    -> ${p}`));
    expect(problems).toEqual([]);
  });

  test("every journalctl -u / systemctl wg-ha-* unit is one the templates install", () => {
    const systemdDir = join(ROOT, "templates", "systemd");
    const units = new Set(readdirSync(systemdDir).filter((f) => f.endsWith(".service")).map((f) => f.replace(/\.service$/, "")));
    // Units the first-boot scripts write (e.g. the Ubuntu EFS TLS tunnel).
    const osDir = join(ROOT, "templates", "os");
    for (const f of readdirSync(osDir)) {
      for (const m of readFileSync(join(osDir, f), "utf8").matchAll(/\/etc\/systemd\/system\/([\w@.-]+)\.service/g)) units.add(m[1]);
    }
    expect(units.has("wg-ha-sync")).toBe(true);
    const used = snippets.flatMap((s) => unitNames(s.text).map((u) => ({ s, u })));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter(({ u }) => !units.has(u)).map(({ s, u }) => `${where(s)} -> unit ${u}`)).toEqual([]);
  });

  test("every npm run NAME is a script in package.json", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);
    const bad = snippets.flatMap((s) =>
      [...s.text.matchAll(/\bnpm run (?:--silent )?([\w:-]+)/g)].filter((m) => !scripts.includes(m[1])).map((m) => `${where(s)} -> npm run ${m[1]}`),
    );
    expect(bad).toEqual([]);
  });

  test("every URL of the agent's port names a path the agent serves", () => {
    const serves = /^Serves (.*)$/m.exec(agentHelp)?.[1] ?? "";
    const paths = new Set([...serves.matchAll(/ (\/[a-z]+)/g)].map((m) => m[1]));
    expect([...paths].sort()).toEqual(["/drain", "/health", "/metrics"]);
    const bad = snippets.flatMap((s) =>
      [...s.text.matchAll(/http:\/\/[^\s/'"]+:8080(\/[\w-]*)?/g)].filter((m) => !paths.has(m[1] ?? "")).map((m) => `${where(s)} -> ${m[0]}`),
    );
    expect(bad).toEqual([]);
  });
});

describe("the checker itself", () => {
  const inv = (tool: string, args: string): Invocation => ({ file: "f.md", line: 1, text: "", tool, args: args.split(" ").filter(Boolean) });
  test("flags a wrong flag, a wrong subcommand and a stray argument", () => {
    expect(checkInvocation(inv("deploy.ts", "--environment dev --plan"), helps)).toEqual(["unknown option --plan"]);
    expect(checkInvocation(inv("deploy.ts", "dev"), helps)).toEqual(["unexpected argument dev"]);
    expect(checkInvocation(inv("deploy.ts", "--environment"), helps)).toEqual(["--environment needs a value"]);
    expect(checkInvocation(inv("wg-client", "remove alice"), helps)).toEqual(["unknown command remove"]);
    expect(checkInvocation(inv("wg-client", "add alice --key X"), helps)).toEqual(["unknown option --key"]);
    expect(checkInvocation(inv("local-cluster.ts", "kill alice"), helps)).toEqual(["unknown command kill"]);
    expect(checkInvocation(inv("local-cluster.ts", "client alice"), helps)).toEqual(['"client" needs a subcommand']);
    expect(checkInvocation(inv("local-cluster.ts", "up --nodes 3"), helps)).toEqual(["unknown option --nodes"]);
  });
  test("accepts placeholders, values and what follows --", () => {
    expect(checkInvocation(inv("deploy.ts", "--environment NAME --target ADDR --var-file=x.tfvars"), helps)).toEqual([]);
    expect(checkInvocation(inv("wg-client", "add bob --public-key <KEY> --qr"), helps)).toEqual([]);
    expect(checkInvocation(inv("local-cluster.ts", "client exec alice -- ping -c 1 10.100.0.1"), helps)).toEqual([]);
    expect(checkInvocation(inv("local-cluster.ts", "kill-server active --watch alice --state-dir /tmp/c"), helps)).toEqual([]);
  });
  test("finds invocations in fenced blocks (with continuation lines) and inline code, up to the end of the command", () => {
    const md = [
      "Run `sudo wg-client show alice --qr` or:",
      "```bash",
      "./scripts/deploy.ts --environment dev \\",
      "  --plan-only   # comment --bogus, wg-client frobnicate",
      `aws ssm start-session --parameters '{"command":["sudo wg-client revoke bob"]}' && wg-client list | head`,
      "```",
    ].join("\n");
    const got = invocations(codeSnippets("x.md", md)).map((i) => [i.line, i.tool, i.args.join(" ")]);
    expect(got).toEqual([
      [1, "wg-client", "show alice --qr"],
      [3, "deploy.ts", "--environment dev --plan-only"],
      [5, "wg-client", "revoke bob"],
      [5, "wg-client", "list"],
    ]);
    expect(invocations(codeSnippets("y.md", "`sudo wg-client add bob --public-key \"$(cat bob.pub)\" --qr > bob.txt`")).map((i) => i.args)).toEqual([
      ["add", "bob", "--public-key", "$(cat bob.pub)", "--qr"],
    ]);
    expect(unitNames("sudo journalctl -u wg-ha-sync.service -n 50 && systemctl status wg-ha-agent")).toEqual(["wg-ha-sync", "wg-ha-agent"]);
  });
});
