/** scripts/lib/deploy/plan-review.ts: terraform show -json -> counts, destructive warnings, tables. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  classifyActions, describeTotals, renderCountsTable, renderDryRun, renderDryRunComparison, renderPlanReview, renderWarnings, STATEFUL_RESOURCES, summarizePlan,
} from "../../scripts/lib/deploy/plan-review";

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, "fixtures", name), "utf8"));
const change = (type: string, actions: string[], extra: object = {}) => ({ address: `${type}.x`, mode: "managed", type, change: { actions, ...extra } });

test.each([
  [["create"], "create"],
  [["update"], "update"],
  [["delete", "create"], "replace"],
  [["create", "delete"], "replace"],
  [["delete"], "delete"],
  [["no-op"], "no-op"],
  [["read"], undefined],
  [["forget"], undefined],
])("actions %j are a %s", (actions, expected) => {
  expect(classifyActions(actions)).toBe(expected);
});

test("creates only: counts per type, data sources ignored, no warnings", () => {
  const summary = summarizePlan(fixture("plan-creates.json"));
  expect(summary.rows.map((r) => [r.type, r.counts.create])).toEqual([
    ["aws_efs_file_system", 1], ["aws_kms_key", 1], ["aws_lb", 1], ["aws_subnet", 4], ["aws_vpc", 1],
  ]);
  expect(summary.totals).toEqual({ create: 8, update: 0, replace: 0, delete: 0 });
  expect(summary.destructive).toEqual([]);
  expect(summary.outputChanges).toBe(1);
});

test("replace of EFS and KMS, delete of the NLB: one destructive entry each, with reason and forcing attribute", () => {
  const summary = summarizePlan(fixture("plan-destructive.json"));
  expect(summary.totals).toEqual({ create: 1, update: 1, replace: 3, delete: 1 });
  expect(summary.unchanged).toBe(3);
  expect(summary.destructive).toEqual([
    { address: "aws_efs_file_system.storage_efs_6f708192", type: "aws_efs_file_system", action: "replace", reason: STATEFUL_RESOURCES.aws_efs_file_system, forcedBy: ["kms_key_id"] },
    { address: "aws_kms_key.storage_key_5e6f7081", type: "aws_kms_key", action: "replace", reason: STATEFUL_RESOURCES.aws_kms_key, forcedBy: ["customer_master_key_spec"] },
    { address: "aws_lb.nlb_nlb_708192a3", type: "aws_lb", action: "delete", reason: STATEFUL_RESOURCES.aws_lb, forcedBy: [] },
  ]);
});

test("creates and updates of stateful resources are not destructive; replace of a stateless one is not either", () => {
  const summary = summarizePlan({
    resource_changes: [change("aws_efs_file_system", ["create"]), change("aws_kms_key", ["update"]), change("aws_launch_template", ["delete", "create"])],
  });
  expect(summary.destructive).toEqual([]);
});

test("every stateful type named in the brief is covered, each with a reason", () => {
  for (const type of ["aws_efs_file_system", "aws_kms_key", "aws_lb", "aws_lb_target_group", "aws_eip", "aws_cloudwatch_log_group"]) {
    expect(STATEFUL_RESOURCES[type]?.length).toBeGreaterThan(40);
  }
});

test("drift (refresh-only), forget and empty plans", () => {
  const summary = summarizePlan({ resource_drift: [{}, {}], resource_changes: [change("aws_vpc", ["forget"])] });
  expect(summary.drift).toBe(2);
  expect(summary.other).toBe(1);
  expect(describeTotals(summary.totals)).toBe("no resource changes");
  expect(renderPlanReview("dev", summary)).toContain("2 resources changed outside terraform");
  expect(() => summarizePlan("nonsense")).toThrow("plan JSON is not an object");
});

test("table: aligned columns, - for zero, a total row", () => {
  const table = renderCountsTable([
    { type: "aws_vpc", counts: { create: 1, update: 0, replace: 0, delete: 0 } },
    { type: "aws_efs_file_system", counts: { create: 0, update: 2, replace: 10, delete: 0 } },
  ]);
  expect(table).toBe(
    [
      "  resource type        create  update  replace  delete",
      "  aws_vpc                   1       -        -       -",
      "  aws_efs_file_system       -       2       10       -",
      "  total                     1       2       10       -",
      "",
    ].join("\n"),
  );
});

test("warning block: every line starts with WARNING; painted when asked", () => {
  const { destructive } = summarizePlan(fixture("plan-destructive.json"));
  const text = renderWarnings("prod", destructive);
  expect(text.trimEnd().split("\n").every((l) => l.startsWith("WARNING:"))).toBe(true);
  expect(text).toContain("WARNING: 3 destructive changes to stateful resources in prod:");
  const red = renderWarnings("prod", destructive, { warning: (t) => `<r>${t}</r>`, heading: (t) => t, dim: (t) => t, ok: (t) => t });
  expect(red.split("\n")[0]).toBe("<r>WARNING: 3 destructive changes to stateful resources in prod:</r>");
  expect(renderWarnings("prod", [])).toBe("");
});

test("dry run: the create column only, totals in the heading", () => {
  const text = renderDryRun({ environment: "dev", resources: { aws_subnet: 4, aws_vpc: 1 }, dataSources: 2, outputs: 3, file: "cdktf.out/stacks/dev/cdk.tf.json" });
  expect(text).toBe(
    [
      "Dry run for dev: 5 resources to create in a new environment (2 data sources, 3 outputs; cdktf.out/stacks/dev/cdk.tf.json)",
      "",
      "  resource type  create",
      "  aws_subnet          4",
      "  aws_vpc             1",
      "  total               5",
      "",
    ].join("\n"),
  );
});

test("docs/deploy.md lists every stateful resource type", () => {
  const doc = readFileSync(join(__dirname, "..", "..", "docs", "deploy.md"), "utf8");
  for (const type of Object.keys(STATEFUL_RESOURCES)) expect(doc).toContain(`| \`${type}\` |`);
});

describe("renderDryRunComparison", () => {
  const stack = (environment: string, resources: Record<string, number>) =>
    ({ environment, resources, dataSources: 2, outputs: 3, file: `cdktf.out/stacks/${environment}/cdk.tf.json` });

  test("one column per environment, '-' where an environment has none of a type, totals", () => {
    const text = renderDryRunComparison([stack("dev", { aws_nat_gateway: 1, aws_vpc: 1 }), stack("prod", { aws_nat_gateway: 3, aws_vpc: 1, aws_eip: 3 })]);
    const lines = text.split("\n");
    expect(lines[0]).toBe("Dry run: resources each environment would create (dev 2, prod 7)");
    expect(lines).toContain("  resource type             dev   prod");
    expect(lines).toContain("  aws_eip                     -      3");
    expect(lines).toContain("  aws_nat_gateway             1      3");
    expect(lines).toContain("  total                       2      7");
    expect(lines).toContain("  data sources / outputs    2/3    2/3");
  });
});
