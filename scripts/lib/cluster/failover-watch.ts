/**
 * Failure rehearsal with a stopwatch: a client pings the servers' tunnel address every 0.2 s, a
 * server is killed, and the LB's events and the client's first reply after the kill are
 * reported as they happen, timed from the kill (the same measurement as bench/failover.ts).
 */
import type { LocalCluster } from "./cluster";
import { startPinger } from "./pinger";
import { SERVER_TUNNEL_ADDRESS } from "./topology";

export interface FailoverWatchOptions {
  /** The client that sends (connected with connectClient). */
  readonly client: string;
  /** The server to kill. */
  readonly server: number;
  /** Seconds between pings. @default 0.2 */
  readonly intervalSeconds?: number;
  /** How long to wait for the first reply after the kill. @default 45 s + the LB's worst-case detection time */
  readonly timeoutMs?: number;
  /** Called for each event: seconds since the kill (null before it) and a line of text. */
  readonly onEvent?: (sinceKill: number | null, text: string) => void;
}

export interface FailoverWatchResult {
  readonly server: number;
  /** Epoch seconds when the kill started. */
  readonly killedAt: number;
  /** Kill -> the client's first reply after it. */
  readonly outageSeconds: number;
  /** Kill -> the LB moved to another target (undefined: it had not moved when the reply came). */
  readonly switchSeconds?: number;
  readonly newTarget?: number;
  /** Pings sent during the outage that got no reply (estimate: outage / interval - 1). */
  readonly lostReplies: number;
}

const now = () => Date.now() / 1000;

/** Parses an lb/events.log line: "<iso> <epoch> <message>". */
export function parseLbEvent(line: string): { at: number; message: string } | undefined {
  const m = /^\S+ (\d+(?:\.\d+)?) (.*)$/.exec(line);
  return m ? { at: Number(m[1]), message: m[2] } : undefined;
}

export async function watchFailover(cluster: LocalCluster, opts: FailoverWatchOptions): Promise<FailoverWatchResult> {
  const interval = opts.intervalSeconds ?? 0.2;
  const lb = cluster.state.lb;
  const timeoutMs = opts.timeoutMs ?? 45_000 + lb.healthIntervalSeconds * (lb.unhealthyThreshold + 1) * 1000;
  const emit = opts.onEvent ?? (() => undefined);
  const client = cluster.client(opts.client);
  cluster.server(opts.server);
  const before = cluster.lbTarget();
  const pinger = startPinger(client.namespace, SERVER_TUNNEL_ADDRESS, interval, Math.ceil(timeoutMs / 1000) + 30);
  try {
    try {
      await pinger.firstReplyAfter(now(), 10_000);
    } catch {
      throw new Error(`${opts.client} gets no reply from ${SERVER_TUNNEL_ADDRESS} before the kill: is it connected and handshaking? (status, client connect ${opts.client})`);
    }
    emit(null, `${opts.client} pings ${SERVER_TUNNEL_ADDRESS} every ${interval} s and gets replies (LB target s${before ?? "?"})`);
    let seen = cluster.lbEvents().length;
    const killedAt = now();
    await cluster.killServer(opts.server);
    const killDone = now(); // replies before this may still come from the dying server
    emit(killDone - killedAt, `s${opts.server} killed (SIGKILL of everything in its namespace, link down)`);
    let switchSeconds: number | undefined;
    let newTarget: number | undefined;
    const flushEvents = () => {
      const lines = cluster.lbEvents();
      for (const line of lines.slice(seen)) {
        const e = parseLbEvent(line);
        if (!e) continue;
        emit(e.at - killedAt, `LB: ${e.message}`);
        const sw = /^switch s\d+ -> s(\d+)/.exec(e.message);
        if (sw && switchSeconds === undefined) {
          switchSeconds = e.at - killedAt;
          newTarget = Number(sw[1]);
        }
      }
      seen = lines.length;
    };
    const deadline = Date.now() + timeoutMs;
    let reply: number | undefined;
    while (reply === undefined) {
      flushEvents();
      reply = pinger.replies.find((t) => t > killDone);
      if (reply !== undefined) break;
      if (Date.now() > deadline) {
        throw new Error(`no reply to ${opts.client}'s pings within ${Math.round(timeoutMs / 1000)} s after the kill (see status, and logs lb)`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    flushEvents();
    const outageSeconds = reply - killedAt;
    const lostReplies = Math.max(0, Math.round(outageSeconds / interval) - 1);
    emit(outageSeconds, `first reply to ${opts.client} after the kill`);
    return { server: opts.server, killedAt, outageSeconds, switchSeconds, newTarget, lostReplies };
  } finally {
    await pinger.stop();
  }
}

/** A timeline line: "+ 15.57 s  text" (blank stamp before the kill). */
export function formatFailoverEvent(sinceKill: number | null, text: string): string {
  return `${sinceKill === null ? "         " : `+${sinceKill.toFixed(2).padStart(6)} s`}  ${text}`;
}

/** The closing lines of a watched failover. */
export function formatFailoverSummary(client: string, r: FailoverWatchResult): string[] {
  const lines = [
    `${client}'s outage: ${r.outageSeconds.toFixed(2)} s (about ${r.lostReplies} pings unanswered)` +
      (r.switchSeconds === undefined ? "." : `; the LB moved to s${r.newTarget} after ${r.switchSeconds.toFixed(2)} s.`),
  ];
  if (r.switchSeconds !== undefined && r.outageSeconds > 10) {
    lines.push("The rest is WireGuard's own: a client that keeps sending re-handshakes 15 s after it last heard a server.");
  }
  return lines;
}
