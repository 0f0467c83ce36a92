/**
 * deploy.ts before terraform: --help, usage errors, config errors, environment selection,
 * --dry-run. Spawns the real CLI in a copy of the project (harness.ts); terraform is a stub
 * that must never be called here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, Sandbox } from "./harness";

jest.setTimeout(60_000);

let sandbox: Sandbox;
beforeAll(() => (sandbox = new Sandbox()));
afterAll(() => sandbox.dispose());

test("--help prints the usage on stdout, exits 0, loads no terraform", () => {
  const result = sandbox.run(["--help"]);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Usage: \.\/scripts\/deploy\.ts --environment NAME \[options\]/);
  for (const flag of ["--environment", "--dry-run", "--plan-only", "--auto-approve", "--destroy", "--refresh-only", "--target", "--var-file", "--binary", "--skip-typecheck"]) {
    expect(result.stdout).toContain(flag);
  }
  expect(result.stdout).toMatch(/Exit codes: 0 .* 1 failed or refused,\s+2 usage error/s);
  expect(result.stderr).toBe("");
  expect(result.calls).toEqual([]);
});

// Every usage error is in cli-args.test.ts; these prove the CLI turns them into exit 2.
test.each([
  ["no --environment", [], "error: --environment NAME is required"],
  ["an unknown flag", ["--environment", "dev", "--bogus"], "error: Unknown option '--bogus'"],
  ["--environment all without --dry-run", ["--environment", "all"], "error: --environment all works with --dry-run only"],
])("usage error, exit 2: %s", (_name, args, message) => {
  const result = sandbox.run(args);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
  expect(result.stderr).toContain("Run ./scripts/deploy.ts --help for usage.");
  expect(result.stdout).toBe("");
  expect(result.calls).toEqual([]);
});

test("--dry-run on a fresh clone: one notice about the example, type-check, synth, the table; no terraform, no AWS", () => {
  sandbox.writeTfvars(null);
  sandbox.clearOutput();
  try {
    const result = sandbox.run(["--environment", "dev", "--dry-run"], { credentials: false });
    expect(result.status).toBe(0);
    const steps = result.stderr.split("\n").filter((l) => l.startsWith("==> "));
    expect(steps).toEqual([
      expect.stringMatching(/^==> \[1\/3\] config \.\.\. \d+\.\ds$/),
      expect.stringMatching(/^==> \[2\/3\] type-check \(tsc --noEmit\) \.\.\. \d+\.\ds$/),
      expect.stringMatching(/^==> \[3\/3\] synth dev \.\.\. \d+\.\ds$/),
    ]);
    expect(result.stderr.match(/terraform\.tfvars\.example/g)?.length).toBe(2); // the file line and the one notice
    expect(result.stderr).toContain("warning: No terraform.tfvars: using terraform.tfvars.example");
    expect(result.calls).toEqual([]);

    // The counts are the synthesized stack's, per resource type.
    const stack = JSON.parse(readFileSync(join(sandbox.root, "cdktf.out/stacks/dev/cdk.tf.json"), "utf8"));
    const types = Object.keys(stack.resource).sort();
    const total = types.reduce((n, t) => n + Object.keys(stack.resource[t]).length, 0);
    expect(result.stdout).toContain(`Dry run for dev: ${total} resources to create in a new environment`);
    expect(result.stdout).toMatch(/^ {2}resource type +create$/m);
    for (const type of types) {
      expect(result.stdout).toMatch(new RegExp(`^  ${type} +${Object.keys(stack.resource[type]).length}$`, "m"));
    }
    expect(result.stdout).toMatch(new RegExp(`^  total +${total}$`, "m"));
    expect(result.stdout).toContain("terraform did not run and nothing was sent to AWS");
    expect(sandbox.exists("cdktf.out/stacks/staging")).toBe(false); // only the chosen environment
  } finally {
    sandbox.writeTfvars();
  }
});

test("--dry-run --environment all: a profile line per environment and one table with a column each", () => {
  const result = sandbox.run(["--environment", "all", "--dry-run", "--skip-typecheck"]);
  expect(result.status).toBe(0);
  expect(result.stderr).toContain("==> [2/3] type-check ... skipped (--skip-typecheck)");
  expect(result.stderr).toMatch(/==> \[3\/3\] synth dev, staging, prod \.\.\. /);
  expect(result.stdout).toMatch(/^Dry run: resources each environment would create \(dev \d+, staging \d+, prod \d+\)$/m);
  expect(result.stdout).toMatch(/^  resource type\s+dev\s+staging\s+prod$/m);
  expect(result.stdout).toMatch(/^  aws_nat_gateway\s+1\s+2\s+3$/m);
  for (const env of ["dev", "staging", "prod"]) {
    expect(result.stdout).toMatch(new RegExp(`^  ${env}\\s+eu-west-1, \\d AZs, `, "m"));
    expect(sandbox.exists(`cdktf.out/stacks/${env}/cdk.tf.json`)).toBe(true);
  }
  expect(result.calls).toEqual([]);
});

test("unknown environment: exit 1, lists the environments of the config, runs nothing", () => {
  sandbox.clearOutput();
  const result = sandbox.run(["--environment", "nope"]);
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('error: terraform.tfvars: unknown environment "nope"; environments defined there: dev, staging, prod');
  expect(result.calls).toEqual([]);
  expect(sandbox.exists("cdktf.out")).toBe(false);
});

test("fresh clone, real plan: refuses without terraform.tfvars (copy the example) and still checks the environment", () => {
  sandbox.writeTfvars(null);
  sandbox.clearOutput();
  try {
    const result = sandbox.run(["--environment", "nope"]);
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      'error: terraform.tfvars.example: unknown environment "nope"; environments defined there: dev, staging, prod',
      "error: terraform.tfvars: file not found; copy terraform.tfvars.example to terraform.tfvars and edit it (cp terraform.tfvars.example terraform.tfvars)",
    ]);
    expect(result.calls).toEqual([]);
    expect(sandbox.exists("cdktf.out")).toBe(false);
  } finally {
    sandbox.writeTfvars();
  }
});

test("bad config: the config errors, one per line, exit 1, nothing synthesized, no terraform", () => {
  sandbox.clearOutput();
  const file = join(FIXTURES, "bad.tfvars");
  const result = sandbox.run(["--environment", "dev", "--var-file", file]);
  expect(result.status).toBe(1);
  expect(result.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
    `error: ${file}:1: asg_min: expected a number, got "x"`,
    `error: ${file}:2: os: "windows" is not allowed; use one of "ubuntu-22.04", "amazon-linux-2023", "amazon-linux-2"`,
  ]);
  expect(result.stderr).toMatch(/==> \[1\/7\] config \.\.\. failed after \d+\.\ds/);
  expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  expect(result.calls).toEqual([]);
  expect(sandbox.exists("cdktf.out")).toBe(false);
});
