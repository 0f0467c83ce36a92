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
import { createHash } from "node:crypto";
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
  /**
   * Where the stack uploaded renderTemplateBundle(os): the user data then carries only the
   * settings and downloads the templates from S3 at first boot (the instance role needs
   * s3:GetObject on that object). Needed once templates/ no longer fits EC2's 16 KB inline.
   * @default - every file inline in the user data
   */
  readonly bundle?: TemplateBundleLocation;
}

export interface TemplateBundleLocation {
  /** S3 bucket name (token or literal). */
  readonly bucket: string;
  /** Object key: renderTemplateBundle(os).key (content-addressed, so a change re-rolls the servers). */
  readonly key: string;
}

/** Where templates/ lives (the renderer reads it at synth time). */
export const TEMPLATES_DIR = resolve(__dirname, "..", "templates");
/** The shared store's mount point and this server's private state (templates/CONTRACT.md). */
export const STORE_MOUNT = "/mnt/wg-ha";
export const LOCAL_STATE_DIR = "/var/lib/wg-ha";
const LIB_DIR = "/usr/local/lib/wg-ha";
/** The health agent's EMF lines (the units' log files are /var/log/<unit>.log), shipped by the CloudWatch agent. */
export const LOG_DIR = "/var/log/wg-ha";
export const EMF_FILE = `${LOG_DIR}/metrics.emf`;
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
    // CloudWatch agent: config template (rendered at first boot by os/common.sh); the units' journal
    // lines copied to files by rsyslog, and their rotation.
    { source: "cloudwatch/amazon-cloudwatch-agent.jsonc", path: `${LIB_DIR}/cloudwatch/amazon-cloudwatch-agent.jsonc`, permissions: "0644" },
    { source: "cloudwatch/rsyslog.conf", path: "/etc/rsyslog.d/30-wg-ha.conf", permissions: "0644" },
    { source: "cloudwatch/logrotate.conf", path: "/etc/logrotate.d/wg-ha", permissions: "0644" },
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
    WG_HA_EMF_FILE: EMF_FILE,
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

/** A file's content as it is installed (scripts without comment lines). */
function shippedContent(f: UserDataFile, templatesDir: string): string {
  const text = readFileSync(join(templatesDir, f.source), "utf8");
  return isScript(f) ? stripShellComments(text) : text;
}

export function renderUserData(input: UserDataInput, templatesDir = TEMPLATES_DIR): string {
  const os = input.env.settings.os;
  const start = [
    `  - [bash, ${LIB_DIR}/os/${os}.sh]\n`,
    "  - [systemctl, daemon-reload]\n",
    `  - [systemctl, enable, --now, ${UNITS.join(", ")}]\n`,
  ];
  const settings = writeFile("/etc/wg-ha/wg-ha.env", "0644", renderSettingsFile(input));
  if (input.bundle) {
    const url = `s3://${input.bundle.bucket}/${input.bundle.key}`;
    const fetch = `aws s3 cp --only-show-errors --region ${input.env.settings.region} ${url} /run/wg-ha-templates.tar && tar -xf /run/wg-ha-templates.tar -C / --no-same-owner && rm -f /run/wg-ha-templates.tar`;
    return [
      "#cloud-config\n",
      "write_files:\n",
      settings,
      "runcmd:\n",
      // Ubuntu has no AWS CLI preinstalled: its distro package (Amazon Linux ships one).
      `  - [sh, -c, "command -v aws >/dev/null || { apt-get update -q && apt-get install -y -q awscli; }"]\n`,
      `  - [sh, -c, "for i in 1 2 3 4 5 6; do ${fetch} && exit 0; sleep 10; done; exit 1"]\n`,
      ...start,
    ].join("");
  }
  const files = userDataFiles(os, templatesDir).map((f) => writeFile(f.path, f.permissions, shippedContent(f, templatesDir)));
  return ["#cloud-config\n", "write_files:\n", settings, ...files, "runcmd:\n", ...start].join("");
}

export interface TemplateBundle {
  /** An uncompressed POSIX (ustar) tar of userDataFiles(os), paths relative to /: deterministic bytes. */
  readonly content: Buffer;
  readonly sha256: string;
  /** Content-addressed object key, e.g. wg-ha/templates-ubuntu-22.04-<sha256 prefix>.tar. */
  readonly key: string;
}

/** The files of userDataFiles(os) as a tar for S3 (UserDataInput.bundle). */
export function renderTemplateBundle(os: OperatingSystem, templatesDir = TEMPLATES_DIR): TemplateBundle {
  const blocks: Buffer[] = [];
  for (const f of userDataFiles(os, templatesDir)) {
    const data = Buffer.from(shippedContent(f, templatesDir));
    blocks.push(tarHeader(f.path.replace(/^\//, ""), data.length, f.permissions === "0755" ? 0o755 : 0o644), data);
    blocks.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024)); // end of archive
  const content = Buffer.concat(blocks);
  const sha256 = createHash("sha256").update(content).digest("hex");
  return { content, sha256, key: `wg-ha/templates-${os}-${sha256.slice(0, 16)}.tar` };
}

/** A ustar header: owner root, mtime 0 (deterministic). */
function tarHeader(path: string, size: number, mode: number): Buffer {
  if (Buffer.byteLength(path) > 100) throw new Error(`tar path too long: ${path}`);
  const h = Buffer.alloc(512);
  const octal = (value: number, offset: number, length: number) => h.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
  h.write(path, 0, 100, "utf8");
  octal(mode, 100, 8);
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(size, 124, 12);
  octal(0, 136, 12); // mtime
  h.write("        ", 148, 8, "ascii"); // checksum placeholder
  h.write("0", 156, 1, "ascii"); // regular file
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write("root", 265, 32, "ascii");
  h.write("root", 297, 32, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}
