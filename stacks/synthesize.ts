/** Builds one VpnStack per environment and writes cdktf.out; shared by main.ts and deploy.ts. */
import { App } from "cdktf";
import { mkdirSync } from "node:fs";
import type { EnvironmentConfig } from "./config/environment";
import { VpnStack } from "./vpn-stack";

export function synthesize(environments: readonly EnvironmentConfig[], outdir: string): void {
  mkdirSync(outdir, { recursive: true }); // cdktf creates only the last directory of the path
  const app = new App({ outdir });
  for (const env of environments) new VpnStack(app, env);
  app.synth();
}
