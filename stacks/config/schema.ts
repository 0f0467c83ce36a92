/**
 * The settings users may put in terraform.tfvars, with their types, allowed values and defaults.
 * Every key is valid at the top level (all environments) and inside `environments.<name>`
 * (that environment only). Cross-field rules (min <= max, CIDR overlap, ...) live in rules.ts.
 */
import { z } from "zod";

export const OPERATING_SYSTEMS = ["ubuntu-22.04", "amazon-linux-2023", "amazon-linux-2"] as const;
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];

/**
 * How each OS mounts the shared store (templates/os/<os>.sh). "iam": amazon-efs-utils, TLS and the
 * instance role (the file-system policy admits only that role). "anonymous": TLS through stunnel,
 * no IAM: Ubuntu 22.04 has no released amazon-efs-utils package (docs/security.md, "Mounts"), so
 * the servers' firewall keeping clients out of the VPC is the control that is tested.
 */
export const EFS_MOUNT_AUTHORIZATION: Record<OperatingSystem, "iam" | "anonymous"> = {
  "ubuntu-22.04": "anonymous",
  "amazon-linux-2023": "iam",
  "amazon-linux-2": "iam",
};

/** Operating systems we still accept but warn about, with the reason. */
export const DEPRECATED_OPERATING_SYSTEMS: Partial<Record<OperatingSystem, string>> = {
  "amazon-linux-2": "Amazon Linux 2 reached end of life on 2026-06-30; use amazon-linux-2023 or ubuntu-22.04",
};

export const NAT_GATEWAY_MODES = ["per-az", "single"] as const;

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const percent = z.number().min(1).max(100);
const text = z.string().min(1);

const stateBackend = z.strictObject({
  bucket: text.describe("S3 bucket holding the state (versioning on, public access blocked)"),
  region: text.describe("Region of the bucket"),
  key: text.optional().describe("State object key; default <key_prefix>/<environment>.tfstate"),
  key_prefix: text.optional().describe("Prefix of the per-environment key; default wg-ha"),
  kms_key_id: text.optional().describe("KMS key ARN for server-side encryption; default SSE-S3"),
});

