/** main.ts as users run it: `npm run synth`. Spawns the real entry point. */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp-dir";

const root = join(__dirname, "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

function synth(args: string[]) {
  const outdir = join(tempDir("main"), "nested", "out");
  const result = spawnSync(tsx, ["main.ts", "--outdir", outdir, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { ...result, outdir };
}

test("--help prints usage and exits 0", () => {
  const result = spawnSync(tsx, ["main.ts", "--help"], { cwd: root, encoding: "utf8" });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Usage: npm run synth/);
});

test("bad config: one line per problem on stderr, no stack trace, exit 1, nothing synthesized", () => {
  const dir = tempDir("bad");
  const file = join(dir, "bad.tfvars");
  writeFileSync(file, 'asg_min = "x"\nos = "windows"\nenvironments = { dev = {} }\n');
  const result = synth(["--var-file", file]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split("\n")).toEqual([
    `error: ${file}:1: asg_min: expected a number, got "x"`,
    `error: ${file}:2: os: "windows" is not allowed; use one of "ubuntu-22.04", "amazon-linux-2023", "amazon-linux-2"`,
  ]);
  expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  expect(existsSync(result.outdir)).toBe(false);
});

test("unknown environment lists the valid ones", () => {
  const result = synth(["--environment", "nope", "--var-file", "terraform.tfvars.example"]);
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('unknown environment "nope"; environments defined there: dev, staging, prod');
});

test("unknown flag is a usage error (exit 2)", () => {
  const result = synth(["--bogus"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/Unknown option '--bogus'/);
});

test("synthesizes one stack directory per environment and prints a summary", () => {
  const result = synth(["--var-file", "terraform.tfvars.example"]);
  expect(result.status).toBe(0);
  for (const env of ["dev", "staging", "prod"]) {
    expect(existsSync(join(result.outdir, "stacks", env, "cdk.tf.json"))).toBe(true);
    expect(result.stdout).toMatch(new RegExp(`^${env}: \\d+ resources`, "m"));
  }
}, 60_000);
