/**
 * Renders the launch template's user data from templates/: a cloud-init document that writes the
 * settings file (/etc/wg-ha/wg-ha.env, see templates/CONTRACT.md), the server scripts, the health
 * agent and the systemd units, then runs the OS's install script (packages, EFS mount) and starts
 * the units. The stack gzips and base64-encodes it with Fn.base64gzip (EC2 limit: 16 KB).
 *
 * Values may be Terraform tokens (EFS id, NLB DNS name): they are resolved at apply time.
 * No secret ever passes through here: the server key is created on EFS by the first server.
 * Scripts (shell, and the Python agent, which is written for it) ship without their full-line
 * comments and blank lines (size); their code is unchanged.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EnvironmentConfig } from "./config/environment";
import type { OperatingSystem } from "./config/schema";

export interface UserDataInput {
  readonly env: EnvironmentConfig;
  /** EFS file system id (token). */
  readonly efsFileSystemId: string;
  /** NLB DNS name (token); clients get `<endpoint>:<port>`. */
  readonly endpoint: string;
  /** Auto Scaling group name (a literal, to avoid a launch template <-> ASG cycle). */
  readonly asgName: string;
  /** Name of the termination lifecycle hook the agent completes after draining. */
  readonly lifecycleHookName: string;
  /** CloudWatch log group for the servers' logs (token or literal). */
  readonly logGroupName: string;
}

/** Where templates/ lives (the renderer reads it at synth time). */
export const TEMPLATES_DIR = resolve(__dirname, "..", "templates");
/** The shared store's mount point and this server's private state (templates/CONTRACT.md). */
export const STORE_MOUNT = "/mnt/wg-ha";
export const LOCAL_STATE_DIR = "/var/lib/wg-ha";
const LIB_DIR = "/usr/local/lib/wg-ha";
export const UNITS = ["wg-ha-bootstrap.service", "wg-ha-sync.service", "wg-ha-agent.service"] as const;

export interface UserDataFile {
  /** Path under templates/. */
  readonly source: string;
  /** Path on the server. */
  readonly path: string;
  readonly permissions: "0644" | "0755";
}

/** The files a server of this OS gets, in write order. The agent is left out until it exists. */
export function userDataFiles(os: OperatingSystem, templatesDir = TEMPLATES_DIR): UserDataFile[] {
  const files: UserDataFile[] = [
    { source: "lib/wg-ha/common.sh", path: `${LIB_DIR}/common.sh`, permissions: "0644" },
    { source: "bin/wg-ha-bootstrap", path: "/usr/local/bin/wg-ha-bootstrap", permissions: "0755" },
    { source: "bin/wg-ha-sync", path: "/usr/local/bin/wg-ha-sync", permissions: "0755" },
    { source: "bin/wg-client", path: "/usr/local/bin/wg-client", permissions: "0755" },
    { source: "agent/wg-ha-agent.py", path: `${LIB_DIR}/wg-ha-agent.py`, permissions: "0644" },
    { source: "os/common.sh", path: `${LIB_DIR}/os/common.sh`, permissions: "0644" },
    { source: `os/${os}.sh`, path: `${LIB_DIR}/os/${os}.sh`, permissions: "0755" },
    ...UNITS.map((u) => ({ source: `systemd/${u}`, path: `/etc/systemd/system/${u}`, permissions: "0644" as const })),
  ];
  return files.filter((f) => existsSync(join(templatesDir, f.source)));
}

/** The settings file every server script reads, as KEY=value lines. */
export function renderSettingsFile(input: UserDataInput): string {
  const { env } = input;
  const s = env.settings;
  const v6 = s.client_ipv6_cidr;
  const lines: Record<string, string> = {
    WG_HA_ENVIRONMENT: env.name,
    WG_INTERFACE: "wg0",
    WG_PORT: String(s.wireguard_port),
    WG_HA_SERVER_ADDRESS: env.serverTunnelAddress,
    WG_HA_SERVER_ADDRESS6: v6 ? `${v6.split("/")[0]}1/${v6.split("/")[1]}` : "",
    WG_HA_CLIENT_CIDR: s.client_cidr,
    WG_HA_CLIENT_CIDR6: v6 ?? "",
    WG_HA_CLIENT_DNS: env.clientDns.join(","),
    WG_HA_CLIENT_ALLOWED_IPS: s.client_allowed_ips.join(","),
    WG_HA_KEEPALIVE: String(s.persistent_keepalive_seconds),
    WG_HA_ENDPOINT: `${input.endpoint}:${s.wireguard_port}`,
    WG_HA_STATE_DIR: STORE_MOUNT,
    WG_HA_LOCAL_DIR: LOCAL_STATE_DIR,
    WG_HA_SYNC_INTERVAL_SECONDS: "1",
    WG_HA_SYNC_HEARTBEAT_SECONDS: "5",
    WG_HA_SYNC_VERIFY_SECONDS: "60",
    WG_HA_SYNC_STALE_SECONDS: "30",
    WG_HA_AGENT_ADDRESS: "0.0.0.0",
    WG_HA_AGENT_PORT: String(s.agent_port),
    WG_HA_DRAIN_SECONDS: String(s.drain_seconds),
    WG_HA_NAT_INTERFACE: "",
    WG_HA_AWS: "1",
    WG_HA_IMDS_URL: "http://169.254.169.254",
    WG_HA_REGION: s.region,
    WG_HA_ASG_NAME: input.asgName,
    WG_HA_LIFECYCLE_HOOK: input.lifecycleHookName,
    WG_HA_EFS_ID: input.efsFileSystemId,
    WG_HA_LOG_GROUP: input.logGroupName,
  };
  return Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join("");
}

/**
 * Drops full-line comments (not the shebang) and blank lines of a script: code unchanged as long
 * as no multi-line string (heredoc, triple-quoted) holds a blank or '#'-leading line.
 */
export function stripShellComments(text: string): string {
  return text
    .split("\n")
    .filter((line, i) => (i === 0 && line.startsWith("#!")) || !/^\s*(#.*)?$/.test(line))
    .join("\n")
    .concat("\n");
}

/** Shell scripts and the Python agent: shipped without comment lines. */
export function isScript(f: UserDataFile): boolean {
  return /\.(sh|py)$/.test(f.source) || f.source.startsWith("bin/");
}

function blockScalar(content: string, indent: string): string {
  const body = content.endsWith("\n") ? content.slice(0, -1) : content;
  return body
    .split("\n")
    .map((line) => (line.length ? indent + line : ""))
    .join("\n");
}

function writeFile(path: string, permissions: string, content: string): string {
  return `  - path: ${path}\n    permissions: "${permissions}"\n    content: |\n${blockScalar(content, "      ")}\n`;
}

export function renderUserData(input: UserDataInput, templatesDir = TEMPLATES_DIR): string {
  const os = input.env.settings.os;
  const files = userDataFiles(os, templatesDir).map((f) => {
    const text = readFileSync(join(templatesDir, f.source), "utf8");
    return writeFile(f.path, f.permissions, isScript(f) ? stripShellComments(text) : text);
  });
  return [
    "#cloud-config\n",
    "write_files:\n",
    writeFile("/etc/wg-ha/wg-ha.env", "0644", renderSettingsFile(input)),
    ...files,
    "runcmd:\n",
    `  - [bash, ${LIB_DIR}/os/${os}.sh]\n`,
    "  - [systemctl, daemon-reload]\n",
    `  - [systemctl, enable, --now, ${UNITS.join(", ")}]\n`,
  ].join("");
}
