/**
 * The VPN servers' instance role, least privilege: SSM Session Manager (managed core policy),
 * the EFS client actions on this file system, completing this ASG's lifecycle action, and the
 * CloudWatch agent's writes to its own namespace and log group. No wildcard action anywhere.
 */
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import { policyDocument, serviceTrust, type Statement } from "./iam-policy";
import { METRICS_NAMESPACE } from "./metrics";

export interface ServerRoleProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  /** Literal ASG name: the lifecycle statement is scoped to its ARN. */
  readonly asgName: string;
  /** EFS client statement from SharedStorage.clientStatement(). */
  readonly efsStatement: Statement;
  /** The servers' log group and its streams. */
  readonly logGroupArns: string[];
  /** More statements, each already scoped (e.g. reading the template bundle). @default - none */
  readonly extraStatements?: Statement[];
}

/** `arn:...:autoScalingGroup:*:autoScalingGroupName/<name>`: the ASG by name, any UUID. */
export function autoScalingGroupArn(account: AwsAccount, asgName: string): string {
  return account.arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${asgName}`);
}

export class ServerRole extends Construct {
  readonly role: IamRole;
  readonly instanceProfile: IamInstanceProfile;

  constructor(scope: Construct, id: string, props: ServerRoleProps) {
    super(scope, id);
    const { account } = props;
    const name = `${props.resourcePrefix}-server`;
    this.role = new IamRole(this, "Role", {
      name,
      description: "wg-ha VPN servers: SSM, EFS client, lifecycle completion, CloudWatch agent",
      assumeRolePolicy: serviceTrust(this, "Trust", account.servicePrincipal("ec2"), account.accountId).json,
    });
    new IamRolePolicyAttachment(this, "SsmCore", {
      role: this.role.name,
      policyArn: `arn:${account.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });
    const document = policyDocument(this, "PolicyDocument", [
      props.efsStatement,
      {
        sid: "CompleteOwnLifecycleAction",
        effect: "Allow",
        actions: ["autoscaling:CompleteLifecycleAction"],
        resources: [autoScalingGroupArn(account, props.asgName)],
      },
      // The CloudWatch agent's own actions, and no more (templates/cloudwatch/, docs/monitoring.md):
      // its memory/disk/swap/procstat metrics; its log streams in the group Terraform created (no
      // logs:CreateLogGroup: a deleted group must not come back unencrypted and without retention;
      // no PutRetentionPolicy: the config sets no retention). The health agent's metrics need no
      // permission: CloudWatch Logs extracts them from the EMF lines in the log group.
      {
        sid: "PutMetricsInOwnNamespace",
        effect: "Allow",
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"], // PutMetricData has no resource type; the namespace condition scopes it
        condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [METRICS_NAMESPACE] }],
      },
      {
        sid: "WriteOwnLogGroup",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: props.logGroupArns,
      },
      {
        // append_dimensions AutoScalingGroupName: the agent reads the aws:autoscaling:groupName tag
        // of its own instance (DescribeTags has no resource type). Not ec2:DescribeVolumes: that is
        // only for EBS volume dimensions, which the config does not ask for.
        sid: "ReadInstanceTags",
        effect: "Allow",
        actions: ["ec2:DescribeTags"],
        resources: ["*"],
      },
      ...(props.extraStatements ?? []),
    ]);
    new IamRolePolicy(this, "Policy", { name: "wg-ha-server", role: this.role.id, policy: document.json });
    this.instanceProfile = new IamInstanceProfile(this, "InstanceProfile", { name, role: this.role.name });
  }

  get arn(): string {
    return this.role.arn;
  }
}
