/**
 * One environment's resolved configuration: the merged settings plus the values derived from
 * them (architecture, DNS, tunnel address, state location). Built only from validated settings.
 */
import { cidrHost, parseIpv4Cidr } from "./cidr";
import { isGravitonInstanceType } from "./rules";
import { EFS_MOUNT_AUTHORIZATION, type Settings } from "./schema";

export interface StateBackendConfig {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  readonly kmsKeyId?: string;
}

export interface EnvironmentConfig {
  /** Environment name as written in terraform.tfvars; also the CDKTF stack name. */
  readonly name: string;
  /** Merged settings: defaults, then top-level keys, then `environments.<name>`. */
  readonly settings: Readonly<Settings>;
  /** `<name_prefix>-<name>`: prefix of every AWS resource name. */
  readonly resourcePrefix: string;
  readonly architecture: "arm64" | "x86_64";
  /** DNS servers pushed to clients (the VPC resolver when client_dns is empty). */
  readonly clientDns: readonly string[];
  /** Address of wg0 on every server, in CIDR form, e.g. 10.100.0.1/22. */
  readonly serverTunnelAddress: string;
  readonly asgDesired: number;
  /** Remote state; undefined means a local state file. */
  readonly stateBackend?: StateBackendConfig;
}

export function resolveEnvironment(name: string, settings: Settings): EnvironmentConfig {
  const vpc = parseIpv4Cidr(settings.vpc_cidr)!;
  const client = parseIpv4Cidr(settings.client_cidr)!;
  const backend = settings.state_backend;
  return {
    name,
    settings,
    resourcePrefix: `${settings.name_prefix}-${name}`,
    architecture: isGravitonInstanceType(settings.instance_type) ? "arm64" : "x86_64",
    clientDns: settings.client_dns.length ? settings.client_dns : [cidrHost(vpc, 2)],
    serverTunnelAddress: `${cidrHost(client, 1)}/${client.prefix}`,
    asgDesired: settings.asg_desired ?? settings.asg_min,
    stateBackend: backend && {
      bucket: backend.bucket,
      region: backend.region,
      key: backend.key ?? `${backend.key_prefix ?? settings.name_prefix}/${name}.tfstate`,
      ...(backend.kms_key_id ? { kmsKeyId: backend.kms_key_id } : {}),
    },
  };
}

/** One line an operator recognises the environment by: placement, HA shape, size. */
export function describeEnvironment(env: EnvironmentConfig): string {
  const s = env.settings;
  const azs = s.availability_zones.length ? s.availability_zones.join("+") : `${s.availability_zone_count} AZs`;
  const nat = s.nat_gateway_mode === "single" ? "1 NAT gateway" : "NAT per AZ";
  const size = `${s.asg_min}-${s.asg_max} x ${s.instance_type} (${env.architecture})`;
  const ip = s.elastic_ips ? ", Elastic IPs" : "";
  const mount = EFS_MOUNT_AUTHORIZATION[s.os] === "iam" ? "EFS mount TLS + IAM" : "EFS mount TLS, anonymous (no IAM)";
  return `${s.region}, ${azs}, ${nat}, ${size}, ${s.os} (${mount}), UDP ${s.wireguard_port}${ip}`;
}
