/**
 * deploy.ts command line: the flags, the usage text and every check that makes a usage error.
 * Pure (the shared CLI module only) so `--help` stays fast.
 */
import { parseFlags, UsageError } from "../cli";

export type BinaryName = "terraform" | "tofu";
export const BINARIES: readonly BinaryName[] = ["terraform", "tofu"];

/** `--environment all` (with --dry-run only) means every environment in the config. */
export const ALL_ENVIRONMENTS = "all";

export interface DeployOptions {
  readonly environment: string;
  readonly dryRun: boolean;
  readonly planOnly: boolean;
  readonly autoApprove: boolean;
  readonly destroy: boolean;
  readonly refreshOnly: boolean;
  readonly skipTypecheck: boolean;
  /** As given on the command line; undefined means terraform.tfvars in the project root. */
  readonly varFile?: string;
  /** undefined means terraform, else tofu, whichever is on PATH first. */
  readonly binary?: BinaryName;
  readonly targets: readonly string[];
}

export type ParsedArgs = { readonly help: true } | { readonly help: false; readonly options: DeployOptions };

export const USAGE = `Usage: ./scripts/deploy.ts --environment NAME [options]
       npm run deploy -- --environment NAME [options]

Synthesizes one environment of wg-ha, plans it with terraform (or tofu), shows a review of
the plan (changes per resource type, loud warnings for stateful resources), asks for
confirmation and applies exactly the reviewed plan.

Options:
  --environment NAME   environment from terraform.tfvars (required); with --dry-run,
                       "all" means every environment
  --dry-run            offline: validate config, type-check, synth and show what would be
                       created; no terraform, no AWS (falls back to terraform.tfvars.example)
  --plan-only          stop after the plan review; apply nothing
  --auto-approve       apply without asking (needed when stdin is not a terminal)
  --destroy            plan the destruction of every resource of the environment
  --refresh-only       only update the state to match what exists in AWS
  --target ADDR        limit the plan to a resource address (repeatable; passed as -target=)
  --var-file PATH      settings file (default terraform.tfvars in the project root)
  --binary NAME        terraform or tofu (default: terraform, else tofu, from PATH)
  --skip-typecheck     skip the tsc --noEmit step
  -h, --help           show this help

Steps: config, preflight (binary + AWS credentials), type-check, synth, init, plan,
review + confirmation, apply. Progress goes to stderr; the review and outputs to stdout.

Exit codes: 0 done (also: no changes, --plan-only, --dry-run), 1 failed or refused,
2 usage error, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
See docs/deploy.md.
`;

/** Parses argv (without node and script); throws UsageError for anything invalid. */
export function parseDeployArgs(argv: readonly string[]): ParsedArgs {
  const { values } = parseFlags(argv, {
    environment: { type: "string", multiple: true },
    "dry-run": { type: "boolean", default: false },
    "plan-only": { type: "boolean", default: false },
    "auto-approve": { type: "boolean", default: false },
    destroy: { type: "boolean", default: false },
    "refresh-only": { type: "boolean", default: false },
    "skip-typecheck": { type: "boolean", default: false },
    target: { type: "string", multiple: true, default: [] },
    "var-file": { type: "string" },
    binary: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return { help: true };

  const environments = values.environment ?? [];
  if (environments.length === 0) throw new UsageError("--environment NAME is required");
  if (environments.length > 1) throw new UsageError(`--environment given ${environments.length} times; deploy one environment at a time`);
  const environment = environments[0];
  if (environment === "") throw new UsageError("--environment needs a name");

  const binary = values.binary;
  if (binary !== undefined && !(BINARIES as readonly string[]).includes(binary)) {
    throw new UsageError(`--binary must be ${BINARIES.join(" or ")}, not "${binary}"`);
  }
  const targets = values.target ?? [];
  if (targets.some((t) => t.trim() === "")) throw new UsageError("--target needs a resource address, e.g. --target aws_lb.this");
  if (values["var-file"] === "") throw new UsageError("--var-file needs a path");

  const dryRun = values["dry-run"] ?? false;
  const terraformOnly: [string, boolean][] = [
    ["--plan-only", values["plan-only"] ?? false],
    ["--auto-approve", values["auto-approve"] ?? false],
    ["--destroy", values.destroy ?? false],
    ["--refresh-only", values["refresh-only"] ?? false],
    ["--target", targets.length > 0],
    ["--binary", binary !== undefined],
  ];
  if (dryRun) {
    const conflicting = terraformOnly.filter(([, set]) => set).map(([flag]) => flag);
    if (conflicting.length) throw new UsageError(`--dry-run runs no terraform; drop ${conflicting.join(", ")}`);
  } else if (environment === ALL_ENVIRONMENTS) {
    throw new UsageError(`--environment ${ALL_ENVIRONMENTS} works with --dry-run only; plan and apply one environment at a time`);
  }
  if (values.destroy && values["refresh-only"]) throw new UsageError("--destroy and --refresh-only exclude each other");

  return {
    help: false,
    options: {
      environment,
      dryRun,
      planOnly: values["plan-only"] ?? false,
      autoApprove: values["auto-approve"] ?? false,
      destroy: values.destroy ?? false,
      refreshOnly: values["refresh-only"] ?? false,
      skipTypecheck: values["skip-typecheck"] ?? false,
      varFile: values["var-file"],
      binary: binary as BinaryName | undefined,
      targets,
    },
  };
}
