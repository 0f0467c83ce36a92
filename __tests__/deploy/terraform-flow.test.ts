/**
 * deploy.ts against a stub terraform/tofu on PATH (fixtures/terraform): the exact argument
 * lists, the plan review, confirmation and refusal, apply of the reviewed plan file, outputs,
 * preflight messages, terraform failures and Ctrl-C. Spawns the real CLI (harness.ts);
 * --skip-typecheck everywhere (cli.test.ts runs the type-check once).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { callsTo, FIXTURES, planFileOf, Sandbox } from "./harness";

jest.setTimeout(60_000);

const DEV = ["--environment", "dev", "--skip-typecheck"];
const CHDIR = "-chdir=cdktf.out/stacks/dev";
const DESTRUCTIVE = { STUB_SHOW_JSON: join(FIXTURES, "plan-destructive.json") };

let sandbox: Sandbox;
beforeAll(() => (sandbox = new Sandbox()));
afterAll(() => sandbox.dispose());

test("--plan-only: version, init, plan, show with exact arguments; review table; plan file removed; exit 0", () => {
  const result = sandbox.run([...DEV, "--plan-only"]);
  expect(result.status).toBe(0);
  const planFile = planFileOf(result);
  expect(planFile).toMatch(/^wg-ha-[0-9a-f]{8}\.tfplan$/);
  expect(result.calls.map((c) => [c.bin, ...(c.args ?? [])])).toEqual([
    ["terraform", "version", "-json"],
    ["terraform", CHDIR, "init", "-input=false", "-no-color"],
    ["terraform", CHDIR, "plan", "-input=false", `-out=${planFile}`, "-detailed-exitcode", "-no-color"],
    ["terraform", CHDIR, "show", "-json", planFile],
  ]);
  expect(result.stdout).toContain("Plan for dev: 8 to create (1 output changing)");
  expect(result.stdout).toMatch(/^ {2}resource type +create +update +replace +delete$/m);
  expect(result.stdout).toMatch(/^ {2}aws_subnet +4 +- +- +-$/m);
  expect(result.stdout).toMatch(/^ {2}total +8 +- +- +-$/m);
  expect(result.stdout).not.toContain("WARNING");
  expect(result.stdout).toContain("Plan only (--plan-only): nothing applied to dev.");
  expect(result.stderr).toContain("stub plan: human-readable plan"); // terraform's own plan output, on stderr
  expect(result.stderr).toMatch(/^==> \[7\/7\]|==> \[6\/7\] terraform plan \.\.\. \d+\.\ds$/m);
  expect(result.stderr).toContain("AWS credentials: environment (AWS_ACCESS_KEY_ID)");
  expect(result.stderr).toContain("state: local file terraform.dev.tfstate");
  expect(result.planFiles).toEqual([]);
});

test("destructive changes without a terminal: loud WARNING block, then refusal without --auto-approve (exit 1), nothing applied", () => {
  const result = sandbox.run(DEV, { env: DESTRUCTIVE });
  expect(result.status).toBe(1);
  expect(result.stdout).toContain("Plan for dev: 1 to create, 1 to update, 3 to replace, 1 to delete (3 unchanged, 1 output changing)");
  const warnings = result.stdout.split("\n").filter((l) => l.includes("WARNING"));
  expect(warnings.every((l) => l.startsWith("WARNING:"))).toBe(true);
  expect(warnings[0]).toBe("WARNING: 3 destructive changes to stateful resources in dev:");
  expect(warnings).toContain("WARNING:   replace  aws_efs_file_system.storage_efs_6f708192 (forced by kms_key_id)");
  expect(warnings).toContain("WARNING:   replace  aws_kms_key.storage_key_5e6f7081 (forced by customer_master_key_spec)");
  expect(warnings).toContain("WARNING:   delete   aws_lb.nlb_nlb_708192a3");
  expect(result.stdout).toMatch(/WARNING: +EFS holds the WireGuard server key and every client peer/);
  expect(result.stdout).not.toContain("aws_launch_template.servers"); // replaced, but not stateful: table only
  expect(result.stderr).toContain("error: refusing to apply without confirmation: stdin is not a terminal. Pass --auto-approve");
  expect(callsTo(result, "apply")).toEqual([]);
  expect(result.planFiles).toEqual([]);
});

test("--auto-approve applies exactly the reviewed plan file, then prints the outputs", () => {
  const result = sandbox.run([...DEV, "--auto-approve"]);
  expect(result.status).toBe(0);
  const planFile = planFileOf(result)!;
  expect(callsTo(result, "apply")).toEqual([[CHDIR, "apply", "-input=false", "-no-color", planFile]]);
  expect(callsTo(result, "output")).toEqual([[CHDIR, "output", "-json"]]);
  expect(result.stderr).toMatch(/==> \[7\/7\] terraform apply \.\.\. \d+\.\ds/);
  const outputs = JSON.parse(readFileSync(join(FIXTURES, "outputs.json"), "utf8"));
  const lines = result.stdout.split("\n");
  const first = lines.findIndex((l) => l === "Outputs of dev:");
  expect(lines[first + 1]).toMatch(/^ {2}endpoint +wg-ha-dev-nlb-0123456789abcdef\.elb\.eu-west-1\.amazonaws\.com:51820$/);
  expect(lines[first + 2]).toMatch(/^ {2}dashboard_url +https:\/\//);
  expect(result.stdout).toContain("Add a client (as admin_role_arn, with MFA):");
  expect(result.stdout).toContain(`  ${outputs.add_client_command.value}`);
  expect(result.planFiles).toEqual([]);
});

test("no changes (plan exit 0): says so, no show, no apply, exit 0", () => {
  const result = sandbox.run(DEV, { env: { STUB_PLAN_EXIT: "0" } });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain("No changes: dev already matches the configuration. Nothing to apply.");
  expect(callsTo(result, "show")).toEqual([]);
  expect(callsTo(result, "apply")).toEqual([]);
  expect(result.planFiles).toEqual([]);
});

test("--destroy --target --target --auto-approve: -destroy and one -target= each; no outputs afterwards", () => {
  const result = sandbox.run([...DEV, "--destroy", "--target", "aws_lb.nlb", "--target", "module.x.aws_eip.this[0]", "--auto-approve"]);
  expect(result.status).toBe(0);
  const planFile = planFileOf(result)!;
  expect(callsTo(result, "plan")).toEqual([
    [CHDIR, "plan", "-input=false", `-out=${planFile}`, "-detailed-exitcode", "-destroy", "-target=aws_lb.nlb", "-target=module.x.aws_eip.this[0]", "-no-color"],
  ]);
  expect(callsTo(result, "apply")).toEqual([[CHDIR, "apply", "-input=false", "-no-color", planFile]]);
  expect(callsTo(result, "output")).toEqual([]);
  expect(result.stdout).toContain("dev destroyed.");
});

test("--refresh-only --plan-only --binary tofu: tofu is used even with terraform on PATH", () => {
  const result = sandbox.run([...DEV, "--refresh-only", "--plan-only", "--binary", "tofu"]);
  expect(result.status).toBe(0);
  expect(new Set(result.calls.map((c) => c.bin))).toEqual(new Set(["tofu"]));
  expect(callsTo(result, "plan")[0]).toEqual([CHDIR, "plan", "-input=false", `-out=${planFileOf(result)}`, "-detailed-exitcode", "-refresh-only", "-no-color"]);
  expect(result.stderr).toMatch(/==> \[5\/7\] tofu init/);
});

// The choice between terraform and tofu is unit-tested (preflight.test.ts); this is the CLI's answer.
test("no terraform and no tofu on PATH: exit 1 with how to install, before synth", () => {
  sandbox.clearOutput();
  const result = sandbox.run(DEV, { bins: [] });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("error: neither terraform nor tofu found on PATH: install Terraform >= 1.10");
  expect(result.stderr).toContain("https://developer.hashicorp.com/terraform/install");
  expect(result.stderr).toMatch(/==> \[2\/7\] preflight \.\.\. failed/);
  expect(result.calls).toEqual([]);
  expect(sandbox.exists("cdktf.out")).toBe(false);
});

test("no AWS credentials (no aws CLI, no env, no ~/.aws, no IMDS): exit 1 saying what to set; no init", () => {
  const result = sandbox.run(DEV, { credentials: false });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("error: no AWS credentials found. Set one of:");
  expect(result.stderr).toMatch(/AWS_PROFILE=NAME .*\n.*AWS_ACCESS_KEY_ID \+ AWS_SECRET_ACCESS_KEY.*\n.*AWS_WEB_IDENTITY_TOKEN_FILE/);
  expect(result.calls.map((c) => c.args)).toEqual([["version", "-json"]]);
});

test("aws CLI on PATH: sts get-caller-identity decides; its failure is shown", () => {
  const ok = sandbox.run([...DEV, "--plan-only"], { bins: ["terraform", "aws"], credentials: false });
  expect(ok.status).toBe(0);
  expect(ok.calls).toContainEqual({ bin: "aws", args: ["sts", "get-caller-identity", "--output", "json", "--region", "eu-west-1"] });
  expect(ok.stderr).toContain("AWS credentials: aws sts: arn:aws:iam::123456789012:user/stub");

  const failed = sandbox.run(DEV, { bins: ["terraform", "aws"], env: { STUB_AWS_FAIL: "1" } });
  expect(failed.status).toBe(1);
  expect(failed.stderr).toContain('error: AWS credentials do not work: aws sts get-caller-identity failed: Unable to locate credentials. You can configure credentials by running "aws configure".');
  expect(callsTo(failed, "init")).toEqual([]);
});

test("S3 state backend needs terraform >= 1.10 for use_lockfile", () => {
  const result = sandbox.run(["--environment", "dev", "--skip-typecheck", "--var-file", join(FIXTURES, "s3-backend.tfvars")], { env: { STUB_VERSION: "1.9.8" } });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/error: state_backend uses S3 native locking \(use_lockfile\), which needs terraform >= 1\.10\.0; .*terraform is 1\.9\.8/);
  expect(callsTo(result, "init")).toEqual([]);
});

test.each(["init", "plan", "apply"])("terraform %s fails: its stderr is shown, exit 1, plan file removed", (subcommand) => {
  const result = sandbox.run([...DEV, "--auto-approve"], { env: { STUB_FAIL: subcommand } });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(`Error: stub ${subcommand} failure: AccessDenied from the stub`);
  expect(result.stderr).toContain(`stub ${subcommand}: partial output`); // its stdout too, on stderr
  expect(result.stderr).toMatch(new RegExp(`error: terraform ${subcommand} failed \\(exit 1\\)\\n$`));
  expect(result.planFiles).toEqual([]);
});

test.each([
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)("%s during plan (Ctrl-C, kill): forwarded once to terraform, plan file removed, exit %d", async (signal, code) => {
  const run = sandbox.start([...DEV, "--plan-only"], { env: { STUB_HANG: "plan" } });
  const deadline = Date.now() + 30_000;
  const planning = () => {
    try {
      return readFileSync(run.log, "utf8").includes('"waiting":"plan"'); // its signal handlers are in place
    } catch {
      return false;
    }
  };
  while (!planning() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  run.child.kill(signal);
  const result = await run.done;
  expect(result.status).toBe(code);
  expect(result.stderr).toMatch(/==> \[6\/7\] terraform plan \.\.\. interrupted after \d+\.\ds/);
  expect(result.calls.filter((c) => c.signal)).toEqual([{ bin: "terraform", signal }]);
  expect(result.stderr).toContain("Releasing state lock."); // terraform's own shutdown, shown
  expect(result.stderr).toContain(`interrupted (${signal}): the plan file was removed`);
  expect(result.planFiles).toEqual([]);
  expect(callsTo(result, "show")).toEqual([]);
});

describe("on a terminal (pseudo-terminal via util-linux script)", () => {
  test("answer y applies", () => {
    const result = sandbox.runOnTerminal([...DEV], "y");
    expect(result.stdout).toContain("Apply these changes to dev? [y/N]");
    expect(result.status).toBe(0);
    expect(callsTo(result, "apply")).toHaveLength(1);
    expect(result.stdout).toContain("Outputs of dev:");
  });

  test("destructive plan: y is not enough, the environment name is required; exit 1", () => {
    const result = sandbox.runOnTerminal([...DEV], "y", { env: DESTRUCTIVE });
    expect(result.stdout).toContain("This plan replaces or deletes stateful resources. Type the environment name (dev) to apply:");
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('error: not applied: the answer was not "dev"');
    expect(callsTo(result, "apply")).toEqual([]);
    expect(result.planFiles).toEqual([]);
  });

  test("destructive plan: typing the environment name applies", () => {
    const result = sandbox.runOnTerminal([...DEV], "dev", { env: DESTRUCTIVE });
    expect(result.status).toBe(0);
    expect(callsTo(result, "apply")).toHaveLength(1);
  });
});
