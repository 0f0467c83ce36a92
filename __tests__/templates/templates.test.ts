/**
 * templates/: every shell file shellcheck-clean; the user data renders for each OS as valid
 * cloud-config with the scripts, units and settings, stays small, and carries no secret.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { resolveEnvironment } from "../../stacks/config/environment";
import { DEFAULTS, OPERATING_SYSTEMS, type OperatingSystem } from "../../stacks/config/schema";
import { isScript, renderSettingsFile, renderTemplateBundle, renderUserData, stripShellComments, TEMPLATES_DIR, UNITS, userDataFiles, type UserDataInput } from "../../stacks/user-data";
import { findSecrets } from "../stacks/secret-patterns";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

/** Our budget; EC2's hard limit is 16 KB. */
const GZIP_BUDGET_BYTES = 12 * 1024;

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

const shellFiles = allFiles(TEMPLATES_DIR).filter((f) => f.endsWith(".sh") || /^#!.*\bbash\b/.test(readFileSync(f, "utf8").split("\n")[0]));

function input(os: OperatingSystem): UserDataInput {
  const env = resolveEnvironment("dev", { ...DEFAULTS, os });
  return {
    env,
    efsFileSystemId: "fs-0123456789abcdef0",
    endpoint: "wg-ha-dev-nlb-0123456789abcdef.elb.eu-west-1.amazonaws.com",
    asgName: "wg-ha-dev-servers",
    lifecycleHookName: "wg-ha-dev-drain",
    logGroupName: "/wg-ha/dev/servers",
  };
}

interface CloudConfig {
  write_files: Array<{ path: string; permissions: string; content: string }>;
  runcmd: string[][];
}

describe("shell files", () => {
  const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

  test("there are shell files to check", () => {
    expect(shellFiles.map((f) => relative(TEMPLATES_DIR, f)).sort()).toEqual(
      expect.arrayContaining(["bin/wg-client", "bin/wg-ha-bootstrap", "bin/wg-ha-sync", "lib/wg-ha/common.sh", "os/common.sh", "os/ubuntu-22.04.sh"]),
    );
  });

  test.each(shellFiles.map((f) => [relative(TEMPLATES_DIR, f), f]))("%s is shellcheck-clean", (_name, file) => {
    if (!shellcheck) {
      if (process.env.CI === "true") throw new Error("shellcheck is not installed (apt-get install shellcheck); CI=true does not skip");
      process.stderr.write(`[templates] shellcheck not installed: ${_name} not checked\n`);
      return;
    }
    // -x follows the `source` lines (source-path=SCRIPTDIR directives); run from the file's directory.
    const r = spawnSync("shellcheck", ["-x", "--severity=style", file], { cwd: dirname(file), encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("shipped without comments, every script still parses and answers --help", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ha-stripped-"));
    try {
      for (const f of shellFiles) {
        const out = join(dir, relative(TEMPLATES_DIR, f));
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, stripShellComments(readFileSync(f, "utf8")));
        chmodSync(out, 0o755);
        const syntax = spawnSync("bash", ["-n", out], { encoding: "utf8" });
        expect(syntax.stderr).toBe("");
      }
      for (const bin of ["wg-client", "wg-ha-sync", "wg-ha-bootstrap"]) {
        const r = spawnSync(join(dir, "bin", bin), ["--help"], { encoding: "utf8" });
        expect(r.stdout).toMatch(/^Usage: /);
        expect(r.status).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("stripShellComments keeps the shebang and every code line", () => {
    expect(stripShellComments("#!/bin/bash\n# c\n\n  # d\necho '#x' # e\n")).toBe("#!/bin/bash\necho '#x' # e\n");
  });
});

describe("settings file", () => {
  test("every key of templates/CONTRACT.md's settings table is rendered", () => {
    const contract = readFileSync(join(TEMPLATES_DIR, "CONTRACT.md"), "utf8");
    const table = contract.slice(contract.indexOf("| key |"), contract.indexOf("## Shared store"));
    const rows = table.split("\n").filter((line) => line.startsWith("| `"));
    const keys = rows.flatMap((row) => [...row.split("|")[1].matchAll(/`(WG_[A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect(keys.length).toBeGreaterThan(20);
    const rendered = renderSettingsFile(input("ubuntu-22.04"));
    const missing = keys.filter((k) => !new RegExp(`^${k}=`, "m").test(rendered));
    expect(missing).toEqual([]);
  });

  test("KEY=value lines only, no quotes, no spaces around =", () => {
    for (const line of renderSettingsFile(input("ubuntu-22.04")).trimEnd().split("\n")) {
      expect(line).toMatch(/^WG_[A-Z0-9_]+=[^"'\s]*$/);
    }
  });
});

const sizes: Record<string, number> = {};
afterAll(() => {
  if (Object.keys(sizes).length) process.stdout.write(`\n[templates] user data gzip'd: ${Object.entries(sizes).map(([os, n]) => `${os} ${n} B`).join(", ")}\n`);
});

describe.each(OPERATING_SYSTEMS)("user data for %s", (os) => {
  const text = renderUserData(input(os));
  const doc = yaml.load(text) as CloudConfig;
  const byPath = new Map(doc.write_files.map((f) => [f.path, f]));

  test("is a #cloud-config document that writes the settings, scripts and units", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining([
        "/etc/wg-ha/wg-ha.env",
        "/usr/local/bin/wg-ha-bootstrap",
        "/usr/local/bin/wg-ha-sync",
        "/usr/local/bin/wg-client",
        "/usr/local/lib/wg-ha/common.sh",
        "/usr/local/lib/wg-ha/os/common.sh",
        `/usr/local/lib/wg-ha/os/${os}.sh`,
        ...UNITS.map((u) => `/etc/systemd/system/${u}`),
      ]),
    );
    expect(byPath.get("/usr/local/bin/wg-client")?.permissions).toBe("0755");
    expect(byPath.get("/etc/wg-ha/wg-ha.env")?.content).toBe(renderSettingsFile(input(os)));
    // Only this OS's install script.
    expect([...byPath.keys()].filter((p) => p.includes("/os/") && !p.endsWith("common.sh"))).toEqual([`/usr/local/lib/wg-ha/os/${os}.sh`]);
  });

  test("each file's content is the template's (scripts without comment lines)", () => {
    for (const f of userDataFiles(os)) {
      const source = readFileSync(join(TEMPLATES_DIR, f.source), "utf8");
      expect(byPath.get(f.path)?.content).toBe(isScript(f) ? stripShellComments(source) : source);
    }
  });

  test("runs the OS install script, then enables and starts the units", () => {
    expect(doc.runcmd).toEqual([
      ["bash", `/usr/local/lib/wg-ha/os/${os}.sh`],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", ...UNITS],
    ]);
  });

  test("carries the health agent once it exists in templates/agent/", () => {
    const agent = join(TEMPLATES_DIR, "agent", "wg-ha-agent.py");
    if (!existsSync(agent)) {
      process.stderr.write("[templates] templates/agent/wg-ha-agent.py not in this checkout yet: user data ships without it\n");
      return;
    }
    expect(byPath.get("/usr/local/lib/wg-ha/wg-ha-agent.py")?.content).toBe(stripShellComments(readFileSync(agent, "utf8")));
  });

  test("inline size is measured (it no longer fits 16 KB with the agent: the stack uses the S3 bundle)", () => {
    const size = gzipSync(Buffer.from(text), { level: 9 }).length;
    sizes[`${os} inline`] = size;
    expect(size).toBeGreaterThan(0);
  });

  test("contains no secret (no WireGuard key, PEM block or AWS key)", () => {
    expect(findSecrets(text)).toEqual([]);
    expect(text).not.toMatch(/PrivateKey\s*=\s*[A-Za-z0-9+/]{42}/);
  });
});

describe.each(OPERATING_SYSTEMS)("user data with the templates in S3 (bundle) for %s", (os) => {
  const bundle = renderTemplateBundle(os);
  const text = renderUserData({ ...input(os), bundle: { bucket: "wg-ha-dev-templates", key: bundle.key } });
  const doc = yaml.load(text) as CloudConfig;

  test("carries only the settings, downloads and unpacks the bundle, then starts like the inline one", () => {
    expect(doc.write_files.map((f) => f.path)).toEqual(["/etc/wg-ha/wg-ha.env"]);
    expect(doc.runcmd[1].join(" ")).toContain(`aws s3 cp --only-show-errors --region eu-west-1 s3://wg-ha-dev-templates/${bundle.key} /run/wg-ha-templates.tar`);
    expect(doc.runcmd.slice(2)).toEqual([
      ["bash", `/usr/local/lib/wg-ha/os/${os}.sh`],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", ...UNITS],
    ]);
    const size = gzipSync(Buffer.from(text), { level: 9 }).length;
    sizes[`${os} with S3 bundle`] = size;
    expect(size).toBeLessThan(GZIP_BUDGET_BYTES);
    expect(size).toBeLessThan(2048);
  });

  test("neither the user data nor the bundle carries a secret", () => {
    expect(findSecrets(text)).toEqual([]);
    expect(findSecrets(bundle.content.toString("utf8"))).toEqual([]);
    expect(bundle.content.length).toBeLessThan(256 * 1024);
  });

  test("the bundle is a deterministic tar of the shipped files with their modes", () => {
    expect(renderTemplateBundle(os).sha256).toBe(bundle.sha256);
    expect(bundle.key).toBe(`wg-ha/templates-${os}-${bundle.sha256.slice(0, 16)}.tar`);
    const dir = mkdtempSync(join(tmpdir(), "wg-ha-bundle-"));
    try {
      writeFileSync(join(dir, "b.tar"), bundle.content);
      const list = spawnSync("tar", ["-tvf", join(dir, "b.tar")], { encoding: "utf8" });
      expect(list.status).toBe(0);
      for (const f of userDataFiles(os)) {
        expect(list.stdout).toMatch(new RegExp(`^${f.permissions === "0755" ? "-rwxr-xr-x" : "-rw-r--r--"} root/root .* ${f.path.slice(1)}$`, "m"));
      }
      expect(spawnSync("tar", ["-xf", join(dir, "b.tar"), "-C", dir]).status).toBe(0);
      for (const f of userDataFiles(os)) {
        const source = readFileSync(join(TEMPLATES_DIR, f.source), "utf8");
        expect(readFileSync(join(dir, f.path), "utf8")).toBe(isScript(f) ? stripShellComments(source) : source);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
