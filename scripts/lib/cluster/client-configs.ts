/**
 * Client configs kept for the local cluster's users: `wg-client add` prints a new client's config
 * (with its private key) once; the local cluster stands in for the user's device and keeps it in
 * `<stateDir>/configs/<name>.conf` (0600) so `client connect NAME` can use it. The servers still
 * store only the public key. Removed with the state directory by `down`.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CONFIGS_DIR = "configs";

/** wg-client's name rule: 1-32 of a-z 0-9 _ . - starting with a letter or digit. */
export const CLIENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

export function clientConfigFile(stateDir: string, name: string): string {
  if (!CLIENT_NAME_PATTERN.test(name)) throw new Error(`invalid client name '${name}': use 1-32 of a-z 0-9 _ . - starting with a letter or digit`);
  return join(stateDir, CONFIGS_DIR, `${name}.conf`);
}

export function saveClientConfig(stateDir: string, name: string, config: string): string {
  const file = clientConfigFile(stateDir, name);
  mkdirSync(join(stateDir, CONFIGS_DIR), { recursive: true, mode: 0o700 });
  writeFileSync(file, config.endsWith("\n") ? config : `${config}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode otherwise
  return file;
}

export function readClientConfig(stateDir: string, name: string): string | undefined {
  try {
    return readFileSync(clientConfigFile(stateDir, name), "utf8");
  } catch {
    return undefined;
  }
}

export function removeClientConfig(stateDir: string, name: string): void {
  rmSync(clientConfigFile(stateDir, name), { force: true });
}

/** Names of the saved configs, sorted. */
export function savedClientConfigs(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, CONFIGS_DIR))
      .filter((f) => f.endsWith(".conf"))
      .map((f) => f.slice(0, -".conf".length))
      .sort();
  } catch {
    return [];
  }
}

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410): the 32 key bytes follow. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** `wg pubkey`, without wg: the X25519 public key of a base64 WireGuard private key. */
export function publicKeyOf(privateKey: string): string {
  const raw = Buffer.from(privateKey.trim(), "base64");
  if (raw.length !== 32) throw new Error("not a WireGuard private key (expected 32 bytes of base64)");
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

/** The config's `PrivateKey =` value, if it has one (a --public-key client's config does not). */
export function configPrivateKey(config: string): string | undefined {
  return /^\s*PrivateKey\s*=\s*(\S+)/m.exec(config)?.[1];
}

/** The config's IPv4 `Address`, without the prefix length. */
export function configAddress(config: string): string | undefined {
  return /^\s*Address\s*=\s*([0-9.]+)/m.exec(config)?.[1];
}
