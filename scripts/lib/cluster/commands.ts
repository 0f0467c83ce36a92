/**
 * The commands of scripts/local-cluster.ts as data: arguments, flags with their value checks,
 * help texts, whether root is needed. cli-args.ts parses argv against them and generates the
 * help; local-cluster.ts has one handler per name.
 */
import { integer, seconds, UsageError } from "../cli";
import { CLIENT_NAME_PATTERN } from "./client-configs";
import { MAX_SERVERS, PREFIX_PATTERN } from "./topology";

export type CommandName =
  | "up" | "down" | "status" | "logs"
  | "client add" | "client connect" | "client exec" | "client list" | "client disconnect" | "client revoke"
  | "kill-server" | "start-server" | "drain-server" | "undrain-server" | "add-server";

export type Value = string | number | boolean;

interface OptionSpec {
  readonly type: "string" | "boolean";
  /** Placeholder in the help, e.g. "N". */
  readonly value?: string;
  readonly help: string;
  /** Converts a string value (throws UsageError). */
  readonly parse?: (value: string, flag: string) => Value;
}

interface ArgSpec {
  readonly name: string;
  readonly optional?: boolean;
  readonly parse?: (value: string) => Value;
}

export interface CommandSpec {
  readonly name: CommandName;
  readonly args: readonly ArgSpec[];
  /** Synopsis of the arguments, e.g. "[lb | server N]" (default: the arg names). */
  readonly synopsis?: string;
  readonly summary: string;
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Takes `-- CMD [ARGS...]` (client exec). */
  readonly rest?: boolean;
  /** Needs root (everything that touches namespaces). */
  readonly root: boolean;
  /** Extra checks across arguments (throws UsageError). */
  readonly check?: (args: readonly Value[]) => void;
}

const serverIndex = (value: string) => integer(1, MAX_SERVERS)(value, "the server number N");
/** N, or "active": the LB's current target. */
const serverOrActive = (value: string) => (value === "active" ? value : serverIndex(value));
function clientName(value: string): string {
  if (!CLIENT_NAME_PATTERN.test(value)) throw new UsageError(`invalid client name "${value}": use 1-32 of a-z 0-9 _ . - starting with a letter or digit`);
  return value;
}

