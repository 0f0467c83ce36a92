/**
 * One environment of wg-ha: every AWS resource of the HA WireGuard cluster.
 * The stack only wires constructs together; each concern lives in its own file.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { configureBackend } from "./backend";
import type { EnvironmentConfig } from "./config/environment";

export class VpnStack extends TerraformStack {
  constructor(scope: Construct, env: EnvironmentConfig) {
    super(scope, env.name);
    const { settings } = env;
    configureBackend(this, env);
    new AwsProvider(this, "aws", {
      region: settings.region,
      defaultTags: [{ tags: { ...settings.tags, "wg-ha:environment": env.name } }],
    });
  }
}
