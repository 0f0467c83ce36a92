/**
 * Probes for "what can a connected client reach" (docs/security.md): TCP listeners in a namespace
 * that answer "reached <port>" (fixtures/tcp-listener.py), a connect probe that counts only that
 * answer, ping, the route a client uses, and the permissive table that stands for "no firewall" in
 * the control runs (MASQUERADE only: what a reach needs, nothing that forbids one).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inNamespace, run, spawnDetached, waitFor, type ProcessRecord } from "../../scripts/lib/cluster/exec";

const LISTENER = join(__dirname, "fixtures", "tcp-listener.py");
const PROBE = [
  "import socket, sys",
  "host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])",
  "try:",
  "    s = socket.create_connection((host, port), timeout=wait); s.settimeout(wait); print(s.recv(64).decode().strip())",
  "except OSError as e:",
  "    print('unreached: %s' % e); sys.exit(1)",
].join("\n");

/** Starts the listener in NS on every bind ("0.0.0.0:2049", "[::]:80"); resolves once it listens. */
export async function startListener(ns: string, binds: readonly string[], logFile: string): Promise<ProcessRecord> {
  const listener = spawnDetached(ns, "python3", [LISTENER, "--seconds", "900", ...binds], { logFile, what: `listener in ${ns}` });
  await waitFor(`the listener in ${ns}`, () => readFileSafe(logFile).includes(`listening on ${binds.join(" ")}`), 10_000, 50);
  return listener;
}

/** True when a TCP connection from NS to HOST:PORT gets the listener's answer within waitSeconds. */
export async function reachesTcp(ns: string, host: string, port: number, waitSeconds = 3): Promise<boolean> {
  const [c, a] = inNamespace(ns, "python3", ["-c", PROBE, host, String(port), String(waitSeconds)]);
  const r = await run(c, a, { timeoutMs: (waitSeconds + 5) * 1000 });
  return r.code === 0 && r.stdout.trim() === `reached ${port}`;
}

/** True when an HTTP GET of URL from NS gets any HTTP answer within waitSeconds (the health agent). */
export async function reachesHttp(ns: string, url: string, waitSeconds = 3): Promise<boolean> {
  const [c, a] = inNamespace(ns, "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", String(waitSeconds), url]);
  return /^[1-5]\d\d$/.test((await run(c, a, { timeoutMs: (waitSeconds + 5) * 1000 })).stdout.trim());
}

/** True when one ICMP echo from NS to ADDRESS is answered within waitSeconds. */
export async function answersPing(ns: string, address: string, waitSeconds = 2): Promise<boolean> {
  const [c, a] = inNamespace(ns, "ping", ["-c", "1", "-n", "-W", String(waitSeconds), address]);
  return (await run(c, a, { timeoutMs: (waitSeconds + 5) * 1000 })).code === 0;
}

/** The interface NS routes ADDRESS through (`ip route get`). */
export async function routeDevice(ns: string, address: string): Promise<string | undefined> {
  const [c, a] = inNamespace(ns, "ip", [address.includes(":") ? "-6" : "-4", "route", "get", address]);
  return / dev (\S+)/.exec((await run(c, a)).stdout)?.[1];
}

/** Table inet wg_ha with nothing but MASQUERADE: a server as if it had no firewall rule at all. */
export function permissiveRuleset(clientCidr: string, clientCidr6: string, egress: string): string {
  return [
    "table inet wg_ha",
    "delete table inet wg_ha",
    "table inet wg_ha {",
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority 100; policy accept;",
    `\t\tip saddr ${clientCidr} oifname "${egress}" masquerade`,
    `\t\tip6 saddr ${clientCidr6} oifname "${egress}" masquerade`,
    "\t}",
    "}",
    "",
  ].join("\n");
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
