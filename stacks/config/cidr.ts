/**
 * IPv4/IPv6 CIDR arithmetic for config validation and subnet planning.
 * Pure functions, no dependencies: the same maths Terraform's cidrsubnet() and cidrhost() do.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  readonly base: number;
  readonly prefix: number;
}

/** Parses "10.0.0.0/16"; returns undefined for anything else (host bits set count as invalid). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1])) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const address = ipv4ToInt(match[1]);
  const base = prefix === 0 ? 0 : (address & (~0 << (32 - prefix))) >>> 0;
  return base === address ? { base, prefix } : undefined;
}

/** True for "2001:db8::/64"-style IPv6 CIDRs. */
export function isIpv6Cidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split("/");
  return rest.length === 0 && isIPv6(address) && /^\d{1,3}$/.test(prefix ?? "") && Number(prefix) <= 128;
}

export function ipv4ToInt(address: string): number {
  return address.split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${intToIpv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** Terraform's cidrsubnet(prefix, newbits, netnum). */
export function cidrSubnet(parent: Ipv4Cidr, newBits: number, netNum: number): Ipv4Cidr {
  const prefix = parent.prefix + newBits;
  if (prefix > 32 || netNum < 0 || netNum >= 2 ** newBits) {
    throw new RangeError(`cannot carve subnet ${netNum} of /${prefix} out of ${formatCidr(parent)}`);
  }
  return { base: (parent.base + netNum * 2 ** (32 - prefix)) >>> 0, prefix };
}

/** Terraform's cidrhost(prefix, hostnum). */
export function cidrHost(cidr: Ipv4Cidr, hostNum: number): string {
  return intToIpv4((cidr.base + hostNum) >>> 0);
}
