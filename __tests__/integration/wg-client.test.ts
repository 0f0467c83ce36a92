/**
 * wg-client against a scratch store (no namespaces: it only reads and writes the store): its
 * output, peer files, and one clear error per kind of mistake.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type RunResult } from "../../scripts/lib/cluster";
import { describeIntegration } from "./helpers";

const BIN = join(__dirname, "..", "..", "templates", "bin");
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

describeIntegration("wg-client", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const client = (...args: string[]): Promise<RunResult> => run(join(BIN, "wg-client"), args, { env });
  const pubkey = async () => (await run("wg", ["pubkey"], { input: (await run("wg", ["genkey"])).stdout })).stdout.trim();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wg-ha-client-"));
    const settings = join(dir, "wg-ha.env");
    writeFileSync(
      settings,
      [
        "WG_INTERFACE=wgclitest0",
        "WG_HA_SERVER_ADDRESS=10.99.0.1/29",
        "WG_HA_CLIENT_CIDR=10.99.0.0/29", // 6 hosts: the server + 5 clients
        "WG_HA_CLIENT_DNS=10.40.0.2,10.40.0.3",
        "WG_HA_CLIENT_ALLOWED_IPS=0.0.0.0/0",
        "WG_HA_KEEPALIVE=25",
        "WG_HA_ENDPOINT=vpn.example.com:51820",
        `WG_HA_STATE_DIR=${join(dir, "store")}`,
        `WG_HA_LOCAL_DIR=${join(dir, "local")}`,
        "",
      ].join("\n"),
    );
    env = { PATH: process.env.PATH, WG_HA_CONFIG: settings };
    const boot = await run(join(BIN, "wg-ha-bootstrap"), ["--key-only"], { env });
    expect(boot.code).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("add with a generated key prints the full config once and stores only the public key", async () => {
    const r = await client("add", "alice");
    expect(r.code).toBe(0);
    const server = readFileSync(join(dir, "store", "server", "public.key"), "utf8").trim();
    expect(r.stdout).toMatch(/^\[Interface\]\nPrivateKey = \S{44}\nAddress = 10\.99\.0\.2\/32\nDNS = 10\.40\.0\.2, 10\.40\.0\.3\n/);
    expect(r.stdout).toContain(`[Peer]\nPublicKey = ${server}\nEndpoint = vpn.example.com:51820\nAllowedIPs = 0.0.0.0/0\nPersistentKeepalive = 25\n`);
    const priv = /PrivateKey = (\S+)/.exec(r.stdout)![1];
    const peer = readFileSync(join(dir, "store", "peers", "alice.peer"), "utf8");
    expect(peer).not.toContain(priv);
    expect(peer).toMatch(/^name=alice\npublic_key=\S{44}\naddress=10\.99\.0\.2\/32\ncreated_at=\d{4}-\d\d-\d\dT[\d:]+Z\ncreated_by=.+\n$/);
    expect(/public_key=(\S+)/.exec(peer)![1]).toMatch(KEY);
    expect(statSync(join(dir, "store", "peers", "alice.peer")).mode & 0o777).toBe(0o600);
    const show = await client("show", "alice");
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain(priv);
    expect(show.stdout).toMatch(/^# PrivateKey = <the private key of \S+: not stored on the servers>$/m);
  });

  test("add with the client's own key, a preshared key, routes and DNS; show --qr", async () => {
    const key = await pubkey();
    const r = await client("add", "bob.laptop", "--public-key", key, "--preshared-key", "--allowed-ips", "10.40.0.0/16, 10.50.0.0/16", "--dns", "1.1.1.1");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^PrivateKey/m);
    expect(r.stdout).toMatch(/^PresharedKey = \S{44}$/m);
    expect(r.stdout).toMatch(/^AllowedIPs = 10\.40\.0\.0\/16, 10\.50\.0\.0\/16$/m);
    expect(r.stdout).toMatch(/^DNS = 1\.1\.1\.1$/m);
    expect(readFileSync(join(dir, "store", "peers", "bob.laptop.peer"), "utf8")).toContain(`public_key=${key}\n`);
    const qr = await client("show", "bob.laptop", "--qr");
    expect(qr.code).toBe(0);
    expect(qr.stdout).toMatch(/█/);
  });

  test("list shows every client with its address and key", async () => {
    const r = await client("list");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^NAME\s+ADDRESS\s+PUBLIC KEY\s+CREATED\s+LATEST HANDSHAKE$/);
    expect(r.stdout).toMatch(/^alice\s+10\.99\.0\.2\/32\s+\S{44}\s+\S+Z\s+- \(wgclitest0 is down\)$/m);
    expect(r.stdout).toMatch(/^bob\.laptop\s+10\.99\.0\.3\/32/m);
  });

  test.each([
    ["a duplicate name", ["add", "alice"], /a client named 'alice' already exists/],
    ["an invalid name", ["add", "Alice!"], /invalid client name 'Alice!'/],
    ["a name too long", ["add", "a".repeat(33)], /invalid client name/],
    ["an invalid public key", ["add", "carol", "--public-key", "abc"], /invalid public key 'abc'/],
    ["a key whose last character leaves stray bits", ["add", "carol", "--public-key", `${"A".repeat(42)}B=`], /invalid public key/],
    ["show of an unknown name", ["show", "nobody"], /no client named 'nobody'/],
    ["revoke of an unknown name", ["revoke", "nobody"], /no client named 'nobody'/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
    ["add without a name", ["add"], /missing NAME/],
  ])("%s: one clear error, non-zero exit", async (_what, args, message) => {
    const r = await client(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test("a public key that already belongs to another client is refused", async () => {
    const key = /public_key=(\S+)/.exec(readFileSync(join(dir, "store", "peers", "alice.peer"), "utf8"))![1];
    const r = await client("add", "alice2", "--public-key", key);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/already belongs to another client/);
  });

  test("--help prints the usage and exits 0", async () => {
    const r = await client("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: wg-client COMMAND/);
  });

  test("the pool runs out with a clear error; revoke frees an address for reuse", async () => {
    for (const n of ["c3", "c4", "c5"]) expect((await client("add", n)).code).toBe(0);
    const full = await client("add", "c6");
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/client address pool 10\.99\.0\.0\/29 is exhausted/);
    const version = readFileSync(join(dir, "store", "version"), "utf8");
    expect((await client("revoke", "c4")).code).toBe(0);
    expect(readFileSync(join(dir, "store", "version"), "utf8")).not.toBe(version);
    const again = await client("add", "c6");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Address = 10\.99\.0\.5\/32$/m);
    expect(readdirSync(join(dir, "store", "peers")).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("add and revoke leave an audit line in syslog naming the operator (logger -t wg-client)", async () => {
    // A stand-in `logger` first on PATH records its arguments; the real one needs a syslog daemon.
    const bin = mkdtempSync(join(tmpdir(), "wg-ha-logger-"));
    const record = join(bin, "calls");
    writeFileSync(join(bin, "logger"), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${record}"\n`, { mode: 0o755 });
    const audited = { ...env, PATH: `${bin}:${env.PATH}`, SUDO_USER: "ops-alice" };
    const pub = await pubkey();
    expect((await client("revoke", "c6")).code).toBe(0); // the pool is full after the test above
    expect((await run(join(BIN, "wg-client"), ["add", "audited", "--public-key", pub], { env: audited })).code).toBe(0);
    expect((await run(join(BIN, "wg-client"), ["revoke", "audited"], { env: audited })).code).toBe(0);
    const lines = readFileSync(record, "utf8").trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^-t wg-client -- added client audited with address 10\\.99\\.0\\.\\d+/32, public key ${pub.replace(/[+/]/g, "\\$&")} \\(by ops-alice on .+\\)$`)),
      expect.stringMatching(/^-t wg-client -- revoked client audited \(by ops-alice on .+\)$/),
    ]);
    rmSync(bin, { recursive: true, force: true });
  });
});
