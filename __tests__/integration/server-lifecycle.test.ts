/**
 * One server's life on a 2-server cluster: bootstrap idempotence, a no-change sync that costs
 * nothing, the agent's 503 when the interface is gone or the server drains, and the key election
 * under contention (many concurrent bootstraps against fresh stores).
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, waitFor, type LocalCluster } from "../../scripts/lib/cluster";
import { describeIntegration, failureTracker, measure, printMeasurements, runPrefix, startCluster, stopCluster } from "./helpers";

const PREFIX = runPrefix("itlf");
const REPO = join(__dirname, "..", "..");
const BIN = join(REPO, "templates", "bin");

describeIntegration("server lifecycle: bootstrap, sync, agent", () => {
  let cluster: LocalCluster | undefined;
  const t = failureTracker();
  const c = () => cluster!;

  beforeAll(async () => {
    cluster = await startCluster(PREFIX, { servers: 2 });
  }, 90_000);

  afterAll(() => {
    stopCluster(cluster, t.failed);
    printMeasurements("server-lifecycle.test.ts");
  });

  /** Everything bootstrap decides, as text (and the config's mtime). */
  async function snapshot(i: number) {
    const s = c().server(i);
    const conf = join(s.localDir, `${s.interface}.conf`);
    const show = async (cmd: string, args: string[]) => (await c().serverExec(i, cmd, args)).stdout.replace(/\s+(used|lastuse)\s+\S+/g, "");
    return {
      conf: readFileSync(conf, "utf8"),
      confMtime: statSync(conf).mtimeMs,
      nft: await show("nft", ["list", "ruleset"]),
      link: (await show("ip", ["-d", "link", "show", "dev", s.interface])).replace(/\s+\d+ bytes.*$/gm, ""),
      addr: await show("ip", ["-o", "address", "show", "dev", s.interface]),
      wg: await show("wg", ["show", s.interface, "dump"]),
      forward: await show("sysctl", ["-n", "net.ipv4.ip_forward"]),
    };
  }

  test(
    "bootstrap is idempotent: a second run changes neither config, ruleset, interface nor peers",
    t.wrap(async () => {
      await c().addClient("idem", { server: 1 });
      await waitFor("the peer on s1", () => c().syncStatus(1)?.peers === 1, 5000);
      const before = await snapshot(1);
      expect(before.nft).toMatch(/table inet wg_ha/);
      expect(before.nft).toMatch(/ip saddr 10\.100\.0\.0\/22 oifname "eth0" masquerade/);
      expect(before.forward.trim()).toBe("1");
      const again = await c().bootstrap(1);
      expect(again.code).toBe(0);
      expect(again.stderr).not.toMatch(/created/);
      const after = await snapshot(1);
      expect(after).toEqual(before);
    }),
    30_000,
  );

  test(
    "a sync with nothing changed runs no wg and writes no file; a change is applied",
    t.wrap(async () => {
      const s = c().server(2);
      // A `wg` first on PATH that records every call and fails.
      const shim = mkdtempSync(join(tmpdir(), "wg-ha-shim-"));
      const calls = join(shim, "calls");
      writeFileSync(join(shim, "wg"), `#!/bin/sh\necho "$*" >>"${calls}"\nexit 1\n`);
      chmodSync(join(shim, "wg"), 0o755);
      // `--once` runs on a copy of s2's local state, so it never races the running loop's writes.
      const local = join(shim, "local");
      const env = { PATH: `${shim}:${process.env.PATH}`, WG_HA_LOCAL_DIR: local };
      try {
        const conf = join(s.localDir, `${s.interface}.conf`);
        await waitFor("s2 in sync", () => c().syncStatus(2)?.peers === 1, 5000);
        cpSync(s.localDir, local, { recursive: true, preserveTimestamps: true });
        const copied = { status: statSync(join(local, "sync-status.json")).mtimeMs, conf: statSync(join(local, `${s.interface}.conf`)).mtimeMs };
        const once = await c().serverExec(2, join(BIN, "wg-ha-sync"), ["--once"], { env });
        expect(once.code).toBe(0);
        expect(readdirSync(shim)).not.toContain("calls");
        expect(statSync(join(local, "sync-status.json")).mtimeMs).toBe(copied.status);
        expect(statSync(join(local, `${s.interface}.conf`)).mtimeMs).toBe(copied.conf);
        // The long-running loop: 3 polls later the applied version and the config are untouched.
        const before = { conf: statSync(conf).mtimeMs, version: c().syncStatus(2)?.applied_version };
        const logBefore = readFileSync(join(s.dir, "sync.log"), "utf8");
        await new Promise((r) => setTimeout(r, 3000));
        expect(c().syncStatus(2)?.applied_version).toBe(before.version);
        expect(statSync(conf).mtimeMs).toBe(before.conf);
        expect(readFileSync(join(s.dir, "sync.log"), "utf8")).toBe(logBefore);
        // A change: now --once does call wg (which the shim fails), and the loop applies it.
        await c().addClient("changed", { server: 1 });
        const changed = await c().serverExec(2, join(BIN, "wg-ha-sync"), ["--once"], { env });
        expect(readFileSync(calls, "utf8")).toMatch(/^syncconf /m);
        expect(changed.code).not.toBe(0);
        await waitFor("the loop applying the change", () => c().syncStatus(2)?.peers === 2 && !c().syncStatus(2)?.error, 5000);
      } finally {
        rmSync(shim, { recursive: true, force: true });
      }
    }),
    30_000,
  );

  test(
    "the agent answers 503 while the interface is down, 200 again after bootstrap",
    t.wrap(async () => {
      expect((await c().probeHealth(2)).code).toBe(200);
      await c().serverExec(2, "ip", ["link", "del", "dev", c().server(2).interface]);
      await waitFor("503 from s2", async () => (await c().probeHealth(2)).code === 503, 10_000);
      const boot = await c().bootstrap(2);
      expect(boot.code).toBe(0);
      await waitFor("200 from s2", async () => (await c().probeHealth(2)).code === 200, 10_000);
      // The sync loop noticed the new interface and re-applied the peers.
      await waitFor("peers back on s2", async () => (await c().wgShow(2, "peers")).stdout.trim().split("\n").length === 2, 5000);
    }),
    40_000,
  );

  test(
    "the agent answers 503 while draining, and the LB moves new flows away",
    t.wrap(async () => {
      const target = c().lbTarget()!;
      const started = Date.now();
      c().drainServer(target, "test drain");
      try {
        await waitFor("503 while draining", async () => (await c().probeHealth(target)).code === 503, 5000);
        const moved = await c().waitForTarget((s) => s.target !== target, 10_000);
        measure("drain -> LB moved (health 1 s x 2)", (moved.updatedAt * 1000 - started) / 1000);
      } finally {
        c().undrainServer(target);
      }
      await waitFor("200 after drain", async () => (await c().probeHealth(target)).code === 200, 5000);
    }),
    30_000,
  );

  test(
    "concurrent bootstraps elect exactly one server key (10 rounds x 4 racers)",
    t.wrap(async () => {
      const root = mkdtempSync(join(tmpdir(), "wg-ha-race-"));
      try {
        for (let round = 0; round < 10; round++) {
          const store = join(root, `store${round}`);
          mkdirSync(store);
          const racers = await Promise.all(
            [1, 2, 3, 4].map((n) => {
              const local = join(root, `local${round}-${n}`);
              // --key-only touches only the store; the settings of server 1, paths overridden by the environment.
              return run(join(BIN, "wg-ha-bootstrap"), ["--key-only"], {
                env: { ...c().serverEnv(1), WG_HA_STATE_DIR: store, WG_HA_LOCAL_DIR: local },
              });
            }),
          );
          for (const r of racers) expect(r.code).toBe(0);
          expect(racers.filter((r) => /created the cluster's server key/.test(r.stderr))).toHaveLength(1);
          const keys = new Set(racers.map((r) => /server public key (\S+)/.exec(r.stderr)?.[1]));
          expect(keys.size).toBe(1);
          expect(readFileSync(join(store, "server", "public.key"), "utf8").trim()).toBe([...keys][0]);
          expect(readdirSync(join(store, "server")).sort()).toEqual(["private.key", "public.key"]);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }),
    60_000,
  );
});
