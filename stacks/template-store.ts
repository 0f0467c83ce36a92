/**
 * Where the servers fetch templates/ at first boot: the server scripts, agent and units do not fit
 * EC2's 16 KB of user data, so the stack uploads renderTemplateBundle(os) (a deterministic tar of
 * the files, byte-identical to templates/) to a private, KMS-encrypted, TLS-only, versioned bucket
 * under a stable key per OS, and the user data downloads exactly the version of that upload
 * (stacks/user-data.ts). A template change is a new version of the same key: a new version id,
 * hence a new launch template version, hence an instance refresh. The previous versions stay for
 * NONCURRENT_VERSION_DAYS, so an instance launched from an older launch template version (a
 * rollback, or a launch in the window before the group switches) still finds its bundle.
 *
 * Terraform deviation: the key must never change (a new key replaces the aws_s3_object, and the
 * provider deletes every version of the old key with it); only the content does.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import type { OperatingSystem } from "./config/schema";
import { policyDocument, type Statement } from "./iam-policy";
import { resourceName } from "./naming";
import { BUNDLE_KEY_PREFIX, renderTemplateBundle, type TemplateBundleLocation } from "./user-data";

/** Days a replaced bundle version is kept: how far back a launch template version still boots. */
export const NONCURRENT_VERSION_DAYS = 90;
/** Days before S3 drops the parts of an upload that never completed. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

export interface TemplateStoreProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly os: OperatingSystem;
  readonly kmsKeyArn: string;
}

export class TemplateStore extends Construct {
  readonly bucket: S3Bucket;
  readonly versioning: S3BucketVersioningA;
  readonly object: S3Object;
  /** For renderUserData({ bundle }): bucket, stable key, and the version id of this upload. */
  readonly location: TemplateBundleLocation;
  private readonly account: AwsAccount;
  private readonly kmsKeyArn: string;

  constructor(scope: Construct, id: string, props: TemplateStoreProps) {
    super(scope, id);
    this.account = props.account;
    this.kmsKeyArn = props.kmsKeyArn;
    const bundle = renderTemplateBundle(props.os);
    // Bucket names are global: the account ID makes it unique (36 + 1 + 12 <= 63 characters).
    this.bucket = new S3Bucket(this, "Bucket", {
      bucket: `${resourceName(props.resourcePrefix, "templates", 36)}-${props.account.accountId}`,
      forceDestroy: true, // generated artifacts only: destroying the environment must not stall on them (or their versions)
    });
    new S3BucketPublicAccessBlock(this, "PublicAccessBlock", {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }],
    });
    // Every upload of the bundle is a version; launch template versions name theirs.
    this.versioning = new S3BucketVersioningA(this, "Versioning", {
      bucket: this.bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
    new S3BucketLifecycleConfiguration(this, "Lifecycle", {
      bucket: this.bucket.id,
      rule: [
        {
          id: "expire-replaced-bundles",
          status: "Enabled",
          // A prefix, not an empty filter: provider 6 warns about a rule without one.
          filter: [{ prefix: BUNDLE_KEY_PREFIX }],
          noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_VERSION_DAYS }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS }],
        },
      ],
      dependsOn: [this.versioning], // as the provider documents: versioning first
    });
    const tlsOnly = policyDocument(this, "BucketPolicyDocument", [
      {
        sid: "DenyWithoutTls",
        effect: "Deny",
        actions: ["s3:*"],
        principals: [{ type: "AWS", identifiers: ["*"] }],
        resources: [this.bucket.arn, `${this.bucket.arn}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
    ]);
    new S3BucketPolicy(this, "BucketPolicy", { bucket: this.bucket.id, policy: tlsOnly.json });
    this.object = new S3Object(this, "Bundle", {
      bucket: this.bucket.id,
      key: bundle.key,
      contentBase64: bundle.content.toString("base64"),
      contentType: "application/x-tar",
      // Encrypted with the key from the first upload, and versioned from it (a real version id).
      dependsOn: [encryption, this.versioning],
    });
    this.location = { bucket: this.bucket.id, key: bundle.key, versionId: this.object.versionId };
  }

  /** For the servers' role: read versions of this bundle's key (and decrypt them through S3 only). */
  readStatements(): Statement[] {
    return [
      // GetObject with a versionId is authorized as s3:GetObjectVersion; the user data always names one.
      { sid: "ReadTemplateBundleVersions", effect: "Allow", actions: ["s3:GetObjectVersion"], resources: [`${this.bucket.arn}/${this.object.key}`] },
      {
        sid: "DecryptTemplateBundleViaS3",
        effect: "Allow",
        actions: ["kms:Decrypt"],
        resources: [this.kmsKeyArn],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`s3.${this.account.region}.${this.account.dnsSuffix}`] }],
      },
    ];
  }
}
