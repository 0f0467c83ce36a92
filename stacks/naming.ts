/**
 * Resource names: `<resourcePrefix>-<suffix>`, shortened deterministically where AWS caps the
 * length (load balancers and target groups: 32 characters).
 */
import { createHash } from "node:crypto";

/** AWS name length limits that a long name_prefix + environment name can exceed. */
export const NAME_LIMITS = { loadBalancer: 32, targetGroup: 32 } as const;

/**
 * `${prefix}-${suffix}`, or when longer than `maxLength`, the prefix cut short plus a 6-hex
 * hash of the full name (stable across runs, unique per full name), then the suffix.
 */
export function resourceName(prefix: string, suffix: string, maxLength = 255): string {
  const full = `${prefix}-${suffix}`;
  if (full.length <= maxLength) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 6);
  const keep = maxLength - suffix.length - hash.length - 2;
  if (keep < 1) throw new Error(`suffix "${suffix}" is too long for a ${maxLength}-character name`);
  return `${prefix.slice(0, keep).replace(/-+$/, "")}-${hash}-${suffix}`;
}
