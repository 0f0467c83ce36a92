/** scripts/lib/deploy/cli-args.ts: flags, defaults, usage errors (exit 2 in deploy.ts). */
import { UsageError } from "../../scripts/lib/cli";
import { parseDeployArgs, type DeployOptions } from "../../scripts/lib/deploy/cli-args";

const options = (args: string[]): DeployOptions => {
  const parsed = parseDeployArgs(args);
  if (parsed.help) throw new Error("unexpected --help");
  return parsed.options;
};

test("defaults", () => {
  expect(options(["--environment", "dev"])).toEqual({
    environment: "dev", dryRun: false, planOnly: false, autoApprove: false, destroy: false, refreshOnly: false,
    skipTypecheck: false, varFile: undefined, binary: undefined, targets: [],
  });
});

test("every flag", () => {
  expect(options(["--environment=prod", "--plan-only", "--auto-approve", "--destroy", "--target", "a.b", "--target=c.d", "--var-file", "x.tfvars", "--binary", "tofu", "--skip-typecheck"])).toEqual({
    environment: "prod", dryRun: false, planOnly: true, autoApprove: true, destroy: true, refreshOnly: false,
    skipTypecheck: true, varFile: "x.tfvars", binary: "tofu", targets: ["a.b", "c.d"],
  });
  expect(options(["--environment", "all", "--dry-run"])).toMatchObject({ environment: "all", dryRun: true });
  expect(options(["--environment", "dev", "--refresh-only"])).toMatchObject({ refreshOnly: true });
});

test("--help and -h win over everything else", () => {
  expect(parseDeployArgs(["--help"])).toEqual({ help: true });
  expect(parseDeployArgs(["-h", "--destroy"])).toEqual({ help: true });
});

test.each([
  [[], "--environment NAME is required"],
  [["--environment"], "Option '--environment <value>' argument missing"],
  [["--environment", ""], "--environment needs a name"],
  [["--environment", "dev", "--bogus"], "Unknown option '--bogus'"],
  [["--environment", "dev", "apply"], "Unexpected argument 'apply'"],
  [["--environment", "dev", "--binary", "pulumi"], '--binary must be terraform or tofu, not "pulumi"'],
  [["--environment", "dev", "--target", " "], "--target needs a resource address"],
  [["--environment", "dev", "--var-file", ""], "--var-file needs a path"],
  [["--environment", "dev", "--dry-run", "--plan-only", "--auto-approve", "--binary", "tofu"], "--dry-run runs no terraform; drop --plan-only, --auto-approve, --binary"],
  [["--environment", "dev", "--dry-run", "--refresh-only"], "--dry-run runs no terraform; drop --refresh-only"],
  [["--environment", "all"], "--environment all works with --dry-run only"],
  [["--environment", "dev", "--destroy", "--refresh-only"], "--destroy and --refresh-only exclude each other"],
  [["--environment", "dev", "--environment", "prod"], "--environment given 2 times; deploy one environment at a time"],
])("%j is a usage error: %s", (args, message) => {
  expect(() => parseDeployArgs(args)).toThrow(UsageError);
  expect(() => parseDeployArgs(args)).toThrow(message);
});
