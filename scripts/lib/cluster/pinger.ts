/**
 * A pinger in a client namespace (`ping -D -n -i INTERVAL`) whose reply times are collected as
 * they arrive: the outage of a failover is the time from an event (a server killed) to the first
 * reply after it.
 */
import { spawn } from "node:child_process";

export interface Pinger {
  /** Epoch seconds of every reply so far. */
  readonly replies: number[];
  /** Resolves with the epoch seconds of the first reply after `since` (epoch seconds). */
  firstReplyAfter(since: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export function startPinger(namespace: string, target: string, intervalSeconds = 0.2, maxSeconds = 120): Pinger {
  const child = spawn("ip", ["netns", "exec", namespace, "ping", "-D", "-n", "-i", String(intervalSeconds), "-w", String(maxSeconds), target], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const replies: number[] = [];
  const waiters: Array<() => void> = [];
  let buffered = "";
  let exited = false;
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/.exec(line);
      if (m) replies.push(Number(m[1]));
    }
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<void>((resolve) =>
    child.on("close", () => {
      exited = true;
      waiters.splice(0).forEach((w) => w());
      resolve();
    }),
  );
  return {
    replies,
    async firstReplyAfter(since, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = replies.find((t) => t > since);
        if (r !== undefined) return r;
        if (exited || Date.now() >= deadline) throw new Error(`no ping reply from ${target} within ${timeoutMs} ms after ${since}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async stop() {
      if (!exited) child.kill("SIGINT");
      await closed;
    },
  };
}
