/**
 * What a connected client can reach (docs/security.md, templates/lib/wg-ha/firewall.sh), with the
 * real templates on a 2-server dual-stack cluster. Two clients, alice and bob, connect through the
 * LB to one server with a hostile config: their AllowedIPs route every target below into the
 * tunnel (a stolen key comes with any config its thief likes), so only the server decides.
 *
 *   VPC host (10.40.0.2, fd00:40::2)  listeners: 2049 "EFS", 80 (also on 169.254.169.254,
 *                                     169.254.170.2 and fd00:ec2::254: "metadata"), 53 "DNS"
 *   every server                      listener on 0.0.0.0:2222 and [::]:2222 (a host service);
 *                                     the health agent on 0.0.0.0:8080
 *   LB loopback                       198.51.100.1, 2001:db8:51::1 (the clients' routes) and
 *                                     192.0.2.1 (off every route)
 *
 * Each "never" is checked three times: dropped with the firewall; answered with a table that only
 * masquerades (so the probe would pass if the rule were gone); dropped again after bootstrap.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { run, topology, type LocalCluster } from "../../scripts/lib/cluster";
import { describeIntegration, failureTracker, printMeasurements, runPrefix, startCluster, stopCluster } from "./helpers";
import { answersPing, permissiveRuleset, reachesHttp, reachesTcp, routeDevice, startListener } from "./reach";

const PREFIX = runPrefix("itfw");
const CLIENT_CIDR6 = "fd42:42:42::/64";
const SERVER_ADDRESS6 = "fd42:42:42::1";
const INTERNET6 = { cidr: "2001:db8:51::/64", host: "2001:db8:51::1" };
const OFF_ROUTE_HOST = "192.0.2.1";
const VPC_HOST6 = "fd00:40::2";
const METADATA = ["169.254.169.254", "169.254.170.2"];
const METADATA6 = "fd00:ec2::254";
/** What the hostile clients route into the tunnel: every target of this file. */
const HOSTILE_ROUTES = [
  topology.CLIENT_CIDR, topology.VPC_CIDR, "169.254.0.0/16", topology.INTERNET_CIDR, `${OFF_ROUTE_HOST}/32`,
  CLIENT_CIDR6, "fd00:40::/32", "fd00:ec2::/64", INTERNET6.cidr,
].join(", ");
const HOST_SERVICE_PORT = 2222;

interface Target {
  readonly what: string;
  readonly reach: (client: string) => Promise<boolean>;
}

