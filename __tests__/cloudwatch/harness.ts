/**
 * Runs the CloudWatch parts of first boot as a server would, without root: the template bundle
 * of an OS (renderTemplateBundle, exactly what S3 serves) unpacked into a temp "root", a settings
 * file rendered by stacks/user-data.ts, and bash sourcing the shipped os/common.sh from there.
 * Stubs (amazon-cloudwatch-agent-ctl, curl, dpkg, apt-get) are small scripts written per test.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OperatingSystem } from "../../stacks/config/schema";
import { renderSettingsFile, renderTemplateBundle } from "../../stacks/user-data";
import { settingsInput as userDataInput } from "../fixtures/user-data-input";
import { tempDir } from "../temp-dir";

export { LOG_GROUP } from "../fixtures/user-data-input";
export { userDataInput };

export interface Server {
  /** The unpacked bundle: <root>/usr/local/lib/wg-ha/..., <root>/etc/... */
  readonly root: string;
  readonly lib: string;
  readonly settings: string;
  /** Directory for stubs, first on PATH. */
  readonly bin: string;
  /** bash -c SCRIPT after sourcing the shipped os/common.sh (strict mode, like the OS scripts). */
  run(script: string, env?: Record<string, string>): SpawnSyncReturns<string>;
  stub(name: string, body: string): void;
}

/** A server's files for this OS, as the bundle installs them. */
export function unpackServer(os: OperatingSystem, settings: Partial<Record<string, string>> = {}): Server {
  const dir = tempDir("cw");
  const root = join(dir, "root");
  const bin = join(dir, "bin");
  mkdirSync(root);
  mkdirSync(bin);
  writeFileSync(join(dir, "bundle.tar"), renderTemplateBundle(os).content);
  const tar = spawnSync("tar", ["-xf", join(dir, "bundle.tar"), "-C", root], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  const settingsFile = join(dir, "wg-ha.env");
  let text = renderSettingsFile(userDataInput(os));
  for (const [k, v] of Object.entries(settings)) text = text.replace(new RegExp(`^${k}=.*$`, "m"), `${k}=${v}`);
  writeFileSync(settingsFile, text);
  const lib = join(root, "usr/local/lib/wg-ha");
  return {
    root,
    lib,
    settings: settingsFile,
    bin,
    run(script, env = {}) {
      const prelude = 'set -o errexit -o nounset -o pipefail; . "$WG_HA_LIB/os/common.sh"\n';
      return spawnSync("bash", ["-c", prelude + script], {
        encoding: "utf8",
        timeout: 30_000,
        env: { PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin`, LC_ALL: "C", HOME: dir, WG_HA_LIB: lib, WG_HA_CONFIG: settingsFile, ...env },
      });
    },
    stub(name, body) {
      const path = join(bin, name);
      writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path, 0o755);
    },
  };
}

/** The config render_cloudwatch_config produces on a server of this OS (throws with bash's stderr). */
export function renderedConfigText(server: Server): string {
  const r = server.run('render_cloudwatch_config "$WG_HA_LIB/cloudwatch/amazon-cloudwatch-agent.jsonc"');
  if (r.status !== 0) throw new Error(`render_cloudwatch_config failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The definitions of these shell functions in a script (a one-line `f() { ...; }` or through the
 * next line that is exactly `}`): the tests run an OS script's functions without its top level.
 */
export function shellFunctions(file: string, names: string[]): string {
  const lines = readFileSync(file, "utf8").split("\n");
  return names
    .map((name) => {
      const start = lines.findIndex((l) => l.startsWith(`${name}() {`));
      if (start < 0) throw new Error(`${name}() not found in ${file}`);
      if (lines[start].trimEnd().endsWith("}")) return lines[start];
      const end = lines.indexOf("}", start);
      return lines.slice(start, end + 1).join("\n");
    })
    .join("\n");
}
