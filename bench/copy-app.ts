/**
 * Writes a snapshot of the app (main.ts, stacks/, the shared CLI module, templates/, settings, tsconfig, cdktf.json) for the synth
 * benchmark, so every variant runs the same code even while the work tree changes. With
 * --barrel, the AWS provider imports are rewritten to `import * as aws from "@cdktf/provider-aws"`
 * (`aws.vpc.Vpc`) as in a `cdktf init` project, and cdktf.json runs it with ts-node like
 * `cdktf init` does. Used by bench/synth.sh and the synth determinism test; nothing generated here
 * is committed.
 *
 *   tsx bench/copy-app.ts <destination directory> [--barrel]
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseFlags, runMain, UsageError } from "../scripts/lib/cli";

const ROOT = join(__dirname, "..");
const DEEP_IMPORT = /^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"@cdktf\/provider-aws\/lib\/([a-z0-9-]+)";\n/gm;

/** "data-aws-iam-policy-document" -> "dataAwsIamPolicyDocument": the barrel's namespace names. */
export function namespaceOf(module: string): string {
  return module.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The same source with deep provider imports turned into `aws.<namespace>.<Name>` references. */
export function toBarrel(source: string): string {
  const names = new Map<string, string>();
  let first = -1;
  const stripped = source.replace(DEEP_IMPORT, (_match, list: string, module: string, offset: number) => {
    if (first < 0) first = offset;
    for (const item of list.split(",").map((s) => s.trim().replace(/^type\s+/, "")).filter(Boolean)) {
      names.set(item, `aws.${namespaceOf(module)}.${item}`);
    }
    return "";
  });
  if (first < 0) return source;
  // Replace identifiers outside quotes (construct IDs such as "Vpc" must not change).
  let body = stripped;
  for (const [name, qualified] of names) body = body.replace(new RegExp(`(?<![\\w$.'"])${name}(?![\\w$'"])`, "g"), qualified);
  return `${body.slice(0, first)}import * as aws from "@cdktf/provider-aws";\n${body.slice(first)}`;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function main(destination: string, barrel: boolean): void {
  mkdirSync(destination, { recursive: true });
  for (const file of [join(ROOT, "main.ts"), join(ROOT, "scripts", "lib", "cli.ts"), ...files(join(ROOT, "stacks")).filter((f) => f.endsWith(".ts"))]) {
    const target = join(destination, relative(ROOT, file));
    mkdirSync(dirname(target), { recursive: true });
    const source = readFileSync(file, "utf8");
    writeFileSync(target, barrel ? toBarrel(source) : source);
  }
  for (const file of ["terraform.tfvars.example", "tsconfig.json", "package.json"]) cpSync(join(ROOT, file), join(destination, file));
  // What runs on the servers: stacks/user-data.ts renders it into the launch template.
  cpSync(join(ROOT, "templates"), join(destination, "templates"), { recursive: true });
  // The cdktf init template runs the app with ts-node through npx.
  const cdktf = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8"));
  const app = barrel ? { app: "npx ts-node main.ts" } : {};
  writeFileSync(join(destination, "cdktf.json"), `${JSON.stringify({ ...cdktf, ...app }, null, 2)}\n`);
  symlinkSync(join(ROOT, "node_modules"), join(destination, "node_modules"));
}

const USAGE = "Usage: tsx bench/copy-app.ts <destination directory> [--barrel]\n";

if (require.main === module) {
  runMain("tsx bench/copy-app.ts", (argv) => {
    const { values, positionals } = parseFlags(argv, { barrel: { type: "boolean" }, help: { type: "boolean", short: "h" } }, true);
    if (values.help) return void process.stdout.write(USAGE);
    if (positionals.length !== 1) throw new UsageError("one destination directory is needed");
    main(positionals[0], values.barrel === true);
  });
}
