/**
 * /health and /drain of the real agent against a fake server (harness.ts): 200 only when every
 * check holds, 503 naming the failing check otherwise, the 1 s cache of `wg show`, the drain flag
 * over HTTP and as a file, 403 for the VPN client pool, --check.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import {
  freshSyncStatus,
  getJson,
  http,
  makeFixture,
  removeFixtures,
  runAgent,
  startAgent,
  stopAgents,
  waitFor,
  wgKey,
  type Fixture,
} from "./harness";

jest.setTimeout(20_000);
afterEach(async () => {
  await stopAgents();
  removeFixtures();
});

const CHECKS = ["interface", "public_key", "sync", "forwarding", "draining"];

/** Sends raw bytes (for requests Node's client would refuse to build); resolves with the answer. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((res, rej) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(text));
    let answer = "";
    socket.setEncoding("utf8").on("data", (d: string) => (answer += d));
    socket.setTimeout(5000, () => socket.destroy(new Error("raw request: timeout")));
    socket.on("end", () => res(answer));
    socket.on("error", rej);
  });
}

describe("GET /health", () => {
  test("200 with every check ok on a healthy server", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const r = await http(agent.port, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ ok: true, failing: [], interface: "lo" });
    expect(Object.keys(body.checks)).toEqual(CHECKS);
    for (const c of CHECKS) expect(body.checks[c]).toEqual({ ok: true, detail: expect.any(String) });
    expect(body.checks.public_key.detail).toContain(fx.clusterKey);
    expect(body.checks.public_key.detail).toContain("from the store");
  });

  // GIVEN a healthy server, WHEN one thing breaks, THEN 503 naming exactly that check.
  const cases: [string, (fx: Fixture) => void, string, RegExp, { interface?: string }][] = [
    ["interface missing (no such device)", () => undefined, "interface", /wgha-none0: No such device/, { interface: "wgha-none0" }],
    ["wg show fails", (fx) => writeFileSync(fx.path("wg/fail"), ""), "public_key", /Unable to access interface/, {}],
    ["interface key is not the cluster key", (fx) => writeFileSync(fx.path("wg/public.key"), `${wgKey()}\n`), "public_key", /is not the cluster key/, {}],
    ["last sync 31 s ago (limit 30 s)", (fx) => fx.setSyncStatus(freshSyncStatus(fx.clusterKey, 31)), "sync", /last success 3\d s ago from store \(limit 30 s\)/, {}],
    ["never synced (last_success null)", (fx) => fx.setSyncStatus({ ...freshSyncStatus(fx.clusterKey), last_success: null }), "sync", /no successful sync/, {}],
    ["no sync-status.json", (fx) => fx.setSyncStatus(undefined), "sync", /no successful sync/, {}],
    ["corrupt sync-status.json", (fx) => writeFileSync(fx.path("local/sync-status.json"), '{"last_succ'), "sync", /no successful sync/, {}],
    ["forwarding off", (fx) => writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n"), "forwarding", /ip_forward = 0/, {}],
    ["drain flag present", (fx) => writeFileSync(fx.path("local/draining"), "maintenance\n"), "draining", /draining: maintenance/, {}],
  ];
  test.each(cases)("503 when %s", async (_name, breakIt, check, detail, opts) => {
    const fx = makeFixture(opts);
    breakIt(fx);
    const agent = await startAgent(fx);
    const { status, json } = await getJson(agent.port, "/health");
    expect(status).toBe(503);
    expect(json.ok).toBe(false);
    expect(json.failing).toEqual([check]);
    expect(json.checks[check]).toEqual({ ok: false, detail: expect.stringMatching(detail) });
    // One log line per transition, naming the check.
    await waitFor("the transition logged", () => new RegExp(`health: 503, failing: ${check} \\(`).test(agent.stderr()));
  });

  test("store unreadable: the key recorded in sync-status.json is used; source 'cache' is fine while fresh", async () => {
    const fx = makeFixture();
    rmSync(fx.path("store/server/public.key"));
    fx.setSyncStatus(freshSyncStatus(fx.clusterKey, 2, "cache"));
    const agent = await startAgent(fx);
    const { status, json } = await getJson(agent.port, "/health");
    expect(status).toBe(200);
    expect(json.checks.public_key.detail).toContain("from sync-status.json");
    expect(json.checks.sync.detail).toMatch(/from cache/);
  });

  test("store unreadable and sync-status.json records another key: 503 public_key", async () => {
    const fx = makeFixture();
    rmSync(fx.path("store/server/public.key"));
    fx.setSyncStatus(freshSyncStatus(wgKey(), 2, "cache"));
    const agent = await startAgent(fx);
    const { status, json } = await getJson(agent.port, "/health");
    expect(status).toBe(503);
    expect(json.failing).toEqual(["public_key"]);
  });

  test("no cluster key anywhere: 503 public_key", async () => {
    const fx = makeFixture();
    rmSync(fx.path("store/server/public.key"));
    fx.setSyncStatus({ ...freshSyncStatus(fx.clusterKey), public_key: undefined });
    const agent = await startAgent(fx);
    const { json } = await getJson(agent.port, "/health");
    expect(json.checks.public_key).toEqual({ ok: false, detail: expect.stringMatching(/cluster public key unknown/) });
  });

  test("several failures are all named, in check order", async () => {
    const fx = makeFixture();
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n");
    writeFileSync(fx.path("local/draining"), "x\n");
    fx.setSyncStatus(freshSyncStatus(fx.clusterKey, 600));
    const agent = await startAgent(fx);
    const { json } = await getJson(agent.port, "/health");
    expect(json.failing).toEqual(["sync", "forwarding", "draining"]);
  });

  test("HEAD /health: the same status and headers, no body", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const ok = await http(agent.port, "HEAD", "/health");
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("");
    expect(Number(ok.headers["content-length"])).toBeGreaterThan(0);
    writeFileSync(fx.path("local/draining"), "x\n");
    expect((await http(agent.port, "HEAD", "/health")).status).toBe(503);
  });

  test("recovers: 503 while forwarding is off, 200 once it is back", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n");
    expect((await http(agent.port, "GET", "/health")).status).toBe(503);
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "1\n");
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
    // ok, 503, ok: one log line per transition, none per probe.
    await waitFor("three transitions logged", () => agent.stderr().match(/health: /g)?.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.stderr().match(/health: /g)).toHaveLength(3);
  });

  test("a change seen by a burst of concurrent probes is logged once", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n");
    const results = await Promise.all(Array.from({ length: 20 }, () => http(agent.port, "GET", "/health")));
    expect(results.every((r) => r.status === 503)).toBe(true);
    await waitFor("the transition logged", () => /health: 503/.test(agent.stderr()));
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.stderr().match(/health: 503/g)).toHaveLength(1);
  });

  test("`wg show` runs at most once per second under a burst of probes, and a change shows within ~1 s", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => http(agent.port, "GET", "/health")));
    const elapsed = (Date.now() - started) / 1000;
    expect(results.every((r) => r.status === 200)).toBe(true);
    const calls = fx.wgCalls().filter((c) => c === "show lo public-key").length;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    // The cache is short: the interface losing its key is seen on the next probe after 1 s.
    writeFileSync(fx.path("wg/fail"), "");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await http(agent.port, "GET", "/health")).status).toBe(503);
  });

  test("the private key printed by `wg show dump` never reaches a response or a log line", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const bodies = await Promise.all(["/health", "/metrics", "/drain"].map((p) => http(agent.port, "GET", p)));
    await http(agent.port, "POST", "/drain");
    for (const b of bodies) expect(b.body).not.toContain(fx.privateKey);
    expect(agent.stderr() + agent.stdout()).not.toContain(fx.privateKey);
  });
});

describe("/drain", () => {
  test("POST sets the flag (503 with the reason), GET reports it, DELETE clears it (200)", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const post = await http(agent.port, "POST", "/drain", "rehearsal\nsecond line");
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body)).toEqual({ draining: true, reason: "rehearsal second line (POST /drain from 127.0.0.1)" });
    expect(readFileSync(fx.path("local/draining"), "utf8")).toBe("rehearsal second line (POST /drain from 127.0.0.1)\n");
    const health = await getJson(agent.port, "/health");
    expect(health.status).toBe(503);
    expect(health.json.failing).toEqual(["draining"]);
    expect(health.json.checks.draining.detail).toContain("rehearsal");
    expect((await getJson(agent.port, "/drain")).json).toMatchObject({ draining: true });
    const del = await http(agent.port, "DELETE", "/drain");
    expect(JSON.parse(del.body)).toEqual({ draining: false, reason: null });
    expect(existsSync(fx.path("local/draining"))).toBe(false);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
    await waitFor("drain off logged", () => /drain off \(DELETE \/drain from 127\.0\.0\.1\)/.test(agent.stderr()));
    expect(agent.stderr()).toMatch(/drain on: rehearsal second line \(POST \/drain from 127\.0\.0\.1\)/);
  });

  test("POST without a body: a default reason; DELETE when not draining is a no-op", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    expect(JSON.parse((await http(agent.port, "DELETE", "/drain")).body)).toEqual({ draining: false, reason: null });
    expect(JSON.parse((await http(agent.port, "POST", "/drain")).body).reason).toBe("drained by an operator (POST /drain from 127.0.0.1)");
  });

  test("the reason is one line of printable ASCII, at most 200 characters", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const post = await http(agent.port, "POST", "/drain", `  rehearsal\u00e9\t${"x".repeat(300)}\n`);
    expect(JSON.parse(post.body).reason).toBe(`rehearsal  ${"x".repeat(189)} (POST /drain from 127.0.0.1)`);
  });

  test.each(["-5", "ten"])("a malformed Content-Length (%s) drains nothing", async (length) => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    const answer = await rawRequest(agent.port, `POST /drain HTTP/1.1\r\nHost: agent\r\nContent-Length: ${length}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.[01] 5\d\d /);
    expect(existsSync(fx.path("local/draining"))).toBe(false);
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
  });

  test("the flag file written by someone else (the local cluster, an operator) works the same", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    writeFileSync(fx.path("local/draining"), "drained by the local cluster\n");
    expect((await getJson(agent.port, "/drain")).json).toEqual({ draining: true, reason: "drained by the local cluster" });
    rmSync(fx.path("local/draining"));
    expect((await http(agent.port, "GET", "/health")).status).toBe(200);
  });
});

describe("HTTP surface", () => {
  test("requests from the VPN client pool get 403 on every path (no tunnel access to the agent)", async () => {
    const fx = makeFixture();
    // Loopback stands in for a client address: the pool is what the agent compares against.
    const agent = await startAgent(fx, { WG_HA_CLIENT_CIDR: "127.0.0.0/8" });
    for (const [method, path] of [["GET", "/health"], ["GET", "/metrics"], ["POST", "/drain"], ["DELETE", "/drain"]]) {
      expect((await http(agent.port, method, path)).status).toBe(403);
    }
    expect(existsSync(fx.path("local/draining"))).toBe(false);
  });

  test("unknown path 404; wrong method 405 with Allow", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    expect((await http(agent.port, "GET", "/")).status).toBe(404);
    expect((await http(agent.port, "GET", "/healthz")).status).toBe(404);
    const r = await http(agent.port, "POST", "/health");
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET, HEAD");
    expect((await http(agent.port, "PUT", "/drain")).headers.allow).toBe("GET, HEAD, POST, DELETE");
    // A query string does not change the route (NLB health checks may carry one).
    expect((await http(agent.port, "GET", "/health?from=nlb")).status).toBe(200);
  });

  test("SIGTERM stops the agent with exit code 0", async () => {
    const fx = makeFixture();
    const agent = await startAgent(fx);
    process.kill(agent.pid, "SIGTERM");
    await agent.exited;
    await waitFor("the port to close", async () => http(agent.port, "GET", "/health").then(() => false, () => true), 3000);
  });
});

describe("--check", () => {
  test("prints the health JSON and exits 0 when healthy", () => {
    const fx = makeFixture();
    const r = runAgent(fx, ["--check"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, failing: [] });
  });

  test("exits 1 and names the failing check otherwise", () => {
    const fx = makeFixture();
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n");
    const r = runAgent(fx, ["--check"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).failing).toEqual(["forwarding"]);
  });
});