const NAME: ArgSpec = { name: "NAME", parse: clientName };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "up",
    args: [],
    summary: "create the cluster: N servers, the load balancer, a shared directory as EFS",
    description:
      "Creates network namespaces for a load balancer (nftables DNAT of UDP 203.0.113.1:51820 to one healthy\n" +
      "server, switched by a poller of each agent's /health, like the NLB) and N servers that run the\n" +
      "project's own templates/ (bootstrap, sync loop, health agent, wg-client) against a shared\n" +
      "directory as \"EFS\". Returns once the LB's target is healthy; prints the endpoint, the state\n" +
      "directory and the commands to try next. Fails if the state directory already holds a cluster.",
    options: {
      servers: { type: "string", value: "N", help: `number of servers, 1-${MAX_SERVERS} (default 2)`, parse: integer(1, MAX_SERVERS) },
      "health-interval": { type: "string", value: "S", help: "seconds between /health probes of each agent (default 5, as the NLB)", parse: seconds(0.2, 300) },
      "unhealthy-threshold": { type: "string", value: "K", help: "failed probes before a server is unhealthy (default 2)", parse: integer(1, 10) },
      "healthy-threshold": { type: "string", value: "K", help: "good probes before a server is healthy again (default 2)", parse: integer(1, 10) },
      "sync-interval": { type: "string", value: "S", help: "seconds between the servers' polls of the store (default 1)", parse: seconds(0.2, 60) },
      lifetime: { type: "string", value: "S", help: "tear the cluster down by itself after S seconds (default: never)", parse: integer(10, 7 * 86400) },
      prefix: {
        type: "string",
        value: "P",
        help: "name prefix of its namespaces and interfaces, 2-8 of a-z 0-9 (default: random)",
        parse: (v, flag) => {
          if (!PREFIX_PATTERN.test(v)) throw new UsageError(`${flag} must be 2-8 lower-case letters or digits starting with a letter, not "${v}"`);
          return v;
        },
      },
    },
    root: true,
  },
  {
    name: "status",
    args: [],
    summary: "servers, health, LB target, peers, sync age, clients",
    description: "Shows the cluster as the LB poller and each server's sync loop last recorded it. Reads files only.\n--json prints a versioned document for scripts (fields: docs/local-cluster.md).",
    options: { json: { type: "boolean", help: "machine-readable output (schemaVersion 1)" } },
    root: true, // the servers' private directories (sync status) are root's
  },
  {
    name: "client add",
    args: [NAME],
    summary: "wg-client add NAME on a server; prints the config and saves it",
    description:
      "Runs the servers' own `wg-client add NAME` on server N (default: a random running server), prints\n" +
      "the client config on stdout and saves it as <state dir>/configs/NAME.conf for `client connect`.",
    options: {
      server: { type: "string", value: "N", help: "the server to run wg-client on (default: a random running one)", parse: integer(1, MAX_SERVERS) },
      "public-key": { type: "string", value: "KEY", help: "the client's own public key (its private key never reaches the servers)" },
    },
    root: true,
  },
  {
    name: "client connect",
    args: [NAME],
    summary: "a client namespace running stock wg-quick with NAME's config",
    description:
      "Creates a client namespace behind the load balancer and brings the config up with the stock\n" +
      "`wg-quick up` (kernel WireGuard, else userspace wireguard-go). Waits until the LB's target has\n" +
      "the peer and the client has a handshake; fails (exit 1) if none comes within 20 s.",
    options: { config: { type: "string", value: "FILE", help: "a full config with its PrivateKey (default: the one client add saved)" } },
    root: true,
  },
  {
    name: "client exec",
    args: [NAME],
    synopsis: "NAME -- CMD [ARGS...]",
    summary: "run CMD in the client's namespace; its exit code is returned",
    description: "Runs a command in the client's network namespace (its traffic to 10.100.0.0/22 and 10.40.0.0/16\ngoes through the tunnel), attached to this terminal. Exits with the command's exit code.\nExample: client exec alice -- ping -i 0.2 -c 150 10.100.0.1",
    options: {},
    rest: true,
    root: true,
  },
  { name: "client list", args: [], summary: "clients in the shared store, and which are connected here", description: "Runs `wg-client list` on the LB's target (or another running server), then lists the client\nnamespaces of this machine.", options: {}, root: true },
  { name: "client disconnect", args: [NAME], summary: "remove the client's namespace (its peer stays)", description: "Stops the client's wireguard-go and deletes its namespace. The peer stays in the store: connect again\nwith client connect NAME, or remove it with client revoke NAME.", options: {}, root: true },
  { name: "client revoke", args: [NAME], summary: "wg-client revoke NAME: remove the peer from every server", description: "Runs `wg-client revoke NAME` on a running server, disconnects the client if it is connected here\nand deletes its saved config.", options: {}, root: true },
  {
    name: "kill-server",
    args: [{ name: "N|active", parse: serverOrActive }],
    summary: "power-off of server N (active: the LB's current target)",
    description:
      "SIGKILL to everything in the server's namespace (wireguard-go, sync loop, agent) and its link down,\n" +
      "like an instance dying. The LB notices after its unhealthy threshold and moves the flows.\n" +
      "With --watch CLIENT, the client pings 10.100.0.1 every 0.2 s and the failover is timed live.",
    options: { watch: { type: "string", value: "CLIENT", help: "time the failover as this connected client sees it", parse: clientName } },
    root: true,
  },
  { name: "start-server", args: [{ name: "N", parse: serverIndex }], summary: "boot server N again (bootstrap, sync loop, agent)", description: "Boots a killed server again: bootstrap (idempotent), the sync loop and the agent. The LB marks it\nhealthy after its healthy threshold; it keeps its current target (sticky).", options: {}, root: true },
  { name: "drain-server", args: [{ name: "N|active", parse: serverOrActive }], summary: "drain server N: its agent answers 503, the LB moves away", description: "Sets the agent's drain flag (templates/CONTRACT.md): /health answers 503, so the LB moves new flows\nto another server, as during an Auto Scaling termination.", options: {}, root: true },
  { name: "undrain-server", args: [{ name: "N", parse: serverIndex }], summary: "end the drain of server N", description: "Removes the agent's drain flag: /health answers 200 again.", options: {}, root: true },
  { name: "add-server", args: [], summary: "boot one more server", description: "Adds server N+1 and boots it; the LB probes it from its next round.", options: {}, root: true },
  {
    name: "logs",
    args: [
      { name: "SOURCE", optional: true, parse: (v) => { if (v !== "lb" && v !== "server") throw new UsageError(`logs: SOURCE is lb or server, not "${v}"`); return v; } },
      { name: "N", optional: true, parse: serverIndex },
    ],
    synopsis: "[lb | server N]",
    summary: "tail of the recorded logs (default: the LB's events)",
    description: "Prints the last lines of the logs in the state directory: lb (health changes and switches, the\npoller's log) or server N (bootstrap, sync loop, agent, wireguard-go). Works after a failed up too.",
    options: { lines: { type: "string", value: "N", help: "lines per file (default 40)", parse: integer(1, 100_000) } },
    root: false,
    check: ([source, n]) => {
      if (source === "server" && n === undefined) throw new UsageError("logs server: which server? (logs server N)");
      if (source !== "server" && n !== undefined) throw new UsageError(`logs: N goes with server (logs server ${n})`);
    },
  },
  {
    name: "down",
    args: [],
    summary: "remove everything the cluster created (idempotent)",
    description:
      "Removes every namespace, interface, process and file of the cluster, from its state directory\n" +
      "alone (also after a crash of up). Running it again says there is nothing to tear down.",
    options: { "keep-logs": { type: "boolean", help: "keep the state directory's logs and store (the cluster is still removed)" } },
    root: true,
  },
];

