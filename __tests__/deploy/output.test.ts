/** scripts/lib/output.ts: what deploy.ts prints after an apply. */
import { renderOutputs } from "../../scripts/lib/output";

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
