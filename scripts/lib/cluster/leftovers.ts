/**
 * A thorough "did it leave anything behind?" for a cluster's prefix (and state directory): its
 * namespaces and WireGuard sockets (findLeftovers), plus links and nftables tables in the host's
 * own namespace named with the prefix, and live processes that belong to it (an argv naming one
 * of its interfaces or its state directory, or an environment pointing into the state directory).
 * For tests and `down` reports; it only looks, never removes.
 */
import { readFileSync, readdirSync } from "node:fs";
import { runSync } from "./exec";
import { findLeftovers } from "./teardown";

export interface DeepLeftovers {
  readonly namespaces: string[];
  readonly sockets: string[];
  readonly links: string[];
  readonly nftTables: string[];
  readonly processes: Array<{ readonly pid: number; readonly cmdline: string }>;
}

export function scanLeftovers(prefix: string, stateDir?: string): DeepLeftovers {
  const { namespaces, sockets } = findLeftovers(prefix);
  const links = runSync("ip", ["-o", "link", "show"])
    .stdout.split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n.startsWith(prefix));
  const nftTables = runSync("nft", ["list", "tables"])
    .stdout.split("\n")
    .map((l) => /^table\s+\S+\s+(\S+)/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined && n.startsWith(prefix));
  const iface = new RegExp(`(^|[^a-z0-9])${prefix}[sc]\\d+($|[^0-9])`);
  const processes: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSafe("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = readProc(pid, "cmdline").split("\0").filter(Boolean).join(" ");
    if (!cmdline) continue; // kernel thread or gone
    const environ = stateDir ? readProc(pid, "environ") : "";
    if (iface.test(cmdline) || (stateDir && (cmdline.includes(stateDir) || environ.includes(stateDir)))) processes.push({ pid, cmdline });
  }
  return { namespaces, sockets, links, nftTables, processes };
}

/** True when the scan found nothing. */
export function isClean(l: DeepLeftovers): boolean {
  return !l.namespaces.length && !l.sockets.length && !l.links.length && !l.nftTables.length && !l.processes.length;
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return "";
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
