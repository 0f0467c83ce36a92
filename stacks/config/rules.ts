/**
 * Cross-field rules on one environment's merged settings. Each rule names the key at fault and
 * says what is allowed; the loader adds the file, line and environment.
 */
import { cidrsOverlap, formatCidr, isIpv6Cidr, parseIpv4Cidr } from "./cidr";
import type { SettingKey, Settings } from "./schema";

export interface Problem {
  /** The key the message is about. */
  readonly key: SettingKey;
  readonly message: string;
  /** Other keys involved: the loader blames whichever of key/related the user actually set. */
  readonly related?: readonly SettingKey[];
}

/** Instance families AWS sells with an arm64 (Graviton) CPU: a 'g' after the generation digit, or a1. */
export function isGravitonInstanceType(instanceType: string): boolean {
  const family = instanceType.split(".")[0];
  return family === "a1" || /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family);
}

export function checkSettings(s: Settings): Problem[] {
  const problems: Problem[] = [];
  const add = (key: SettingKey, message: string, ...related: SettingKey[]) => problems.push({ key, message, related });

  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(s.instance_type)) {
    add("instance_type", `"${s.instance_type}" is not an EC2 instance type; expected <family>.<size>, for example t3.small or c7gn.large`);
  }

  const vpc = parseIpv4Cidr(s.vpc_cidr);
  if (!vpc) add("vpc_cidr", `"${s.vpc_cidr}" is not an IPv4 CIDR with host bits cleared, for example 10.40.0.0/16`);
  else if (vpc.prefix < 16 || vpc.prefix > 24) add("vpc_cidr", `prefix /${vpc.prefix} is outside /16 to /24 (AWS allows /16-/28; wg-ha needs room for 2 subnets per AZ)`);

  const client = parseIpv4Cidr(s.client_cidr);
  if (!client) add("client_cidr", `"${s.client_cidr}" is not an IPv4 CIDR with host bits cleared, for example 10.100.0.0/22`);
  else if (client.prefix < 16 || client.prefix > 29) add("client_cidr", `prefix /${client.prefix} is outside /16 to /29`);
  if (vpc && client && cidrsOverlap(vpc, client)) {
    add("client_cidr", `${formatCidr(client)} overlaps vpc_cidr ${formatCidr(vpc)}; give the tunnel a range outside the VPC`, "vpc_cidr");
  }
  if (s.client_ipv6_cidr !== undefined && !isIpv6Cidr(s.client_ipv6_cidr)) {
    add("client_ipv6_cidr", `"${s.client_ipv6_cidr}" is not an IPv6 CIDR, for example fd42:42:42::/64`);
  }
  for (const route of s.client_allowed_ips) {
    if (!parseIpv4Cidr(route) && !isIpv6Cidr(route)) add("client_allowed_ips", `"${route}" is not a CIDR with host bits cleared, for example 0.0.0.0/0 or 10.40.0.0/16`);
  }
  for (const dns of s.client_dns) {
    if (!parseIpv4Cidr(`${dns}/32`) && !isIpv6Cidr(`${dns}/128`)) add("client_dns", `"${dns}" is not an IP address`);
  }

  if (s.wireguard_port === s.agent_port) add("agent_port", `${s.agent_port} must differ from wireguard_port (${s.wireguard_port})`, "wireguard_port");

  const azCount = s.availability_zones.length || s.availability_zone_count;
  if (new Set(s.availability_zones).size !== s.availability_zones.length) add("availability_zones", "lists an AZ twice");
  const azRegions = new Set(s.availability_zones.map((az) => az.slice(0, -1)));
  if (s.availability_zones.length && (azRegions.size > 1 || !azRegions.has(s.region))) {
    add("availability_zones", `every AZ must be in region ${s.region}, got ${s.availability_zones.join(", ")}`, "region");
  }
  if (s.high_availability && azCount < 2) {
    add(s.availability_zones.length ? "availability_zones" : "availability_zone_count", `${azCount} AZ is not highly available; use at least 2 (or set high_availability = false for a throwaway test)`, "high_availability");
  }
  if (s.high_availability && s.asg_min < 2) add("asg_min", `${s.asg_min} server cannot survive losing one; use at least 2 (or set high_availability = false)`, "high_availability");

  if (s.asg_min > s.asg_max) add("asg_min", `${s.asg_min} is greater than asg_max (${s.asg_max}); asg_min must be <= asg_max`, "asg_max");
  if (s.asg_desired !== undefined && (s.asg_desired < s.asg_min || s.asg_desired > s.asg_max)) {
    add("asg_desired", `${s.asg_desired} is outside [asg_min, asg_max] = [${s.asg_min}, ${s.asg_max}]`, "asg_min", "asg_max");
  }
  if (s.scale_in_cpu_percent >= s.scale_out_cpu_percent) {
    add("scale_in_cpu_percent", `${s.scale_in_cpu_percent} must be below scale_out_cpu_percent (${s.scale_out_cpu_percent}), or the fleet flaps`, "scale_out_cpu_percent");
  }
  if (s.scale_in_network_bytes_per_second >= s.scale_out_network_bytes_per_second) {
    add("scale_in_network_bytes_per_second", `${s.scale_in_network_bytes_per_second} must be below scale_out_network_bytes_per_second (${s.scale_out_network_bytes_per_second}), or the fleet flaps`, "scale_out_network_bytes_per_second");
  }
  if (s.health_check_timeout_seconds > s.health_check_interval_seconds) {
    add("health_check_timeout_seconds", `${s.health_check_timeout_seconds} must not exceed health_check_interval_seconds (${s.health_check_interval_seconds})`, "health_check_interval_seconds");
  }
  return problems;
}
