/**
 * Names and addresses of a local cluster: pure functions of the cluster's prefix and indexes.
 *
 * ```
 *  client c1 (ns <p>-c1)          "LB" (ns <p>-lb)                      server s1 (ns <p>-s1)
 *  eth0 198.18.1.2/24  --veth--  c1 198.18.1.1   lo 203.0.113.1  s1 10.40.1.1  --veth--  eth0 10.40.1.2/24
 *  wg  <p>c1 (wg-quick)          lo 198.51.100.1 ("internet")        s2 10.40.2.1  --veth--  s2 ... 10.40.2.2
 *                                 nft: udp 51820 -> DNAT one healthy    vpc 10.40.0.1 --veth-- "VPC host" (ns <p>-vpc)
 *                                 server; health poller (agent /health)                         eth0 10.40.0.2/24
 * ```
 *
 * The "VPC" is 10.40.0.0/16 (servers, the VPC host at base + 2 where AWS puts its resolver): the
 * servers' firewall never forwards a client there, except DNS to the VPC host (it is the clients'
 * DNS server), although the clients' routes include it. Clients reach the "internet" host beyond
 * it, 198.51.100.1 on the LB's loopback.
 *
 * Every address lives inside namespaces the cluster creates, so two clusters (parallel test files)
 * may use the same plan; only names are global (namespaces, and WireGuard interfaces because
 * userspace control sockets in /var/run/wireguard are shared by all namespaces), hence the prefix.
 * The VPC host has no route to the tunnel network: it answers a client only through the server's
 * MASQUERADE. Servers cannot open flows to clients (the LB drops them), like private subnets.
 */

export const WG_PORT = 51820;
export const AGENT_PORT = 8080;
export const ENDPOINT_ADDRESS = "203.0.113.1";
export const CLIENT_CIDR = "10.100.0.0/22";
export const SERVER_TUNNEL_ADDRESS = "10.100.0.1";
export const VPC_HOST_ADDRESS = "10.40.0.2";
/** The "VPC": every server's and the VPC host's network (WG_HA_VPC_CIDR: clients never reach it). */
export const VPC_CIDR = "10.40.0.0/16";
/** A network beyond the VPC on the clients' routes, and its one host (the LB's loopback): "the internet". */
export const INTERNET_CIDR = "198.51.100.0/24";
export const INTERNET_HOST_ADDRESS = "198.51.100.1";
/**
 * Routes test clients send through the tunnel (split tunnel: the client keeps its own default
 * route). The VPC is among them on purpose: the servers' firewall, not the client's config, keeps
 * clients out of it (only DNS to the VPC host passes).
 */
export const CLIENT_ALLOWED_IPS = `${CLIENT_CIDR},${VPC_CIDR},${INTERNET_CIDR}`;
export const MAX_SERVERS = 50;
export const MAX_CLIENTS = 250;

/** 2-8 lower-case letters/digits starting with a letter: leaves room for "c250" in a 15-char interface name. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,7}$/;

export function checkPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`cluster prefix '${prefix}' must be 2-8 lower-case letters or digits, starting with a letter`);
  }
}

export function randomPrefix(): string {
  return `wh${Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, "0")}`;
}

export const lbNamespace = (prefix: string) => `${prefix}-lb`;
export const vpcNamespace = (prefix: string) => `${prefix}-vpc`;
export const serverNamespace = (prefix: string, i: number) => `${prefix}-s${i}`;
export const clientNamespace = (prefix: string, j: number) => `${prefix}-c${j}`;
/** WireGuard interface of server i: unique across namespaces. */
export const serverInterface = (prefix: string, i: number) => `${prefix}s${i}`;
export const clientInterface = (prefix: string, j: number) => `${prefix}c${j}`;
/** nftables table of the LB namespace. */
export const lbTable = (prefix: string) => `${prefix}_lb`;

/** Underlay address of server i (1-based) and of its gateway on the LB. */
export function serverUnderlay(i: number): { address: string; gateway: string; lbLink: string } {
  checkIndex("server", i, MAX_SERVERS);
  return { address: `10.40.${i}.2`, gateway: `10.40.${i}.1`, lbLink: `s${i}` };
}

export function clientUnderlay(j: number): { address: string; gateway: string; lbLink: string } {
  checkIndex("client", j, MAX_CLIENTS);
  return { address: `198.18.${j}.2`, gateway: `198.18.${j}.1`, lbLink: `c${j}` };
}

export function vpcUnderlay(): { address: string; gateway: string; lbLink: string } {
  return { address: VPC_HOST_ADDRESS, gateway: "10.40.0.1", lbLink: "vpc" };
}

function checkIndex(kind: string, i: number, max: number): void {
  if (!Number.isInteger(i) || i < 1 || i > max) throw new Error(`${kind} index ${i} must be 1..${max}`);
}

export interface ServerSettingsInput {
  readonly prefix: string;
  readonly index: number;
  readonly storeDir: string;
  readonly localDir: string;
  readonly syncIntervalSeconds: number;
  readonly extra?: Readonly<Record<string, string>>;
}

/** The server's settings file (templates/CONTRACT.md): paths and names injected, no code. */
export function renderServerSettings(input: ServerSettingsInput): string {
  const lines: Record<string, string> = {
    WG_HA_ENVIRONMENT: `local-${input.prefix}`,
    WG_INTERFACE: serverInterface(input.prefix, input.index),
    WG_PORT: String(WG_PORT),
    WG_HA_SERVER_ADDRESS: `${SERVER_TUNNEL_ADDRESS}/22`,
    WG_HA_CLIENT_CIDR: CLIENT_CIDR,
    WG_HA_CLIENT_DNS: VPC_HOST_ADDRESS,
    WG_HA_CLIENT_ALLOWED_IPS: CLIENT_ALLOWED_IPS,
    WG_HA_VPC_CIDR: VPC_CIDR,
    WG_HA_CLIENT_TO_CLIENT: "0",
    WG_HA_KEEPALIVE: "25",
    WG_HA_ENDPOINT: `${ENDPOINT_ADDRESS}:${WG_PORT}`,
    WG_HA_STATE_DIR: input.storeDir,
    WG_HA_LOCAL_DIR: input.localDir,
    WG_HA_SYNC_INTERVAL_SECONDS: String(input.syncIntervalSeconds),
    WG_HA_SYNC_STALE_SECONDS: "30",
    WG_HA_AGENT_ADDRESS: "0.0.0.0",
    WG_HA_AGENT_PORT: String(AGENT_PORT),
    WG_HA_DRAIN_SECONDS: "30",
    WG_HA_NAT_INTERFACE: "eth0",
    WG_HA_AWS: "0",
    WG_HA_IMDS_URL: "http://127.0.0.1:9",
    ...input.extra,
  };
  for (const [k, v] of Object.entries(lines)) {
    if (!/^WG_[A-Z0-9_]+$/.test(k) || /[\n\r]/.test(v)) throw new Error(`bad setting ${k}=${JSON.stringify(v)}`);
  }
  return Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join("");
}

/**
 * A wg-client config made usable by stock wg-quick in a namespace: the `DNS =` line is dropped,
 * because wg-quick would call resolvconf and rewrite the host's /etc/resolv.conf (a test client
 * has no resolver of its own). Everything else is used as wg-client printed it.
 */
export function clientConfigForNamespace(config: string): string {
  if (!/^\s*PrivateKey\s*=/m.test(config)) throw new Error("client config has no PrivateKey line (was the key generated by the client?)");
  return config
    .split("\n")
    .filter((line) => !/^\s*DNS\s*=/i.test(line))
    .join("\n");
}