describeIntegration("what a connected client can reach (firewall)", () => {
  let cluster: LocalCluster | undefined;
  const t = failureTracker();
  const c = () => cluster!;
  const lb = () => c().state.lb.namespace;
  const vpc = () => topology.vpcNamespace(c().prefix);
  let target = 0;
  let other = 0;
  const ns = (client: string) => c().client(client).namespace;
  const tcp = (host: string, port: number) => (client: string) => reachesTcp(ns(client), host, port);
  const agent = (address: string) => (client: string) => reachesHttp(ns(client), `http://${address}:${topology.AGENT_PORT}/health`);
  const ping = (address: string) => (client: string) => answersPing(ns(client), address);

  /** IPv6 on the underlay (nodad: usable at once), and the "metadata" addresses on the VPC host. */
  async function addUnderlay(): Promise<void> {
    const ip = async (where: string, ...args: string[]) => {
      const r = await run("ip", ["-n", where, ...args]);
      if (r.code !== 0) throw new Error(`ip -n ${where} ${args.join(" ")}: ${r.stderr.trim()}`);
    };
    const host = (...args: string[]) => ip(lb(), ...args);
    await c().lbExec("sysctl", ["-qw", "net.ipv6.conf.all.forwarding=1"]);
    for (const s of c().state.servers) {
      await ip(s.namespace, "-6", "address", "add", `fd00:40:${s.index}::2/64`, "dev", "eth0", "nodad");
      await host("-6", "address", "add", `fd00:40:${s.index}::1/64`, "dev", `s${s.index}`, "nodad");
      await ip(s.namespace, "-6", "route", "add", "default", "via", `fd00:40:${s.index}::1`);
    }
    await ip(vpc(), "-6", "address", "add", `${VPC_HOST6}/64`, "dev", "eth0", "nodad");
    await host("-6", "address", "add", "fd00:40::1/64", "dev", "vpc", "nodad");
    await ip(vpc(), "-6", "route", "add", "default", "via", "fd00:40::1");
    for (const address of METADATA) {
      await ip(vpc(), "address", "add", `${address}/32`, "dev", "lo");
      await host("route", "add", `${address}/32`, "via", topology.VPC_HOST_ADDRESS);
    }
    await ip(vpc(), "-6", "address", "add", `${METADATA6}/128`, "dev", "lo");
    await host("-6", "route", "add", `${METADATA6}/128`, "via", VPC_HOST6);
    await host("address", "add", `${OFF_ROUTE_HOST}/32`, "dev", "lo");
    await host("-6", "address", "add", `${INTERNET6.host}/128`, "dev", "lo", "nodad");
  }

  async function connectHostile(name: string): Promise<void> {
    const { config } = await c().addClient(name, { server: target });
    await c().connectClient(name, config.replace(/^AllowedIPs = .*$/m, `AllowedIPs = ${HOSTILE_ROUTES}`));
  }

  /** Reruns bootstrap on every server (settings overridden through the environment). */
  async function bootstrapAll(env: Record<string, string> = {}): Promise<void> {
    for (const s of c().state.servers) {
      const r = await c().serverExec(s.index, join(c().state.repoRoot, "templates", "bin", "wg-ha-bootstrap"), [], { env, timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`bootstrap on s${s.index} failed: ${r.stderr.trim()}`);
    }
  }

  /**
   * One probe at a time: many simultaneous connections through one userspace tunnel sometimes all
   * time out (wireguard-go's batching), which would pass a "never" for the wrong reason.
   */
  async function reachable(targets: readonly Target[], client = "alice"): Promise<Record<string, boolean>> {
    const results: Record<string, boolean> = {};
    for (const x of targets) results[x.what] = await x.reach(client);
    return results;
  }
  const all = (targets: readonly Target[], value: boolean) => Object.fromEntries(targets.map((x) => [x.what, value]));

  beforeAll(async () => {
    cluster = await startCluster(PREFIX, {
      servers: 2,
      extraSettings: {
        WG_HA_SERVER_ADDRESS6: `${SERVER_ADDRESS6}/64`,
        WG_HA_CLIENT_CIDR6: CLIENT_CIDR6,
        WG_HA_CLIENT_ALLOWED_IPS: `${topology.CLIENT_ALLOWED_IPS},${CLIENT_CIDR6},${INTERNET6.cidr}`,
      },
    });
    target = c().lbTarget()!;
    other = c().state.servers.map((s) => s.index).find((i) => i !== target)!;
    await addUnderlay();
    await startListener(vpc(), ["0.0.0.0:2049", "0.0.0.0:80", "0.0.0.0:53", "[::]:80"], join(c().stateDir, "listener-vpc.log"));
    for (const s of c().state.servers) {
      await startListener(s.namespace, [`0.0.0.0:${HOST_SERVICE_PORT}`, `[::]:${HOST_SERVICE_PORT}`], join(s.dir, "listener.log"));
    }
    await connectHostile("alice");
    await connectHostile("bob");
    const handshake = await c().waitForHandshake("alice", 10_000);
    if (!handshake) throw new Error("alice never completed a handshake");
  }, 120_000);

  afterAll(() => {
    stopCluster(cluster, t.failed);
    printMeasurements("tunnel-reach.test.ts");
  });

  /** Everything a client must never reach, each with a listener that answers when nothing forbids it. */
  function forbidden(): Target[] {
    const own = topology.serverUnderlay(target).address;
    const another = topology.serverUnderlay(other).address;
    const bob = c().client("bob").tunnelAddress;
    return [
      { what: "EFS stand-in in the VPC, tcp/2049", reach: tcp(topology.VPC_HOST_ADDRESS, 2049) },
      { what: "a VPC address on another port, tcp/80", reach: tcp(topology.VPC_HOST_ADDRESS, 80) },
      { what: "agent port of its server, via the tunnel address", reach: agent(topology.SERVER_TUNNEL_ADDRESS) },
      { what: "agent port of its server, via its VPC address", reach: agent(own) },
      { what: "agent port of another server", reach: agent(another) },
      { what: "host service on 0.0.0.0, via the tunnel address", reach: tcp(topology.SERVER_TUNNEL_ADDRESS, HOST_SERVICE_PORT) },
      { what: "host service on 0.0.0.0, via the server's VPC address", reach: tcp(own, HOST_SERVICE_PORT) },
      { what: "host service on [::], via the IPv6 tunnel address", reach: tcp(SERVER_ADDRESS6, HOST_SERVICE_PORT) },
      { what: "host service on [::], via the server's IPv6 address", reach: tcp(`fd00:40:${target}::2`, HOST_SERVICE_PORT) },
      ...METADATA.map((address) => ({ what: `metadata ${address}:80`, reach: tcp(address, 80) })),
      { what: `metadata [${METADATA6}]:80`, reach: tcp(METADATA6, 80) },
      { what: "another client (IPv4 ping)", reach: ping(bob) },
      { what: `an IPv4 host off the clients' routes (${OFF_ROUTE_HOST})`, reach: ping(OFF_ROUTE_HOST) },
      { what: `an IPv6 host off the clients' routes ([${VPC_HOST6}]:80)`, reach: tcp(VPC_HOST6, 80) },
    ];
  }

  test(
    "every target is routed into the tunnel by the hostile client (so only the server can refuse it)",
    t.wrap(async () => {
      const iface = c().client("alice").interface;
      const addresses = [topology.VPC_HOST_ADDRESS, topology.SERVER_TUNNEL_ADDRESS, topology.serverUnderlay(other).address, ...METADATA, METADATA6, SERVER_ADDRESS6, VPC_HOST6, OFF_ROUTE_HOST, topology.INTERNET_HOST_ADDRESS, INTERNET6.host];
      const devices = await Promise.all(addresses.map((a) => routeDevice(ns("alice"), a)));
      expect(Object.fromEntries(addresses.map((a, i) => [a, devices[i]]))).toEqual(Object.fromEntries(addresses.map((a) => [a, iface])));
    }),
  );

  test(
    "the client reaches its routes (IPv4 and IPv6), ICMP echo of the tunnel address, and the VPC resolver it is given (DNS only)",
    t.wrap(async () => {
      const allowed: Target[] = [
        { what: "echo of the tunnel address", reach: ping(topology.SERVER_TUNNEL_ADDRESS) },
        { what: "echo of the IPv6 tunnel address", reach: ping(SERVER_ADDRESS6) },
        { what: "an internet host on its routes", reach: ping(topology.INTERNET_HOST_ADDRESS) },
        { what: "an IPv6 internet host on its routes", reach: ping(INTERNET6.host) },
        { what: "its DNS server in the VPC, tcp/53", reach: tcp(topology.VPC_HOST_ADDRESS, 53) },
      ];
      expect(await reachable(allowed)).toEqual(all(allowed, true));
    }),
    60_000,
  );

  test(
    "never: the EFS stand-in, any agent port, host services, metadata (IPv4 and IPv6), another client, anything off its routes",
    t.wrap(async () => {
      expect(await reachable(forbidden())).toEqual(all(forbidden(), false));
    }),
    120_000,
  );

  test(
    "control: with a table that only masquerades, every one of those targets answers (the checks above can fail)",
    t.wrap(async () => {
      const egress = "eth0";
      for (const s of c().state.servers) {
        const r = await c().serverExec(s.index, "nft", ["-f", "-"], { input: permissiveRuleset(topology.CLIENT_CIDR, CLIENT_CIDR6, egress) });
        expect(r.code).toBe(0);
      }
      try {
        expect(await reachable(forbidden())).toEqual(all(forbidden(), true));
      } finally {
        await bootstrapAll();
      }
      expect(await reachable(forbidden())).toEqual(all(forbidden(), false));
    }),
    300_000,
  );

  test(
    "client to client only with WG_HA_CLIENT_TO_CLIENT=1 (client_to_client = true), IPv4 and IPv6; back off after a rerun without it",
    t.wrap(async () => {
      const bob6 = /^Address = .*, ([0-9a-f:]+)\/128$/m.exec(readFileSync(c().client("bob").configFile, "utf8"))?.[1];
      expect(bob6).toMatch(/^fd42:42:42::/);
      const peers: Target[] = [
        { what: "bob over IPv4", reach: ping(c().client("bob").tunnelAddress) },
        { what: "bob over IPv6", reach: ping(bob6!) },
      ];
      expect(await reachable(peers)).toEqual(all(peers, false));
      await bootstrapAll({ WG_HA_CLIENT_TO_CLIENT: "1" });
      try {
        expect(await reachable(peers)).toEqual(all(peers, true));
        expect(await answersPing(ns("bob"), c().client("alice").tunnelAddress)).toBe(true);
      } finally {
        await bootstrapAll();
      }
      expect(await reachable(peers)).toEqual(all(peers, false));
    }),
    150_000,
  );

  test(
    "the VPC resolver answers only while it is the clients' DNS server (WG_HA_CLIENT_DNS)",
    t.wrap(async () => {
      expect(await reachesTcp(ns("alice"), topology.VPC_HOST_ADDRESS, 53)).toBe(true);
      await bootstrapAll({ WG_HA_CLIENT_DNS: "192.0.2.53" });
      try {
        expect(await reachesTcp(ns("alice"), topology.VPC_HOST_ADDRESS, 53)).toBe(false);
      } finally {
        await bootstrapAll();
      }
      expect(await reachesTcp(ns("alice"), topology.VPC_HOST_ADDRESS, 53)).toBe(true);
    }),
    150_000,
  );
});
