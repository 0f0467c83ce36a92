/**
 * The agent as a program: options, settings (file + environment, every problem reported), the
 * SigV4 self-test against AWS's vectors, and the constraints of shipping it to the servers:
 * Python 3.7 syntax, stdlib only, shipped byte for byte in the S3 template bundle (no size limit).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPERATING_SYSTEMS } from "../../stacks/config/schema";
import { renderTemplateBundle } from "../../stacks/user-data";
import { AGENT, agentSigv4, FAKE_WG, makeFixture, metricTable, PYTHON, removeFixtures, runAgent, SIGV4_VECTORS } from "./harness";

jest.setTimeout(20_000);
afterEach(() => removeFixtures());

describe("options", () => {
  test("--help: usage on stdout, exit 0", () => {
    const r = runAgent(undefined, ["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: wg-ha-agent\.py \[/);
    for (const o of ["--check", "--emf-once", "--list-metrics", "/health", "/metrics", "/drain", "WG_HA_CONFIG"]) expect(r.stdout).toContain(o);
  });

  test("unknown arguments: usage on stderr, exit 2", () => {
    for (const args of [["--bogus"], ["--check", "extra"], ["serve"], ["--list-metrics", "--json"]]) {
      const r = runAgent(undefined, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/unknown arguments/);
    }
  });

  test("--list-metrics: one table per sink; names valid and unique", () => {
    const t = metricTable();
    const names = t.prometheus.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of t.prometheus) {
      expect(m.name).toMatch(/^(wireguard|wg_ha)_[a-z_]+$/);
      expect(["counter", "gauge"]).toContain(m.type);
      if (m.type === "counter") expect(m.name).toMatch(/_total$/);
      expect(m.help.length).toBeGreaterThan(0);
    }
    expect(names).toEqual(expect.arrayContaining(["wireguard_peers", "wireguard_peers_active", "wg_ha_sync_age_seconds", "wg_ha_sync_skipped_files", "wg_ha_healthy", "wg_ha_draining"]));
    expect(t.cloudwatch.metrics.map((m) => [m.name, m.unit])).toEqual([
      ["Peers", "Count"], ["ActivePeers", "Count"], ["BytesReceived", "Bytes"], ["BytesSent", "Bytes"], ["SyncAgeSeconds", "Seconds"], ["Healthy", "Count"],
    ]);
  });

  test.each(SIGV4_VECTORS)("sigv4(): AWS's published signature for $name", ({ request, authorization }) => {
    expect(agentSigv4([request])).toEqual([authorization]);
  });
});

describe("settings", () => {
  test("a missing settings file is an error naming it", () => {
    const r = runAgent({ env: { PATH: process.env.PATH ?? "", WG_HA_CONFIG: "/nonexistent/wg-ha.env" } }, ["--check"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("settings file /nonexistent/wg-ha.env is missing or unreadable (set WG_HA_CONFIG)");
  });

  test("every problem is reported at once, with the bad value", () => {
    const fx = makeFixture({
      settings: { WG_HA_AGENT_PORT: "http", WG_INTERFACE: "wg0; rm -rf /", WG_HA_AWS: "yes", WG_HA_SYNC_STALE_SECONDS: "0", WG_HA_CLIENT_CIDR: "10.100.0.0/33" },
    });
    writeFileSync(fx.path("wg-ha.env"), `${readFileSync(fx.path("wg-ha.env"), "utf8")}# a comment\n\nnot a setting\n`);
    const r = runAgent(fx, ["--check"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    for (const problem of [
      /wg-ha\.env:\d+: not a WG_\*=value line/,
      /WG_HA_AWS 'yes' must be a number from 0 to 1/,
      /WG_HA_AGENT_PORT 'http' must be a number from 0 to 65535/,
      /WG_HA_SYNC_STALE_SECONDS '0' must be a number from 1 to/,
      /WG_INTERFACE 'wg0; rm -rf \/' is not a valid interface name/,
      /WG_HA_CLIENT_CIDR '10\.100\.0\.0\/33' is not a CIDR/,
    ]) expect(r.stderr).toMatch(problem);
  });

  test("WG_HA_AWS=1 needs the Auto Scaling group and hook names", () => {
    const fx = makeFixture({ settings: { WG_HA_AWS: "1" } });
    const r = runAgent(fx, ["--check"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/WG_HA_ASG_NAME must be set when WG_HA_AWS=1.*WG_HA_LIFECYCLE_HOOK must be set when WG_HA_AWS=1/);
  });

  test("the environment wins over the file", () => {
    const fx = makeFixture();
    writeFileSync(fx.path("proc/net/ipv4/ip_forward"), "0\n");
    const other = mkdtempSync(join(tmpdir(), "wg-ha-agent-proc-"));
    try {
      spawnSync("mkdir", ["-p", join(other, "net/ipv4")]);
      writeFileSync(join(other, "net/ipv4/ip_forward"), "1\n");
      expect(runAgent(fx, ["--check"]).status).toBe(1);
      expect(runAgent(fx, ["--check"], { WG_HA_PROC_SYS: other }).status).toBe(0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("CRLF line endings and comments in the settings file are fine", () => {
    const fx = makeFixture();
    const text = readFileSync(fx.path("wg-ha.env"), "utf8");
    writeFileSync(fx.path("wg-ha.env"), `# rendered by stacks/user-data.ts\n${text.replace(/\n/g, "\r\n")}`);
    expect(runAgent(fx, ["--check"]).status).toBe(0);
  });
});

describe("shipping constraints", () => {
  const source = readFileSync(AGENT, "utf8");

  test("python3 -m py_compile is clean", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ha-agent-pyc-"));
    try {
      const r = spawnSync(PYTHON, ["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", AGENT, join(dir, "a.pyc")], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Python 3.7 syntax (Amazon Linux 2) and standard-library imports only", () => {
    const script = [
      "import ast, sys",
      // feature_version exists from 3.8; under 3.7 itself a plain parse is the proof.
      "tree = ast.parse(open(sys.argv[1]).read(), **({'feature_version': (3, 7)} if sys.version_info >= (3, 8) else {}))",
      "mods = sorted({(a.name if isinstance(n, ast.Import) else n.module).split('.')[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names})",
      "print(' '.join(mods))",
      "std = getattr(sys, 'stdlib_module_names', None)",
      "bad = [m for m in mods if std is not None and m not in std]",
      "sys.exit('not stdlib: %s' % bad if bad else 0)",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", script, AGENT], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("python3 shebang; every OS's template bundle carries this file byte for byte", () => {
    expect(source.startsWith("#!/usr/bin/env python3\n")).toBe(true);
    const bytes = readFileSync(AGENT);
    for (const os of OPERATING_SYSTEMS) expect({ os, shipped: renderTemplateBundle(os).content.includes(bytes) }).toEqual({ os, shipped: true });
  });

  test("shellcheck is clean on the test's fake wg", () => {
    const r = spawnSync("shellcheck", [FAKE_WG], { encoding: "utf8" });
    if (r.error && !process.env.CI) return; // shellcheck not installed: CI installs it and must run this
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
