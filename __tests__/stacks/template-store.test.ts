/** Template bundle bucket: private, KMS-encrypted, TLS-only, versioned; the object is renderTemplateBundle(os) under a stable key. */
import { renderTemplateBundle } from "../../stacks/user-data";
import { byPath, EXAMPLE_ENVIRONMENTS, logicalId, only, policyDocumentOf, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

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

  test("versioning on; replaced versions expire after 90 days, incomplete uploads after 7", () => {
    const { tf } = synths[name];
    const bucket = ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "id");
    expect(only(tf, "aws_s3_bucket_versioning")).toEqual({ bucket, versioning_configuration: { status: "Enabled" } });
    expect(only(tf, "aws_s3_bucket_lifecycle_configuration")).toEqual({
      bucket,
      rule: [
        {
          id: "expire-replaced-bundles",
          status: "Enabled",
          filter: [{ prefix: "wg-ha/" }],
          noncurrent_version_expiration: [{ noncurrent_days: 90 }],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        },
      ],
      depends_on: [`aws_s3_bucket_versioning.${logicalId(tf, "aws_s3_bucket_versioning", "VpnServers/Templates/Versioning")}`],
    });
    expect(renderTemplateBundle(synths[name].env.settings.os).key.startsWith("wg-ha/")).toBe(true);
  });

  test("object: the OS's template bundle under its stable key, uploaded once versioning and encryption are on", () => {
    const { tf, env } = synths[name];
    const bundle = renderTemplateBundle(env.settings.os);
    expect(only(tf, "aws_s3_object")).toEqual({
      bucket: ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "id"),
      key: "wg-ha/templates-amazon-linux-2023.tar",
      content_type: "application/x-tar",
      content_base64: bundle.content.toString("base64"),
      depends_on: [
        `aws_s3_bucket_server_side_encryption_configuration.${logicalId(tf, "aws_s3_bucket_server_side_encryption_configuration", "VpnServers/Templates/Encryption")}`,
        `aws_s3_bucket_versioning.${logicalId(tf, "aws_s3_bucket_versioning", "VpnServers/Templates/Versioning")}`,
      ],
    });
    expect(bundle.key).toBe("wg-ha/templates-amazon-linux-2023.tar");
  });

  test("the launch template's user data names the upload's version id (a content change is a new version: a new launch template version)", () => {
    const { tf } = synths[name];
    expect(only(tf, "aws_launch_template").user_data).toContain(`--version-id '${ref(tf, "aws_s3_object", "VpnServers/Templates/Bundle", "version_id")}'`);
  });
});

test("another OS ships its own bundle", async () => {
  const { tf } = await synthSettings('os = "ubuntu-22.04"');
  expect(only(tf, "aws_s3_object").key).toBe("wg-ha/templates-ubuntu-22.04.tar");
  expect(only(tf, "aws_s3_object").content_base64).toBe(renderTemplateBundle("ubuntu-22.04").content.toString("base64"));
});
