/**
 * templates/: every shell file shellcheck-clean; the template bundle holds every file byte for
 * byte (what runs on a server is what is in the repository) with its mode, and its scripts run from
 * where it installs them; the user data renders for each OS as valid cloud-config with the
 * settings and the download of the bundle's exact version, stays small, and carries no secret.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { OPERATING_SYSTEMS, type OperatingSystem } from "../../stacks/config/schema";
import { renderSettingsFile, renderTemplateBundle, renderUserData, templateBundleKey, TEMPLATES_DIR, UNITS, userDataFiles, type UserDataInput } from "../../stacks/user-data";
import { settingsInput } from "../fixtures/user-data-input";
import { findSecrets } from "../stacks/secret-patterns";

const yaml = require("js-yaml") as { load(text: string): unknown };

/** Our budget; EC2's hard limit is 16 KB. */
const GZIP_BUDGET_BYTES = 12 * 1024;
/** An S3 version id as S3 hands them out (opaque, URL-safe). */
const VERSION_ID = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH";

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

const shellFiles = allFiles(TEMPLATES_DIR).filter((f) => f.endsWith(".sh") || /^#!.*\bbash\b/.test(readFileSync(f, "utf8").split("\n")[0]));

function input(os: OperatingSystem): UserDataInput {
  return { ...settingsInput(os), bundle: { bucket: "wg-ha-dev-templates-123456789012", key: templateBundleKey(os), versionId: VERSION_ID } };
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

  test("is a #cloud-config document that writes only the settings file", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(doc.write_files).toEqual([{ path: "/etc/wg-ha/wg-ha.env", permissions: "0644", content: renderSettingsFile(input(os)) }]);
  });

  test("downloads the bundle's exact S3 version (six tries), unpacks it over /, then installs and starts the units", () => {
    expect(doc.runcmd[0].join(" ")).toContain("apt-get install -y -q awscli");
    const fetch = doc.runcmd[1];
    expect(fetch.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(fetch[2]).toBe(
      "for i in 1 2 3 4 5 6; do " +
        `aws s3api get-object --region eu-west-1 --bucket wg-ha-dev-templates-123456789012 --key wg-ha/templates-${os}.tar --version-id '${VERSION_ID}' /run/wg-ha-templates.tar` +
        " && tar -xf /run/wg-ha-templates.tar -C / --no-same-owner && rm -f /run/wg-ha-templates.tar && exit 0; sleep 10; done; exit 1",
    );
    expect(doc.runcmd.slice(2)).toEqual([
      ["bash", `/usr/local/lib/wg-ha/os/${os}.sh`],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", ...UNITS],
    ]);
  });

  test("the fetch is valid sh (parses with the version id quoted)", () => {
    const r = spawnSync("sh", ["-n", "-c", doc.runcmd[1][2]], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test(`gzip'd size stays under our ${GZIP_BUDGET_BYTES / 1024} KB budget (EC2's limit: 16 KB)`, () => {
    const size = gzipSync(Buffer.from(text), { level: 9 }).length;
    sizes[os] = size;
    expect(size).toBeLessThan(GZIP_BUDGET_BYTES);
    expect(size).toBeLessThan(2048); // settings + download only
  });

  test("contains no secret (no WireGuard key, PEM block or AWS key)", () => {
    expect(findSecrets(text)).toEqual([]);
    expect(text).not.toMatch(/PrivateKey\s*=\s*[A-Za-z0-9+/]{42}/);
  });
});

describe.each(OPERATING_SYSTEMS)("template bundle for %s", (os) => {
  const bundle = renderTemplateBundle(os);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wg-ha-bundle-"));
    writeFileSync(join(dir, "b.tar"), bundle.content);
    const x = spawnSync("tar", ["-xf", join(dir, "b.tar"), "-C", dir], { encoding: "utf8" });
    if (x.status !== 0) throw new Error(`tar -x: ${x.stderr}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a deterministic tar under the stable key wg-ha/templates-<os>.tar", () => {
    expect(renderTemplateBundle(os).sha256).toBe(bundle.sha256);
    expect(bundle.key).toBe(`wg-ha/templates-${os}.tar`);
  });

  test("holds every file byte-identical to templates/ (same line numbers on a server), owned by root, with its mode", () => {
    const list = spawnSync("tar", ["-tvf", join(dir, "b.tar")], { encoding: "utf8" });
    expect(list.status).toBe(0);
    const files = userDataFiles(os);
    expect(list.stdout.trim().split("\n")).toHaveLength(files.length);
    for (const f of files) {
      expect(list.stdout).toMatch(new RegExp(`^${f.permissions === "0755" ? "-rwxr-xr-x" : "-rw-r--r--"} root/root .* ${f.path.slice(1)}$`, "m"));
      expect({ file: f.source, same: readFileSync(join(dir, f.path)).equals(readFileSync(join(TEMPLATES_DIR, f.source))) }).toEqual({ file: f.source, same: true });
    }
  });

  test("installs the scripts, units, agent and CloudWatch files, and only this OS's install script", () => {
    const paths = userDataFiles(os).map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/usr/local/bin/wg-ha-bootstrap",
        "/usr/local/bin/wg-ha-sync",
        "/usr/local/bin/wg-client",
        "/usr/local/lib/wg-ha/common.sh",
        "/usr/local/lib/wg-ha/os/common.sh",
        `/usr/local/lib/wg-ha/os/${os}.sh`,
        ...UNITS.map((u) => `/etc/systemd/system/${u}`),
      ]),
    );
    expect(paths.filter((p) => p.includes("/os/") && !p.endsWith("common.sh"))).toEqual([`/usr/local/lib/wg-ha/os/${os}.sh`]);
    if (existsSync(join(TEMPLATES_DIR, "agent", "wg-ha-agent.py"))) expect(paths).toContain("/usr/local/lib/wg-ha/wg-ha-agent.py");
  });

  test("unpacked where a server has them, the scripts parse and answer --help", () => {
    for (const f of userDataFiles(os).filter((f) => f.path.endsWith(".sh") || f.path.startsWith("/usr/local/bin/"))) {
      const syntax = spawnSync("bash", ["-n", join(dir, f.path)], { encoding: "utf8" });
      expect({ file: f.path, stderr: syntax.stderr }).toEqual({ file: f.path, stderr: "" });
    }
    for (const bin of ["wg-client", "wg-ha-sync", "wg-ha-bootstrap"]) {
      const r = spawnSync(join(dir, "usr/local/bin", bin), ["--help"], { encoding: "utf8" });
      expect(r.stdout).toMatch(/^Usage: /);
      expect(r.status).toBe(0);
    }
  });

  test("carries no secret, and stays small", () => {
    expect(findSecrets(bundle.content.toString("utf8"))).toEqual([]);
    expect(bundle.content.length).toBeLessThan(256 * 1024);
  });
});
