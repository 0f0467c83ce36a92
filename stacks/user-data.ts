/**
 * Renders the launch template's user data: a cloud-init document that writes the settings file
 * (/etc/wg-ha/wg-ha.env, see templates/CONTRACT.md), downloads the exact S3 version of the
 * template bundle (renderTemplateBundle: the server scripts, the health agent, the systemd units and
 * the CloudWatch files, byte-identical to templates/, so a server shows the same line numbers as
 * the repository), unpacks it, runs the OS's install script (packages, EFS mount) and starts the
 * units. The stack gzips and base64-encodes it with Fn.base64gzip (EC2 limit: 16 KB).
 *
 * Values may be Terraform tokens (EFS id, NLB DNS name, bucket, version id): they are resolved at
 * apply time. No secret ever passes through here: the server key is created on EFS by the first
 * server.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EnvironmentConfig } from "./config/environment";
import type { OperatingSystem } from "./config/schema";

/** What the settings file is rendered from. */
export interface SettingsInput {
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

export interface UserDataInput extends SettingsInput {
  /**
   * Where the stack uploaded renderTemplateBundle(os) (stacks/template-store.ts): the user data
   * downloads exactly this version at first boot (the instance role needs s3:GetObjectVersion on
   * the key). templates/ does not fit EC2's 16 KB of user data.
   */
  readonly bundle: TemplateBundleLocation;
}

export interface TemplateBundleLocation {
  /** S3 bucket name (token or literal); versioning is on. */
  readonly bucket: string;
  /** Object key: renderTemplateBundle(os).key, stable per OS (wg-ha/templates-<os>.tar). */
  readonly key: string;
  /**
   * The S3 version id of the upload (aws_s3_object.version_id, a token). A content change is a
   * new version id, so a new launch template version and an instance refresh; an instance that
   * boots from an older launch template version still finds its own version (kept 90 days).
   */
  readonly versionId: string;
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
    { source: "lib/wg-ha/firewall.sh", path: `${LIB_DIR}/firewall.sh`, permissions: "0644" },
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
export function renderSettingsFile(input: SettingsInput): string {
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
    WG_HA_CLIENT_TO_CLIENT: s.client_to_client ? "1" : "0",
    WG_HA_VPC_CIDR: s.vpc_cidr,
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

/** Where cloud-init puts the bundle before unpacking it. */
export const BUNDLE_DOWNLOAD_PATH = "/run/wg-ha-templates.tar";
/** Download attempts at first boot, and the pause between them. */
export const BUNDLE_FETCH_ATTEMPTS = 6;
export const BUNDLE_FETCH_RETRY_SECONDS = 10;

/** The shell that fetches the bundle's exact version and unpacks it over / (one attempt). */
export function bundleFetchCommand(bundle: TemplateBundleLocation, region: string): string {
  const file = BUNDLE_DOWNLOAD_PATH;
  // s3api get-object prints the object's metadata (VersionId, ETag) to cloud-init-output.log.
  return (
    `aws s3api get-object --region ${region} --bucket ${bundle.bucket} --key ${bundle.key} --version-id '${bundle.versionId}' ${file}` +
    ` && tar -xf ${file} -C / --no-same-owner && rm -f ${file}`
  );
}

export function renderUserData(input: UserDataInput): string {
  const os = input.env.settings.os;
  const fetch = bundleFetchCommand(input.bundle, input.env.settings.region);
  const attempts = Array.from({ length: BUNDLE_FETCH_ATTEMPTS }, (_, i) => i + 1).join(" ");
  return [
    "#cloud-config\n",
    "write_files:\n",
    writeFile("/etc/wg-ha/wg-ha.env", "0644", renderSettingsFile(input)),
    "runcmd:\n",
    // Ubuntu has no AWS CLI preinstalled: its distro package (Amazon Linux ships one).
    `  - [sh, -c, "command -v aws >/dev/null || { apt-get update -q && apt-get install -y -q awscli; }"]\n`,
    `  - [sh, -c, "for i in ${attempts}; do ${fetch} && exit 0; sleep ${BUNDLE_FETCH_RETRY_SECONDS}; done; exit 1"]\n`,
    `  - [bash, ${LIB_DIR}/os/${os}.sh]\n`,
    "  - [systemctl, daemon-reload]\n",
    `  - [systemctl, enable, --now, ${UNITS.join(", ")}]\n`,
  ].join("");
}

export interface TemplateBundle {
  /** An uncompressed POSIX (ustar) tar of userDataFiles(os), paths relative to /: deterministic bytes. */
  readonly content: Buffer;
  readonly sha256: string;
  /**
   * Object key, stable per OS: wg-ha/templates-<os>.tar. A content change is a new S3 version of
   * the same key (never a new key: Terraform would replace the object, deleting every version).
   */
  readonly key: string;
}

/** Every bundle key starts with this (the bucket's lifecycle rule is scoped to it). */
export const BUNDLE_KEY_PREFIX = "wg-ha/";

/** The stable S3 key of an OS's bundle. */
export function templateBundleKey(os: OperatingSystem): string {
  return `${BUNDLE_KEY_PREFIX}templates-${os}.tar`;
}

/** The files of userDataFiles(os), byte for byte as in templates/, as a tar for S3. */
export function renderTemplateBundle(os: OperatingSystem, templatesDir = TEMPLATES_DIR): TemplateBundle {
  const blocks: Buffer[] = [];
  for (const f of userDataFiles(os, templatesDir)) {
    const data = readFileSync(join(templatesDir, f.source));
    blocks.push(tarHeader(f.path.replace(/^\//, ""), data.length, f.permissions === "0755" ? 0o755 : 0o644), data);
    blocks.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024)); // end of archive
  const content = Buffer.concat(blocks);
  const sha256 = createHash("sha256").update(content).digest("hex");
  return { content, sha256, key: templateBundleKey(os) };
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
