/** Template bundle bucket: private, KMS-encrypted, TLS-only; the object is renderTemplateBundle(os). */
import { renderTemplateBundle } from "../../stacks/user-data";
import { byPath, EXAMPLE_ENVIRONMENTS, only, policyDocumentOf, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("bucket: named per environment and account, public access blocked, SSE-KMS with the CMK, TLS only", () => {
    const { tf } = synths[name];
    const bucket = ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "id");
    const arn = ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "arn");
    expect(only(tf, "aws_s3_bucket")).toEqual({
      bucket: `wg-ha-${name}-templates-\${data.aws_caller_identity.Account_Caller_E4559C81.account_id}`,
      force_destroy: true,
    });
    expect(only(tf, "aws_s3_bucket_public_access_block")).toEqual({
      bucket, block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true,
    });
    expect(only(tf, "aws_s3_bucket_server_side_encryption_configuration")).toEqual({
      bucket,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn") }, bucket_key_enabled: true }],
    });
    const policy = policyDocumentOf(tf, byPath(tf, "aws_s3_bucket_policy", "VpnServers/Templates/BucketPolicy").policy);
    expect(policy.statement).toEqual([
      expect.objectContaining({ effect: "Deny", actions: ["s3:*"], resources: [arn, `${arn}/*`], condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] }),
    ]);
  });

  test("object: the OS's template bundle under its content-addressed key", () => {
    const { tf, env } = synths[name];
    const bundle = renderTemplateBundle(env.settings.os);
    expect(only(tf, "aws_s3_object")).toMatchObject({
      bucket: ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "id"),
      key: bundle.key,
      content_type: "application/x-tar",
      content_base64: bundle.content.toString("base64"),
    });
    expect(bundle.key).toMatch(/^wg-ha\/templates-ubuntu-22\.04-[0-9a-f]{16}\.tar$/);
  });
});

test("another OS ships its own bundle", async () => {
  const { tf } = await synthSettings('os = "amazon-linux-2023"');
  expect(only(tf, "aws_s3_object").key).toBe(renderTemplateBundle("amazon-linux-2023").key);
});
