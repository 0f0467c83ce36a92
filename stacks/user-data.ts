/**
 * Renders the launch template's user data from templates/: a cloud-init document that writes the
 * settings file (/etc/wg-ha/wg-ha.env, see templates/CONTRACT.md) and the server scripts, then runs
 * the bootstrap. The stack gzips and base64-encodes it with Fn.base64gzip (EC2 limit: 16 KB).
 *
 * Values may be Terraform tokens (EFS id, NLB DNS name): they are resolved at apply time.
 * No secret ever passes through here: the server key is created on EFS by the first server.
 */
import type { EnvironmentConfig } from "./config/environment";

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

/** The settings file every server script reads, as KEY=value lines. */
export function renderSettingsFile(input: UserDataInput): string {
  const { env } = input;
  const s = env.settings;
  const lines: Record<string, string> = {
    WG_HA_ENVIRONMENT: env.name,
    WG_INTERFACE: "wg0",
    WG_PORT: String(s.wireguard_port),
    WG_HA_SERVER_ADDRESS: env.serverTunnelAddress,
    WG_HA_CLIENT_CIDR: s.client_cidr,
    WG_HA_CLIENT_DNS: env.clientDns.join(","),
    WG_HA_CLIENT_ALLOWED_IPS: s.client_allowed_ips.join(","),
    WG_HA_KEEPALIVE: String(s.persistent_keepalive_seconds),
    WG_HA_ENDPOINT: `${input.endpoint}:${s.wireguard_port}`,
    WG_HA_STATE_DIR: "/mnt/wg-ha",
    WG_HA_LOCAL_DIR: "/var/lib/wg-ha",
    WG_HA_AGENT_PORT: String(s.agent_port),
    WG_HA_DRAIN_SECONDS: String(s.drain_seconds),
    WG_HA_AWS: "1",
    WG_HA_REGION: s.region,
    WG_HA_ASG_NAME: input.asgName,
    WG_HA_LIFECYCLE_HOOK: input.lifecycleHookName,
    WG_HA_EFS_ID: input.efsFileSystemId,
    WG_HA_LOG_GROUP: input.logGroupName,
  };
  return Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join("");
}

export function renderUserData(input: UserDataInput): string {
  // Interim: settings only. The VPN servers issue replaces this with the full bootstrap.
  const settings = renderSettingsFile(input).replace(/^/gm, "      ");
  return `#cloud-config\nwrite_files:\n  - path: /etc/wg-ha/wg-ha.env\n    permissions: "0644"\n    content: |\n${settings}`;
}
