/**
 * Bootstrap fails closed (templates/bin/wg-ha-bootstrap), on a 1-server cluster running the real
 * templates and health agent: the firewall is in before the interface carries a peer, forwarding
 * comes on last, and a failed bootstrap leaves the interface down and forwarding off with one log
 * line, so the agent answers 503; a rerun after the fix brings everything back.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topology, waitFor, type LocalCluster } from "../../scripts/lib/cluster";
import { describeIntegration, failureTracker, printMeasurements, runPrefix, startCluster, stopCluster } from "./helpers";

const PREFIX = runPrefix("itfc");

/**
 * A program first on PATH that, when called with one of TRIGGERS in its arguments, appends the
 * state of the server at that moment to LOG, then runs the real program.
 */
function recordingShim(dir: string, program: string, triggers: string, log: string, iface: string): void {
  writeFileSync(
    join(dir, program),
    [
      "#!/bin/bash",
      `if [[ " $* " =~ ${triggers} ]]; then`,
      "  table=absent; nft list table inet wg_ha >/dev/null 2>&1 && table=present",
      `  link=down; [[ $(ip -o link show dev ${iface} 2>/dev/null) =~ [\\<,]UP[,\\>] ]] && link=up`,
      `  echo "${program} $*: table=$table link=$link forwarding=$(cat /proc/sys/net/ipv4/ip_forward)" >>${log}`,
      "fi",
      `PATH="\${PATH#${dir}:}" exec ${program} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(join(dir, program), 0o755);
}

describeIntegration("bootstrap fails closed", () => {
  let cluster: LocalCluster | undefined;
  const t = failureTracker();
  const c = () => cluster!;
  const iface = () => c().server(1).interface;
  const bootstrapBin = () => join(c().state.repoRoot, "templates", "bin", "wg-ha-bootstrap");
  const bootstrap = (env: Record<string, string> = {}) => c().serverExec(1, bootstrapBin(), [], { env, timeoutMs: 60_000 });
  const linkUp = async () => /[<,]UP[,>]/.test((await c().serverExec(1, "ip", ["-o", "link", "show", "dev", iface()])).stdout);
  const forwarding = async () => (await c().serverExec(1, "sysctl", ["-n", "net.ipv4.ip_forward"])).stdout.trim();
  const health = async () => {
    const r = await c().probeHealth(1);
    let failing: string[] = [];
    try {
      failing = (JSON.parse(r.body) as { failing: string[] }).failing;
    } catch {
      // not JSON: failing stays empty and the code tells
    }
    return { code: r.code, failing };
  };
  const errorLines = (stderr: string) => stderr.split("\n").filter((l) => / error: /.test(l));

  beforeAll(async () => {
    cluster = await startCluster(PREFIX, { servers: 1 });
    await c().addClient("alice", { server: 1 });
    await waitFor("alice applied on s1", () => c().syncStatus(1)?.peers === 1, 5000);
  }, 90_000);

  afterAll(() => {
    stopCluster(cluster, t.failed);
    printMeasurements("fail-closed.test.ts");
  });

  test(
    "from scratch: peers are applied with the firewall in and the interface down; forwarding comes on last, with the interface up",
    t.wrap(async () => {
      const shim = mkdtempSync(join(tmpdir(), "wg-ha-order-"));
      const log = join(shim, "order.log");
      try {
        recordingShim(shim, "wg", "\\ (syncconf|setconf|addconf)\\ ", log, iface());
        recordingShim(shim, "sysctl", "ip_forward=1", log, iface());
        // A server as after a reboot: no interface, no table, no forwarding.
        await c().serverExec(1, "ip", ["link", "del", "dev", iface()]);
        await c().serverExec(1, "nft", ["delete", "table", "inet", "wg_ha"]);
        await c().serverExec(1, "sysctl", ["-qw", "net.ipv4.ip_forward=0"]);
        const r = await bootstrap({ PATH: `${shim}:${process.env.PATH}` });
        expect(r.code).toBe(0);
        const steps = readFileSync(log, "utf8").trim().split("\n");
        expect(steps.map((s) => s.replace(/^(\S+) .*?: /, "$1: "))).toEqual([
          "wg: table=present link=down forwarding=0",
          "sysctl: table=present link=up forwarding=0",
        ]);
        expect(await linkUp()).toBe(true);
        expect(await forwarding()).toBe("1");
        await waitFor("200 again", async () => (await health()).code === 200, 10_000);
      } finally {
        rmSync(shim, { recursive: true, force: true });
      }
    }),
    120_000,
  );

  test(
    "no default route for MASQUERADE: interface down, forwarding off, one log line, /health 503; a rerun after the fix brings it all up",
    t.wrap(async () => {
      expect(await linkUp()).toBe(true);
      const gateway = topology.serverUnderlay(1).gateway;
      await c().serverExec(1, "ip", ["route", "del", "default"]);
      // The egress interface from the default route, as on EC2 (the local cluster names it).
      const failed = await bootstrap({ WG_HA_NAT_INTERFACE: "" });
      expect(failed.code).toBe(1);
      expect(errorLines(failed.stderr)).toEqual([
        expect.stringMatching(new RegExp(`error: no default route to NAT client traffic through.*; failed closed: ${iface()} is down and forwarding is off until wg-ha-bootstrap succeeds$`)),
      ]);
      expect(await linkUp()).toBe(false);
      expect(await forwarding()).toBe("0");
      const unhealthy = await waitFor("503 from s1", async () => {
        const h = await health();
        return h.code === 503 ? h : undefined;
      }, 10_000);
      expect(unhealthy.failing).toContain("interface");

      await c().serverExec(1, "ip", ["route", "add", "default", "via", gateway]);
      const again = await bootstrap({ WG_HA_NAT_INTERFACE: "" });
      expect(again.code).toBe(0);
      expect(errorLines(again.stderr)).toEqual([]);
      expect(await linkUp()).toBe(true);
      expect(await forwarding()).toBe("1");
      await waitFor("200 from s1", async () => (await health()).code === 200, 10_000);
      expect((await c().wgShow(1, "peers")).stdout.trim().split("\n")).toHaveLength(1);
    }),
    120_000,
  );

  test(
    "a bad setting on a rerun fails closed too, naming the key without echoing control characters; fixed, it comes back",
    t.wrap(async () => {
      const failed = await bootstrap({ WG_HA_VPC_CIDR: "10.40.0.0/16\u001b[2J" });
      expect(failed.code).toBe(1);
      expect(failed.stderr).not.toMatch(/\u001b/);
      expect(errorLines(failed.stderr)).toEqual([
        expect.stringMatching(/error: WG_HA_VPC_CIDR '10\.40\.0\.0\/16\?\[2J' is not an IPv4 CIDR.*; failed closed: \S+ is down and forwarding is off/),
      ]);
      expect(await linkUp()).toBe(false);
      expect(await forwarding()).toBe("0");
      await waitFor("503 from s1", async () => (await health()).code === 503, 10_000);
      expect((await bootstrap()).code).toBe(0);
      expect(await linkUp()).toBe(true);
      await waitFor("200 from s1", async () => (await health()).code === 200, 10_000);
    }),
    120_000,
  );
});
