/**
 * templates/lib/wg-ha/firewall.sh on its own: every setting the ruleset is built from is checked
 * (one error line naming the key, nothing echoed raw, nothing rendered), the rendered rulesets are
 * accepted by the real nft (in a throwaway network namespace), and the rules come in the order
 * that makes "deny by default" true: every refusal before any allow. What the rules do to real
 * traffic: __tests__/integration/tunnel-reach.test.ts.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEMPLATES_DIR } from "../../stacks/user-data";
import { tempDir } from "../temp-dir";

const LIB = join(TEMPLATES_DIR, "lib", "wg-ha");
const BASE: Record<string, string> = {
  WG_INTERFACE: "wg0",
  WG_HA_SERVER_ADDRESS: "10.100.0.1/22",
  WG_HA_CLIENT_CIDR: "10.100.0.0/22",
  WG_HA_CLIENT_DNS: "10.40.0.2",
  WG_HA_CLIENT_ALLOWED_IPS: "0.0.0.0/0",
  WG_HA_VPC_CIDR: "10.40.0.0/16",
  WG_HA_CLIENT_TO_CLIENT: "0",
};
const DUAL_STACK = { WG_HA_SERVER_ADDRESS6: "fd42:42:42::1/64", WG_HA_CLIENT_CIDR6: "fd42:42:42::/64", WG_HA_CLIENT_ALLOWED_IPS: "0.0.0.0/0,::/0" };

/** load_settings, check_firewall_settings, render_firewall eth0: as bootstrap calls them. */
function render(settings: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const dir = tempDir("fw");
  const file = join(dir, "wg-ha.env");
  writeFileSync(file, Object.entries({ ...BASE, ...settings }).map(([k, v]) => `${k}=${v}\n`).join(""));
  const script = `. "${LIB}/common.sh"; . "${LIB}/firewall.sh"; load_settings; check_firewall_settings; render_firewall eth0`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, WG_HA_CONFIG: file };
  // --norc and no stdin: bash reads ~/.bashrc when stdin is a socket (it takes that for rshd).
  const r = spawnSync("bash", ["--norc", "-c", script], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The rules of one chain, in order, without indentation. */
function chain(ruleset: string, name: string): string[] {
  const body = new RegExp(`\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(ruleset)?.[1];
  if (body === undefined) throw new Error(`no chain ${name} in:\n${ruleset}`);
  return body.split("\n").map((l) => l.trim());
}

const REFUSE = "reject with icmpx type admin-prohibited";

describe("bad settings: one error line naming the key, nothing rendered", () => {
  test.each([
    ["VPC CIDR missing", { WG_HA_VPC_CIDR: "" }, /WG_HA_VPC_CIDR is not set/],
    ["VPC CIDR not a CIDR", { WG_HA_VPC_CIDR: "10.40.0.0" }, /WG_HA_VPC_CIDR '10\.40\.0\.0' is not an IPv4 CIDR/],
    ["VPC CIDR with host bits", { WG_HA_VPC_CIDR: "10.40.0.1/16" }, /WG_HA_VPC_CIDR '10\.40\.0\.1\/16' is not an IPv4 CIDR with host bits cleared/],
    ["VPC CIDR octet > 255", { WG_HA_VPC_CIDR: "10.400.0.0/16" }, /WG_HA_VPC_CIDR/],
    ["VPC CIDR prefix > 32", { WG_HA_VPC_CIDR: "10.40.0.0/33" }, /WG_HA_VPC_CIDR/],
    ["VPC CIDR with a rule after it", { WG_HA_VPC_CIDR: "10.40.0.0/16 accept" }, /WG_HA_VPC_CIDR '10\.40\.0\.0\/16 accept'/],
    ["client-to-client not 0/1", { WG_HA_CLIENT_TO_CLIENT: "yes" }, /WG_HA_CLIENT_TO_CLIENT 'yes' must be 0 or 1/],
    ["allowed IPs: trailing comma", { WG_HA_CLIENT_ALLOWED_IPS: "0.0.0.0/0," }, /WG_HA_CLIENT_ALLOWED_IPS '0\.0\.0\.0\/0,' has an empty entry/],
    ["allowed IPs: empty entry", { WG_HA_CLIENT_ALLOWED_IPS: "10.20.0.0/16,,10.30.0.0/16" }, /WG_HA_CLIENT_ALLOWED_IPS '' is not a CIDR/],
    ["allowed IPs: an address", { WG_HA_CLIENT_ALLOWED_IPS: "10.20.0.1" }, /WG_HA_CLIENT_ALLOWED_IPS '10\.20\.0\.1' is not a CIDR/],
    ["allowed IPs: nft syntax", { WG_HA_CLIENT_ALLOWED_IPS: "0.0.0.0/0 } ; flush ruleset" }, /WG_HA_CLIENT_ALLOWED_IPS '0\.0\.0\.0\/0 } ; flush ruleset' is not a CIDR/],
    ["allowed IPs: bad IPv6", { WG_HA_CLIENT_ALLOWED_IPS: "fd42::1::/64" }, /WG_HA_CLIENT_ALLOWED_IPS 'fd42::1::\/64' is not a CIDR/],
    ["DNS: a CIDR", { WG_HA_CLIENT_DNS: "10.40.0.2/32" }, /WG_HA_CLIENT_DNS '10\.40\.0\.2\/32' is not an IP address/],
    ["DNS: a name", { WG_HA_CLIENT_DNS: "dns.example.com" }, /WG_HA_CLIENT_DNS 'dns\.example\.com' is not an IP address/],
    ["IPv6 pool without the server's IPv6 address", { WG_HA_CLIENT_CIDR6: "fd42:42:42::/64" }, /WG_HA_SERVER_ADDRESS6 '' must be the servers' IPv6 tunnel address/],
    ["server IPv6 address without a pool", { WG_HA_SERVER_ADDRESS6: "fd42:42:42::1/64" }, /WG_HA_SERVER_ADDRESS6 'fd42:42:42::1\/64' is set but WG_HA_CLIENT_CIDR6 is not/],
    ["IPv6 pool not IPv6", { ...DUAL_STACK, WG_HA_CLIENT_CIDR6: "10.0.0.0/8" }, /WG_HA_CLIENT_CIDR6 '10\.0\.0\.0\/8' is not an IPv6 CIDR/],
    ["control characters are not echoed", { WG_HA_VPC_CIDR: "10.40.0.0/16\u001b[2J" }, /WG_HA_VPC_CIDR '10\.40\.0\.0\/16\?\[2J'/],
  ])("%s", (_name, settings, message) => {
    const r = render(settings);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(message)]);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });
});

describe("the real nft accepts every rendered ruleset", () => {
  const root = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;
  const cases: Array<[string, Record<string, string>]> = [
    ["full tunnel, VPC resolver as DNS", {}],
    ["split tunnel, outside DNS, client to client", { WG_HA_CLIENT_ALLOWED_IPS: "10.20.0.0/16,192.168.50.0/24", WG_HA_CLIENT_DNS: "1.1.1.1,2606:4700:4700::1111", WG_HA_CLIENT_TO_CLIENT: "1" }],
    ["dual stack", DUAL_STACK],
    ["no routes, no DNS", { WG_HA_CLIENT_ALLOWED_IPS: "", WG_HA_CLIENT_DNS: "" }],
  ];
  test.each(cases)("%s", (_name, settings) => {
    if (!root) {
      if (process.env.CI === "true") throw new Error("nft -c needs root and nftables (CI=true does not skip)");
      process.stderr.write("[firewall] not root or no nft: rulesets not checked by nft\n");
      return;
    }
    const r = render(settings);
    expect(r.code).toBe(0);
    const file = join(tempDir("fw-nft"), "wg-ha.nft");
    writeFileSync(file, r.stdout);
    // A fresh network namespace: the check sees no ruleset of this machine and changes none.
    const check = spawnSync("unshare", ["--net", "nft", "-c", "-f", file], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});

describe("deny by default: the order of the rules", () => {
  test("from the tunnel to the host: replies and echo of the tunnel address, every other packet refused", () => {
    const { stdout } = render(DUAL_STACK);
    expect(chain(stdout, "input")).toEqual(["type filter hook input priority 0; policy accept;", 'iifname "wg0" jump tunnel_to_host']);
    expect(chain(stdout, "tunnel_to_host")).toEqual([
      "ct state established,related accept",
      "ip daddr 10.100.0.1 icmp type echo-request accept",
      "ip6 daddr fd42:42:42::1 icmpv6 type echo-request accept",
      REFUSE,
    ]);
  });

  test("forward: policy drop; a client's packet meets every refusal before any allow", () => {
    const { stdout } = render({ ...DUAL_STACK, WG_HA_CLIENT_DNS: "10.40.0.2,fd00:40::53" });
    expect(chain(stdout, "forward")).toEqual([
      "type filter hook forward priority 0; policy drop;",
      "ct state invalid drop",
      'iifname "wg0" jump from_clients',
      'oifname "wg0" ct state established,related accept',
    ]);
    const rules = chain(stdout, "from_clients");
    expect(rules).toEqual([
      "ip saddr != 10.100.0.0/22 drop",
      "ip6 saddr != fd42:42:42::/64 drop",
      `oifname "wg0" ${REFUSE}`,
      `ip daddr 169.254.0.0/16 ${REFUSE}`,
      `ip6 daddr fe80::/10 ${REFUSE}`,
      `ip6 daddr fd00:ec2::/64 ${REFUSE}`,
      "ip daddr 10.40.0.2 udp dport 53 accept",
      "ip6 daddr fd00:40::53 udp dport 53 accept",
      "ip daddr 10.40.0.2 tcp dport 53 accept",
      "ip6 daddr fd00:40::53 tcp dport 53 accept",
      `ip daddr 10.40.0.0/16 ${REFUSE}`,
      "ip daddr 0.0.0.0/0 accept",
      "ip6 daddr ::/0 accept",
      REFUSE,
    ]);
    // Every accept but DNS (port 53 only) comes after the last refusal of a destination.
    const lastRefusal = rules.lastIndexOf(`ip daddr 10.40.0.0/16 ${REFUSE}`);
    rules.forEach((rule, i) => {
      if (rule.endsWith(" accept") && !rule.includes(" dport 53 ")) expect(i).toBeGreaterThan(lastRefusal);
    });
  });

  test("client_to_client on: the only change is that clients reach each other", () => {
    const off = chain(render({}).stdout, "from_clients");
    const on = chain(render({ WG_HA_CLIENT_TO_CLIENT: "1" }).stdout, "from_clients");
    expect(on).toEqual(off.map((r) => (r === `oifname "wg0" ${REFUSE}` ? 'oifname "wg0" accept' : r)));
  });

  test("IPv4 only: every IPv6 packet from a client is dropped, none is masqueraded", () => {
    const { stdout } = render({ WG_HA_CLIENT_ALLOWED_IPS: "0.0.0.0/0,::/0" });
    expect(chain(stdout, "from_clients")).toContain("meta nfproto ipv6 drop");
    expect(chain(stdout, "postrouting")).toEqual(["type nat hook postrouting priority 100; policy accept;", 'ip saddr 10.100.0.0/22 oifname "eth0" masquerade']);
  });

  test("split tunnel: forwards to exactly the routes given, nothing else", () => {
    const rules = chain(render({ WG_HA_CLIENT_ALLOWED_IPS: "10.20.0.0/16,192.168.50.0/24", WG_HA_CLIENT_DNS: "1.1.1.1" }).stdout, "from_clients");
    expect(rules.filter((r) => r.endsWith(" accept") && !r.includes(" dport 53 "))).toEqual(["ip daddr 10.20.0.0/16 accept", "ip daddr 192.168.50.0/24 accept"]);
    expect(rules.at(-1)).toBe(REFUSE);
  });
});
