/**
 * Where the servers fetch templates/ at first boot: the server scripts, agent and units no longer
 * fit EC2's 16 KB of user data, so the stack uploads renderTemplateBundle(os) (a deterministic tar
 * with a content-addressed key) to a private, KMS-encrypted, TLS-only bucket, and the user data
 * carries only the settings and the download (stacks/user-data.ts, bundle mode). A template change
 * is a new key, hence a new launch template version, hence an instance refresh.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import type { OperatingSystem } from "./config/schema";
import { policyDocument, type Statement } from "./iam-policy";
import { resourceName } from "./naming";
import { renderTemplateBundle, type TemplateBundleLocation } from "./user-data";

export interface TemplateStoreProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly os: OperatingSystem;
  readonly kmsKeyArn: string;
}

export class TemplateStore extends Construct {
  readonly bucket: S3Bucket;
  readonly object: S3Object;
  /** For renderUserData({ bundle }). */
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
      forceDestroy: true, // generated artifacts only: destroying the environment must not stall on them
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
      dependsOn: [encryption], // encrypted with the key from the first upload
    });
    this.location = { bucket: this.bucket.id, key: bundle.key };
  }

  /** For the servers' role: read this bundle (and decrypt it through S3 only). */
  readStatements(): Statement[] {
    return [
      { sid: "ReadTemplateBundle", effect: "Allow", actions: ["s3:GetObject"], resources: [`${this.bucket.arn}/${this.object.key}`] },
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
