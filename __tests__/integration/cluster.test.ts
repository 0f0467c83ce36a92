/**
 * Real WireGuard in a box: three servers running the project's templates and agent in network
 * namespaces behind the nftables LB (health 1 s x 2), one shared store. The cases run in order on
 * one cluster; the failover case is last because it kills the active server.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startPinger, topology, waitFor, type LocalCluster } from "../../scripts/lib/cluster";
import { describeIntegration, failureTracker, measure, nowSeconds, printMeasurements, runPrefix, startCluster, stopCluster } from "./helpers";

const PREFIX = runPrefix("itcl");
const SYNC_BOUND_MS = 5000;

describeIntegration("cluster: clients, propagation, revocation, failover", () => {
  let cluster: LocalCluster | undefined;
  const t = failureTracker();
  const c = () => cluster!;
  const pingOnce = (client: string, target: string, waitSeconds = 1) =>
    c().clientExec(client, "ping", ["-c", "1", "-n", "-W", String(waitSeconds), target], { timeoutMs: (waitSeconds + 2) * 1000 });
  const serverPeers = async (i: number) => (await c().wgShow(i, "peers")).stdout.split("\n").filter(Boolean);
  const publicKeyOf = (config: string) => {
    const priv = /^PrivateKey = (\S+)/m.exec(config)?.[1];
    return priv;
  };
  const otherThan = (target: number) => c().state.servers.map((s) => s.index).find((i) => i !== target)!;

  beforeAll(async () => {
    cluster = await startCluster(PREFIX, { servers: 3 });
  }, 90_000);

  afterAll(() => {
    stopCluster(cluster, t.failed);
    printMeasurements("cluster.test.ts");
  });

  test(
    "three servers booting at once agree on one server key",
    t.wrap(async () => {
      const want = readFileSync(join(c().storeDir, "server", "public.key"), "utf8").trim();
      for (const s of c().state.servers) {
        expect((await c().wgShow(s.index, "public-key")).stdout.trim()).toBe(want);
      }
      const created = c()
        .state.servers.map((s) => readFileSync(join(s.dir, "bootstrap.log"), "utf8"))
        .join("")
        .match(/created the cluster's server key/g);
      expect(created).toHaveLength(1);
    }),
  );

  test(
    "a client handshakes through the LB and pings the servers' tunnel address and a host beyond them (MASQUERADE)",
    t.wrap(async () => {
      const target = c().lbTarget()!;
      const { config } = await c().addClient("alice", { server: target });
      // Connect once the target has the peer: an earlier handshake would be retried only after 5 s.
      await waitFor("alice on the target", () => (c().syncStatus(target)?.peers ?? 0) >= 1, SYNC_BOUND_MS, 50);
      await c().connectClient("alice", config);
      await waitFor("alice's first reply", async () => (await pingOnce("alice", topology.SERVER_TUNNEL_ADDRESS)).code === 0, 10_000);
      expect(await c().clientHandshake("alice")).toBeGreaterThan(0);
      // The "internet" host (the LB's loopback) has no route back to 10.100.0.0/22: a reply proves
      // the server NATed the flow.
      const noRoute = await c().lbExec("ip", ["route", "get", "10.100.0.2"]);
      expect(noRoute.code).not.toBe(0);
      const beyond = await pingOnce("alice", topology.INTERNET_HOST_ADDRESS, 2);
      expect(beyond.code).toBe(0);
    }),
    30_000,
  );

  test(
    "a client cannot reach any server's agent through the tunnel (nor /drain it): the firewall drops it",
    t.wrap(async () => {
      const target = c().lbTarget()!;
      const curl = (url: string) => c().clientExec("alice", "curl", ["-s", "-o", "/dev/null", "--max-time", "2", url], { timeoutMs: 5000 });
      // The server it is connected to (tunnel address), and another server via forwarding + MASQUERADE.
      expect((await curl(`http://${topology.SERVER_TUNNEL_ADDRESS}:${topology.AGENT_PORT}/health`)).code).not.toBe(0);
      const other = topology.serverUnderlay(otherThan(target)).address;
      expect((await curl(`http://${other}:${topology.AGENT_PORT}/health`)).code).not.toBe(0);
      // The VPC still reaches the agents (the NLB's health checks come from there).
      expect((await c().probeHealth(otherThan(target))).code).toBe(200);
    }),
    20_000,
  );

  test(
    "a client added on one server works through another within the sync bound",
    t.wrap(async () => {
      const target = c().lbTarget()!;
      const other = otherThan(target);
      const t0 = Date.now();
      const { config } = await c().addClient("bob", { server: other });
      const addedAt = Date.now();
      const pub = (await c().serverExec(other, "wg", ["pubkey"], { input: `${publicKeyOf(config)}\n` })).stdout.trim();
      await waitFor("bob on the LB's target", async () => (await serverPeers(target)).includes(pub), SYNC_BOUND_MS, 50);
      const appliedMs = Date.now() - addedAt;
      await c().connectClient("bob", config);
      await waitFor("bob's reply via the LB target", async () => (await pingOnce("bob", topology.SERVER_TUNNEL_ADDRESS)).code === 0, SYNC_BOUND_MS);
      measure("propagation: add on another server -> applied on the LB target", appliedMs / 1000);
      measure("propagation: add on another server -> client ping answered via the LB target", (Date.now() - t0) / 1000);
      expect(appliedMs).toBeLessThan(SYNC_BOUND_MS);
    }),
    30_000,
  );

  test(
    "20 concurrent adds across two servers get 20 distinct addresses, applied everywhere",
    t.wrap(async () => {
      const names = Array.from({ length: 20 }, (_, i) => `bulk${i}`);
      const results = await Promise.all(names.map((n, i) => c().wgClient(1 + (i % 2), ["add", n])));
      for (const r of results) expect(r.code).toBe(0);
      const addresses = results.map((r) => /^Address = (\S+)/m.exec(r.stdout)?.[1]);
      expect(new Set(addresses).size).toBe(20);
      expect(addresses.every((a) => a && a.startsWith("10.100."))).toBe(true);
      for (const s of c().state.servers) {
        await waitFor(`22 peers on s${s.index}`, async () => (await serverPeers(s.index)).length === 22, SYNC_BOUND_MS, 100);
      }
    }),
    60_000,
  );

  test(
    "a corrupt or half-written peer file is skipped with a log line naming it; the others still apply",
    t.wrap(async () => {
      const peers = join(c().storeDir, "peers");
      writeFileSync(join(peers, "zz-corrupt.peer"), "name=zz-corrupt\npublic_key=not-a-key\naddress=10.100.3.200/32\n");
      writeFileSync(join(peers, "zz-half.peer"), "name=zz-half\npublic_key=");
      const { config } = await c().addClient("carol", { server: 1 }); // bumps the version
      for (const s of c().state.servers) {
        await waitFor(
          `s${s.index} skipping the bad files`,
          () => {
            const st = c().syncStatus(s.index);
            return !!st && st.skipped.includes("zz-corrupt.peer") && st.skipped.includes("zz-half.peer") && st.peers === 23;
          },
          SYNC_BOUND_MS,
        );
        const log = readFileSync(join(s.dir, "sync.log"), "utf8");
        expect(log).toMatch(/skipping peers\/zz-corrupt\.peer: public_key is not a WireGuard key/);
        expect(log).toMatch(/skipping peers\/zz-half\.peer/);
      }
      await c().connectClient("carol", config);
      await waitFor("carol's reply", async () => (await pingOnce("carol", topology.SERVER_TUNNEL_ADDRESS)).code === 0, SYNC_BOUND_MS);
      expect((await pingOnce("alice", topology.SERVER_TUNNEL_ADDRESS)).code).toBe(0);
      const list = await c().wgClient(1, ["list"]);
      expect(list.stdout).toMatch(/^carol\s+10\.100\.\S+/m);
    }),
    30_000,
  );

  test(
    "revoke removes the client from every server and its traffic stops",
    t.wrap(async () => {
      const pub = (await c().clientExec("bob", "wg", ["show", c().client("bob").interface, "public-key"])).stdout.trim();
      const revoked = await c().wgClient(otherThan(c().lbTarget()!), ["revoke", "bob"]);
      expect(revoked.code).toBe(0);
      for (const s of c().state.servers) {
        await waitFor(`bob gone from s${s.index}`, async () => !(await serverPeers(s.index)).includes(pub), SYNC_BOUND_MS, 50);
      }
      expect((await pingOnce("bob", topology.SERVER_TUNNEL_ADDRESS)).code).not.toBe(0);
      expect((await pingOnce("alice", topology.SERVER_TUNNEL_ADDRESS)).code).toBe(0);
      const again = await c().wgClient(1, ["revoke", "bob"]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/no client named 'bob'/);
    }),
    30_000,
  );

  test(
    "an unreadable store keeps the last good config serving (source cache, last_success frozen)",
    t.wrap(async () => {
      const store = c().storeDir;
      const away = `${store}.away`;
      renameSync(store, away);
      try {
        const cached = await waitFor("a cache status", () => {
          const st = c().syncStatus(1);
          return st?.source === "cache" ? st : undefined;
        }, SYNC_BOUND_MS);
        expect(cached.error).toMatch(/cannot read .*version/);
        expect((await pingOnce("alice", topology.SERVER_TUNNEL_ADDRESS)).code).toBe(0);
        await new Promise((r) => setTimeout(r, 1500));
        expect(c().syncStatus(1)?.last_success).toBe(cached.last_success);
        expect((await serverPeers(1)).length).toBeGreaterThan(20);
      } finally {
        renameSync(away, store);
      }
      await waitFor("the store source again", () => c().syncStatus(1)?.source === "store", SYNC_BOUND_MS);
    }),
    30_000,
  );

  test(
    "killing the active server fails the client over to another (outage measured)",
    t.wrap(async () => {
      const target = c().lbTarget()!;
      const pinger = startPinger(c().client("alice").namespace, topology.SERVER_TUNNEL_ADDRESS, 0.2, 90);
      try {
        await pinger.firstReplyAfter(nowSeconds() + 1, 5000); // steady traffic before the kill
        const killedAt = nowSeconds();
        await c().killServer(target);
        const killDone = nowSeconds(); // replies before this may still come from the dying server
        const switched = await c().waitForTarget((s) => s.target !== target, 15_000);
        const reply = await pinger.firstReplyAfter(killDone, 45_000);
        measure(`failover: LB moved s${target} -> s${switched.target} after`, switched.updatedAt - killedAt);
        measure("failover: active client outage (kill -> first reply, ping every 0.2 s, health 1 s x 2)", reply - killedAt);
        expect(reply - killedAt).toBeGreaterThan(5); // the new server needs a new handshake: never instant
        expect(reply - killedAt).toBeLessThan(35);
      } finally {
        await pinger.stop();
      }
    }),
    90_000,
  );
});
