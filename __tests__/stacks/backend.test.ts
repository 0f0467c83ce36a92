/** State backend: S3 with native locking when configured, else a local file at a relative path. */
import { synthSettings } from "./synth";

test("state_backend set: terraform.backend.s3 with use_lockfile, encrypt and a per-environment key", async () => {
  const hcl = `state_backend = {\n  bucket = "acme-tf-state"\n  region = "eu-central-1"\n  key_prefix = "vpn"\n}\nenvironments = { dev = {}, prod = {} }`;
  const dev = await synthSettings(hcl, "dev");
  const prod = await synthSettings(hcl, "prod");
  expect(dev.tf.terraform.backend).toEqual({
    s3: { bucket: "acme-tf-state", key: "vpn/dev.tfstate", region: "eu-central-1", encrypt: true, use_lockfile: true },
  });
  expect(prod.tf.terraform.backend.s3.key).toBe("vpn/prod.tfstate");
  expect(dev.tf.terraform.backend.s3.dynamodb_table).toBeUndefined();
});

test("state_backend with a KMS key: kms_key_id passed through", async () => {
  const kmsKeyId = "alias/terraform-state";
  const { tf } = await synthSettings(`state_backend = { bucket = "b", region = "eu-west-1", kms_key_id = "${kmsKeyId}" }`);
  expect(tf.terraform.backend.s3).toMatchObject({ kms_key_id: kmsKeyId, encrypt: true, use_lockfile: true, key: "wg-ha/test.tfstate" });
});

test("no state_backend: local state at a relative path (no machine path in the output)", async () => {
  const { tf } = await synthSettings("");
  expect(tf.terraform.backend).toEqual({ local: { path: "../../../terraform.test.tfstate" } });
});
