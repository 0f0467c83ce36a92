/**
 * scripts/local-cluster.ts command line: argv parsed against the declared commands
 * (commands.ts), the help texts generated from them, and every check that makes a usage error
 * (exit 2). Pure (the shared CLI module and the declarations only) so `--help` stays fast.
 */
import { isAbsolute, relative } from "node:path";
import { helpRows, parseFlags, UsageError } from "../cli";
import type { ClusterOptions } from "./cluster";
import { COMMANDS, type CommandSpec, type Value } from "./commands";

export const PROGRAM = "./scripts/local-cluster.ts";
export const DEFAULT_STATE_DIR_NAME = ".local-cluster";

export interface ParsedCommand {
  readonly help: false;
  readonly spec: CommandSpec;
  readonly args: readonly Value[];
  readonly options: Readonly<Record<string, Value | undefined>>;
  /** After `--` (client exec). */
  readonly rest: readonly string[];
  /** --state-dir as given (undefined: the default). */
  readonly stateDir?: string;
}

export type ParsedArgs = { readonly help: true; readonly text: string } | ParsedCommand;

const GLOBAL_HELP: ReadonlyArray<readonly [string, string]> = [
  ["--state-dir DIR", `the cluster's directory (default: ${DEFAULT_STATE_DIR_NAME} in the repository)`],
  ["-h, --help", "show this help"],
];

function synopsis(spec: CommandSpec): string {
  const args = spec.synopsis ?? spec.args.map((a) => (a.optional ? `[${a.name}]` : a.name)).join(" ");
  const opts = Object.entries(spec.options).map(([k, o]) => `[--${k}${o.value ? ` ${o.value}` : ""}]`);
  return [spec.name, args, ...opts].filter(Boolean).join(" ");
}

export function commandHelp(spec: CommandSpec): string {
  const rows = [...Object.entries(spec.options).map(([k, o]) => [`--${k}${o.value ? ` ${o.value}` : ""}`, o.help] as const), ...GLOBAL_HELP];
  const full = synopsis(spec);
  const short = full.length > 80 ? `${full.slice(0, full.indexOf(" [--"))} [options]` : full;
  return `Usage: ${PROGRAM} ${short}${spec.root ? "   (as root)" : ""}

${spec.description}

Options:
${helpRows(rows)}
`;
}

const clientSpecs = () => COMMANDS.filter((c) => c.name.startsWith("client "));

export function clientHelp(): string {
  return `Usage: ${PROGRAM} client COMMAND NAME [options]   (as root)

Clients of the local cluster: keys and addresses come from the servers' own wg-client; each
connected client runs stock wg-quick in a namespace of its own.

Commands:
${helpRows(clientSpecs().map((c) => [synopsis(c).replace(/ \[--[^\]]*\]/g, ""), c.summary] as const))}

Run ${PROGRAM} client COMMAND --help for its options.
`;
}

export const USAGE = `Usage: ${PROGRAM} COMMAND [options]        (Linux; as root: sudo)
       npm run local-cluster -- COMMAND [options]

wg-ha on one Linux machine: the real server templates (bootstrap, sync loop, health agent,
wg-client) in network namespaces, behind an nftables "load balancer" that polls each agent's
/health like the NLB. Add clients, kill servers and watch them fail over, before spending money
on AWS. See docs/local-cluster.md.

Commands:
${helpRows(COMMANDS.map((c) => [`${c.name} ${c.synopsis ?? c.args.map((a) => (a.optional ? `[${a.name}]` : a.name)).join(" ")}`.trim(), c.summary] as const))}

Options for every command:
${helpRows(GLOBAL_HELP)}

Run ${PROGRAM} COMMAND --help for a command's options.
Needs Linux, root, and: iproute2 wireguard-tools wireguard-go nftables conntrack curl
iputils-ping qrencode python3 util-linux procps (Debian/Ubuntu package names).
Exit codes: 0 ok, 1 failed (also a missing prerequisite), 2 usage error;
client exec exits with its command's exit code.
`;

// ---- parsing -----------------------------------------------------------------------------------

const isHelp = (a: string) => a === "-h" || a === "--help";

