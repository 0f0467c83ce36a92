/** scripts/lib/deploy/output.ts: what deploy.ts prints after an apply. */
import { renderOutputs } from "../../scripts/lib/deploy/output";
import { synthExamples } from "../stacks/synth";

test("endpoint and dashboard first, the add-client command as its own block, sensitive values hidden", () => {
  const text = renderOutputs("dev", {
    zeta: { value: ["a", "b"] },
    add_client_command: { value: "aws ssm start-session ... sudo wg-client add alice" },
    dashboard_url: { value: "https://console/x" },
    token: { value: "s3cr3t", sensitive: true },
    endpoint: { value: "nlb.example:51820" },
    admin_role_arn: { value: "arn:aws:iam::1:role/admin" },
  });
  expect(text).toBe(
    [
      "Outputs of dev:",
      "  endpoint            nlb.example:51820",
      "  dashboard_url       https://console/x",
      "  admin_role_arn      arn:aws:iam::1:role/admin",
      "  token               (sensitive: terraform output -raw <name>)",
      '  zeta                ["a","b"]',
      "",
      "Add a client (as admin_role_arn, with MFA):",
      "  aws ssm start-session ... sudo wg-client add alice",
      "",
    ].join("\n"),
  );
  expect(text).not.toContain("s3cr3t");
});

test("without an add-client output: the generic wg-client instructions", () => {
  const text = renderOutputs("dev", {});
  expect(text).toContain("dev has no outputs.");
  expect(text).toContain("sudo wg-client add alice");
});

test("every output the stack declares is printed: one line each, the add-client command as its own block", async () => {
  // GIVEN the outputs of a synthesized example environment (values stand in for terraform's)
  const dev = (await synthExamples()).find((s) => s.env.name === "dev")!;
  const names = Object.keys(dev.tf.output as Record<string, unknown>);
  const outputs = Object.fromEntries(names.map((n) => [n, { value: `<${n}>` }]));
  // WHEN deploy.ts renders them
  const lines = renderOutputs("dev", outputs).split("\n");
  // THEN each appears once, the endpoint first, and add_client_command only in its block
  for (const n of names.filter((n) => n !== "add_client_command")) {
    expect(lines.filter((l) => l.startsWith(`  ${n} `))).toEqual([expect.stringMatching(new RegExp(`^  ${n} +<${n}>$`))]);
  }
  expect(lines[1]).toMatch(/^ {2}endpoint /);
  expect(lines.slice(-3)).toEqual(["Add a client (as admin_role_arn, with MFA):", "  <add_client_command>", ""]);
  expect(names).toEqual(expect.arrayContaining(["target_group_arn", "load_balancer_arn", "load_balancer_name", "efs_file_system_id", "autoscaling_group_name", "log_group_name"]));
}, 30_000);
