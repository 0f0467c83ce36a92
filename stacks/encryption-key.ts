/**
 * The environment's customer-managed KMS key: encrypts EFS, the log groups (VPC flow logs,
 * servers) and the alarm SNS topic. One key per environment keeps the key policy in one place
 * and costs one key-month; destroying an environment schedules its key for deletion.
 */
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import { policyDocument } from "./iam-policy";

export interface EncryptionKeyProps {
  readonly account: AwsAccount;
  /** `<name_prefix>-<environment>`: the alias is alias/<resourcePrefix>. */
  readonly resourcePrefix: string;
  /** Log groups allowed to use the key, e.g. /wg-ha/dev/* (matched on the logs encryption context). */
  readonly logGroupNamePattern: string;
  /** @default 30 (the maximum: time to notice a mistaken destroy) */
  readonly deletionWindowDays?: number;
}

/**
 * Key administration for the account root, i.e. for IAM principals the account's own policies
 * allow (without this statement IAM policies cannot grant access to the key). Listed, not
 * `kms:*`, so every key policy passes the no-wildcard-action rule.
 */
export const KEY_ADMIN_ACTIONS = [
  "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
  "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
  "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
  "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:RetireGrant",
];

export class EncryptionKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const { account } = props;
    const policy = policyDocument(this, "KeyPolicy", [
      {
        sid: "AccountAdministersKey",
        effect: "Allow",
        actions: KEY_ADMIN_ACTIONS,
        principals: [{ type: "AWS", identifiers: [account.rootArn] }],
        resources: ["*"], // in a key policy "*" means this key
      },
      {
        sid: "CloudWatchLogsEncryptsThisEnvironmentsLogGroups",
        effect: "Allow",
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        principals: [{ type: "Service", identifiers: [account.servicePrincipal("logs", true)] }],
        resources: ["*"],
        condition: [
          {
            test: "ArnLike",
            variable: "kms:EncryptionContext:aws:logs:arn",
            values: [account.arn("logs", `log-group:${props.logGroupNamePattern}`)],
          },
        ],
      },
      {
        // Alarms publish to the encrypted SNS topic: CloudWatch needs a data key for it. As in
        // AWS's documented key policy, no condition here (it is not documented that CloudWatch
        // sends aws:SourceAccount on these calls): the topic policy limits who may publish.
        sid: "CloudWatchAlarmsPublishToEncryptedTopic",
        effect: "Allow",
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        principals: [{ type: "Service", identifiers: [account.servicePrincipal("cloudwatch")] }],
        resources: ["*"],
      },
    ]);
    this.key = new KmsKey(this, "Key", {
      description: `${props.resourcePrefix}: EFS, logs and alarm topic encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowDays ?? 30,
      policy: policy.json,
    });
    this.alias = new KmsAlias(this, "Alias", { name: `alias/${props.resourcePrefix}`, targetKeyId: this.key.keyId });
  }

  get arn(): string {
    return this.key.arn;
  }
}