/** Parses argv (without node and script); throws UsageError for anything invalid. */
export function parseLocalClusterArgs(argv: readonly string[]): ParsedArgs {
  const words = [...argv];
  // Global options may come before the command.
  let stateDir: string | undefined;
  while (words.length && words[0].startsWith("-")) {
    const w = words.shift()!;
    if (isHelp(w)) return { help: true, text: USAGE };
    if (w === "--state-dir") stateDir = requireValue("--state-dir", words.shift());
    else if (w.startsWith("--state-dir=")) stateDir = requireValue("--state-dir", w.slice("--state-dir=".length));
    else throw new UsageError(`Unknown option '${w}' before the command`);
  }
  const first = words.shift();
  if (first === undefined) throw new UsageError("a command is needed (up, status, client, kill-server, down, ...)");
  let name = first;
  if (first === "client") {
    const sub = words[0];
    if (sub === undefined) throw new UsageError(`client needs a command: ${clientSpecs().map((c) => c.name.slice(7)).join(", ")}`);
    if (isHelp(sub)) return { help: true, text: clientHelp() };
    name = `client ${words.shift()}`;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) throw new UsageError(first === "client" ? `unknown client command "${name.slice(7)}"` : `unknown command "${first}"`);

  const dash = words.indexOf("--");
  const own = spec.rest && dash >= 0 ? words.slice(0, dash) : words;
  const rest = spec.rest && dash >= 0 ? words.slice(dash + 1) : [];
  if (own.some(isHelp)) return { help: true, text: commandHelp(spec) };

  const options: Record<string, { type: "string" | "boolean" }> = { "state-dir": { type: "string" } };
  for (const [k, o] of Object.entries(spec.options)) options[k] = { type: o.type };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(own, options, true));
  } catch (error) {
    throw new UsageError(`${spec.name}: ${(error as Error).message}`);
  }
  const max = spec.args.length;
  const min = spec.args.filter((a) => !a.optional).length;
  if (positionals.length < min) throw new UsageError(`${spec.name}: missing ${spec.args.slice(positionals.length).filter((a) => !a.optional).map((a) => a.name).join(" ")}`);
  if (positionals.length > max) throw new UsageError(`${spec.name}: unexpected argument "${positionals[max]}"${spec.rest ? " (put the command after --)" : ""}`);
  const args = positionals.map((p, i) => spec.args[i].parse?.(p) ?? p);
  spec.check?.(args);
  if (spec.rest && rest.length === 0) throw new UsageError(`${spec.name}: the command to run is missing (${spec.name} NAME -- CMD [ARGS...])`);

  const parsed: Record<string, Value | undefined> = {};
  for (const [k, o] of Object.entries(spec.options)) {
    const v = values[k];
    parsed[k] = typeof v === "string" ? (o.parse ? o.parse(v, `--${k}`) : requireValue(`--${k}`, v)) : (v as boolean | undefined);
  }
  if (values["state-dir"] !== undefined) stateDir = requireValue("--state-dir", values["state-dir"] as string);
  return { help: false, spec, args, options: parsed, rest, stateDir };
}

function requireValue(flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
  return value;
}

/** `up`'s flags as LocalCluster.up() options (unset flags: the library's defaults). */
export function upOptions(options: ParsedCommand["options"]): Omit<ClusterOptions, "stateDir"> {
  const o = options as Record<string, number | string | undefined>;
  const pick = <K extends keyof ClusterOptions>(key: K, flag: string) => (o[flag] === undefined ? {} : { [key]: o[flag] });
  return {
    ...pick("servers", "servers"),
    ...pick("prefix", "prefix"),
    ...pick("healthIntervalSeconds", "health-interval"),
    ...pick("unhealthyThreshold", "unhealthy-threshold"),
    ...pick("healthyThreshold", "healthy-threshold"),
    ...pick("syncIntervalSeconds", "sync-interval"),
    ...pick("lifetimeSeconds", "lifetime"),
  } as Omit<ClusterOptions, "stateDir">;
}

/**
 * How the user runs this command again, for the hints printed after each step: sudo when run
 * through it, the npm script when run through it, the script's path relative to the current
 * directory (absolute from outside the repository), and --state-dir when one was given.
 */
export function selfCommand(o: { repoRoot: string; cwd: string; env: NodeJS.ProcessEnv; stateDir?: string }): string {
  const script = `${o.repoRoot}/scripts/local-cluster.ts`;
  const rel = relative(o.cwd, script);
  const path = rel.startsWith("..") || isAbsolute(rel) ? script : `./${rel}`;
  const base = `${o.env.SUDO_USER ? "sudo " : ""}${o.env.npm_lifecycle_event === "local-cluster" ? "npm run local-cluster --" : path}`;
  const dir = o.stateDir && /[\s'"$\\]/.test(o.stateDir) ? `'${o.stateDir.replace(/'/g, "'\\''")}'` : o.stateDir;
  return dir ? `${base} --state-dir ${dir}` : base;
}