/** The schema of one environment's settings, every key described; defaults are in DEFAULTS. */
export const settingsShape = {
  name_prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,20}$/, "2-21 lower-case letters, digits or '-', starting with a letter")
    .describe("Prefix of every resource name: <name_prefix>-<environment>-..."),
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as eu-west-1")
    .describe("AWS region"),
  high_availability: z.boolean().describe("Require >= 2 AZs and asg_min >= 2 (leave on; off only for throwaway tests)"),
  availability_zones: z
    .array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, "an AZ name such as eu-west-1a"))
    .describe("Exact AZ names; empty = the first availability_zone_count AZs of the region"),
  availability_zone_count: int(1, 6).describe("How many AZs to use when availability_zones is empty"),
  vpc_cidr: text.describe("IPv4 CIDR of the VPC, /16 to /24; split into one public and one private subnet per AZ"),
  client_cidr: text.describe("IPv4 CIDR of the WireGuard tunnel; the first host is the servers' address"),
  client_ipv6_cidr: text.optional().describe("Optional IPv6 ULA CIDR for the tunnel (dual stack inside the tunnel)"),
  wireguard_port: int(1, 65535).describe("UDP port of the NLB listener and the servers"),
  agent_port: int(1024, 65535).describe("TCP port of the health/metrics agent (VPC only)"),
  client_dns: z.array(text).describe("DNS servers pushed to clients; empty = the VPC resolver (VPC base + 2)"),
  client_allowed_ips: z
    .array(text)
    .describe('Routes clients send through the tunnel and the servers forward: ["0.0.0.0/0"] full tunnel, or a list of CIDRs (split). Never the VPC itself (docs/security.md)'),
  client_to_client: z.boolean().describe("Let connected clients reach each other through the servers (off: each client reaches only its routes)"),
  persistent_keepalive_seconds: int(1, 115).describe("Client PersistentKeepalive; must stay under the NLB's 120 s UDP idle timeout"),
  instance_type: text.describe("EC2 instance type; Graviton types (t4g, c7gn, ...) get the arm64 AMI"),
  os: z
    .enum(OPERATING_SYSTEMS)
    .describe(
      "Server operating system. amazon-linux-2023 mounts EFS with TLS + IAM (only the server role may mount); ubuntu-22.04 mounts it over TLS *anonymously* (no released amazon-efs-utils package: docs/security.md)",
    ),
  root_volume_gb: int(8, 1024).describe("Size of the encrypted gp3 root volume"),
  asg_min: int(0, 100).describe("Auto Scaling group minimum size"),
  asg_max: int(1, 100).describe("Auto Scaling group maximum size"),
  asg_desired: int(0, 100).optional().describe("Desired size; unset = asg_min, then managed by the scaling policies"),
  scale_out_cpu_percent: percent.describe("Average CPU above which one server is added"),
  scale_in_cpu_percent: percent.describe("Average CPU below which (with low network) one server is removed"),
  scale_out_network_bytes_per_second: z.number().int().positive().describe("Per-instance NetworkOut rate above which one server is added (10 MB/s = 10000000)"),
  scale_in_network_bytes_per_second: z.number().int().positive().describe("Per-instance NetworkOut rate below which (with low CPU) one server is removed"),
  scale_in_evaluation_minutes: int(5, 60).describe("Minutes the fleet must be quiet before a scale-in (it drops live flows)"),
  instance_warmup_seconds: int(0, 3600).describe("Seconds before a new server's metrics count towards scaling"),
  health_check_interval_seconds: int(5, 300).describe("NLB health check interval against the agent"),
  health_check_timeout_seconds: int(2, 120).describe("NLB health check timeout"),
  health_check_healthy_threshold: int(2, 10).describe("Consecutive successes before a target is healthy"),
  health_check_unhealthy_threshold: int(2, 10).describe("Consecutive failures before a target is unhealthy"),
  health_check_grace_period_seconds: int(0, 7200).describe("ASG grace before ELB health checks can replace a booting server"),
  deregistration_delay_seconds: int(0, 3600).describe("Seconds a leaving server keeps its flows before the NLB terminates them"),
  drain_seconds: int(0, 3600).describe("Seconds a terminating server reports unhealthy before it stops (lifecycle hook)"),
  nat_gateway_mode: z.enum(NAT_GATEWAY_MODES).describe('"per-az" survives an AZ loss; "single" saves money in dev'),
  elastic_ips: z.boolean().describe("Give the NLB one Elastic IP per AZ for a fixed endpoint IP"),
  alarm_email: z.email("an e-mail address such as ops@example.com").optional().describe("E-mail address subscribed to the alarm topic (confirm the subscription)"),
  admin_principals: z
    .array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(root|user\/.+|role\/.+)$/, "an IAM user, role or account root ARN"))
    .describe("IAM principals allowed to assume the admin role (with MFA); empty = this account's root"),
  log_retention_days: z
    .number()
    .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), `one of ${LOG_RETENTION_DAYS.join(", ")}`)
    .describe("Retention of every log group"),
  state_backend: stateBackend.optional().describe("S3 state with native locking (use_lockfile); unset = local state file"),
  tags: z.record(z.string(), z.string()).describe("Tags on every resource (merged: environment tags win)"),
} as const;

export const settingsSchema = z.strictObject(settingsShape);
export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

/** Defaults for everything; the example file documents the same values. */
export const DEFAULTS: Settings = {
  name_prefix: "wg-ha",
  region: "eu-west-1",
  high_availability: true,
  availability_zones: [],
  availability_zone_count: 2,
  vpc_cidr: "10.40.0.0/16",
  client_cidr: "10.100.0.0/22",
  wireguard_port: 51820,
  agent_port: 8080,
  client_dns: [],
  client_allowed_ips: ["0.0.0.0/0"],
  client_to_client: false,
  persistent_keepalive_seconds: 25,
  instance_type: "t3.small",
  os: "amazon-linux-2023",
  root_volume_gb: 10,
  asg_min: 2,
  asg_max: 4,
  scale_out_cpu_percent: 70,
  scale_in_cpu_percent: 30,
  scale_out_network_bytes_per_second: 10_000_000,
  scale_in_network_bytes_per_second: 2_000_000,
  scale_in_evaluation_minutes: 15,
  instance_warmup_seconds: 180,
  health_check_interval_seconds: 5,
  health_check_timeout_seconds: 4,
  health_check_healthy_threshold: 2,
  health_check_unhealthy_threshold: 2,
  health_check_grace_period_seconds: 300,
  deregistration_delay_seconds: 30,
  drain_seconds: 30,
  nat_gateway_mode: "per-az",
  elastic_ips: false,
  admin_principals: [],
  log_retention_days: 30,
  tags: {},
};

/** Keys of the settings, for unknown-key suggestions and docs. */
export const SETTING_KEYS = Object.keys(settingsShape) as SettingKey[];
