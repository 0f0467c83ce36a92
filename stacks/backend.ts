/**
 * Where an environment's Terraform state lives: S3 with native locking when configured,
 * otherwise a local file next to the project (a relative path, so synth output stays
 * machine-independent; cdktf's default local backend would write an absolute one).
 */
import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import type { EnvironmentConfig } from "./config/environment";

export function configureBackend(stack: TerraformStack, env: EnvironmentConfig): void {
  const s3 = env.stateBackend;
  if (!s3) {
    // terraform runs in cdktf.out/stacks/<env>; keep the state three levels up, in the project root.
    new LocalBackend(stack, { path: `../../../terraform.${env.name}.tfstate` });
    return;
  }
  const backend = new S3Backend(stack, {
    bucket: s3.bucket,
    key: s3.key,
    region: s3.region,
    encrypt: true,
    ...(s3.kmsKeyId ? { kmsKeyId: s3.kmsKeyId } : {}),
  });
  // cdktf 0.21's S3BackendConfig predates use_lockfile (Terraform >= 1.10): set it raw.
  backend.addOverride("use_lockfile", true);
}
