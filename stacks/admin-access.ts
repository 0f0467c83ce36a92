/**
 * The admin role: assumed only with MFA, it does what the runbooks (docs/operations.md,
 * docs/troubleshooting.md) need and no more: SSM sessions and AWS-RunShellScript commands on this
 * environment's VPN servers (no SSH anywhere), reading the load balancer's target health, the
 * group's activities, hooks and refreshes, this environment's alarms, metrics and the servers'
 * log group, and operating this ASG (capacity, refreshes, processes, one instance, its lifecycle
 * action). Describe/List/Get calls without resource-level permissions are on "*"; every action
 * that has a resource type is scoped to this environment's resource. No wildcard action.
 */
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import { policyDocument } from "./iam-policy";
import { autoScalingGroupArn } from "./server-role";
import { ENVIRONMENT_TAG, ROLE_TAG, SERVER_ROLE } from "./tags";

/** Seconds an MFA sign-in stays good for assuming the role (and the role session's length). */
export const MFA_MAX_AGE_SECONDS = 3600;
/** Session documents the role may use: an interactive shell and a one-off command. */
export const SESSION_DOCUMENTS = { shell: "SSM-SessionManagerRunShell", command: "AWS-StartInteractiveCommand" } as const;
/** The only Run Command document the role may send (AWS-owned). */
export const RUN_COMMAND_DOCUMENT = "AWS-RunShellScript";

/** What the role may do to this Auto Scaling group (autoScalingGroup resource: scoped to its ARN). */
export const ASG_OPERATOR_ACTIONS = [
  "autoscaling:SetDesiredCapacity",
  "autoscaling:StartInstanceRefresh",
  "autoscaling:CancelInstanceRefresh",
  "autoscaling:SuspendProcesses",
  "autoscaling:ResumeProcesses",
  "autoscaling:TerminateInstanceInAutoScalingGroup",
  "autoscaling:CompleteLifecycleAction",
] as const;

export interface AdminAccessProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly environment: string;
  /** IAM principal ARNs allowed to assume the role. @default - this account's root (any IAM principal the account allows) */
  readonly adminPrincipals: readonly string[];
  readonly asgName: string;
  /** The servers' log group and its streams (EncryptedLogGroup.resourceArns): read only. */
  readonly serverLogGroupArns: readonly string[];
  /** Name prefix of this environment's alarms (`<prefix>-*`), for cloudwatch:DescribeAlarms. */
  readonly alarmNamePrefix: string;
}

export class AdminAccess extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: AdminAccessProps) {
    super(scope, id);
    const { account } = props;
    const principals = props.adminPrincipals.length ? [...props.adminPrincipals] : [account.rootArn];
    const trust = policyDocument(this, "TrustPolicy", [
      {
        sid: "AssumeWithRecentMfaOnly",
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "AWS", identifiers: principals }],
        condition: [
          { test: "Bool", variable: "aws:MultiFactorAuthPresent", values: ["true"] },
          { test: "NumericLessThan", variable: "aws:MultiFactorAuthAge", values: [String(MFA_MAX_AGE_SECONDS)] },
        ],
      },
    ]);
    this.role = new IamRole(this, "Role", {
      name: `${props.resourcePrefix}-admin`,
      description: `wg-ha ${props.environment}: SSM sessions and commands on the VPN servers, read-only diagnostics, operating the ASG (MFA required)`,
      assumeRolePolicy: trust.json,
      maxSessionDuration: MFA_MAX_AGE_SECONDS,
    });

    const permissions = policyDocument(this, "PolicyDocument", [
      {
        sid: "StartSessionOnThisEnvironmentsServers",
        effect: "Allow",
        actions: ["ssm:StartSession"],
        resources: [account.arn("ec2", "instance/*")],
        condition: [
          { test: "StringEquals", variable: `ssm:resourceTag/${ENVIRONMENT_TAG}`, values: [props.environment] },
          { test: "StringEquals", variable: `ssm:resourceTag/${ROLE_TAG}`, values: [SERVER_ROLE] },
          // Also check the session document when none is named (the default shell document).
          { test: "BoolIfExists", variable: "ssm:SessionDocumentAccessCheck", values: ["true"] },
        ],
      },
      {
        sid: "StartSessionWithTheseDocuments",
        effect: "Allow",
        actions: ["ssm:StartSession"],
        resources: [
          account.arn("ssm", `document/${SESSION_DOCUMENTS.command}`, { account: "" }),
          account.arn("ssm", `document/${SESSION_DOCUMENTS.shell}`),
        ],
      },
      {
        sid: "EndOwnSessions",
        effect: "Allow",
        actions: ["ssm:TerminateSession", "ssm:ResumeSession"],
        resources: [account.arn("ssm", "session/&{aws:userid}-*")],
      },
      {
        // Run Command, like StartSession: on this environment's tagged servers (a separate
        // statement: the document carries no such tags) ...
        sid: "RunShellOnThisEnvironmentsServers",
        effect: "Allow",
        actions: ["ssm:SendCommand"],
        resources: [account.arn("ec2", "instance/*")],
        condition: [
          { test: "StringEquals", variable: `ssm:resourceTag/${ENVIRONMENT_TAG}`, values: [props.environment] },
          { test: "StringEquals", variable: `ssm:resourceTag/${ROLE_TAG}`, values: [SERVER_ROLE] },
        ],
      },
      {
        // ... with AWS-RunShellScript only (an AWS-owned document: no account in its ARN).
        sid: "RunShellWithThisDocumentOnly",
        effect: "Allow",
        actions: ["ssm:SendCommand"],
        resources: [account.arn("ssm", `document/${RUN_COMMAND_DOCUMENT}`, { account: "" })],
      },
      {
        // Describe/List/Get calls below have no resource-level permissions: Resource "*".
        sid: "FindServersAndSessions",
        effect: "Allow",
        actions: ["ssm:DescribeInstanceInformation", "ssm:DescribeSessions", "ssm:GetConnectionStatus", "ec2:DescribeInstances"],
        resources: ["*"],
      },
      {
        sid: "ReadCommandResults",
        effect: "Allow",
        actions: ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations"],
        resources: ["*"],
      },
      {
        sid: "ReadAutoScaling",
        effect: "Allow",
        actions: [
          "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeScalingActivities",
          "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeInstanceRefreshes",
        ],
        resources: ["*"],
      },
      {
        sid: "ReadLoadBalancing",
        effect: "Allow",
        actions: [
          "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups",
          "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
        ],
        resources: ["*"],
      },
      {
        sid: "ReadMetrics",
        effect: "Allow",
        actions: ["cloudwatch:GetMetricData"],
        resources: ["*"],
      },
      {
        // DescribeAlarms has the alarm resource type: this environment's alarms only (composite
        // alarms would need "*"; the stack has none).
        sid: "ReadThisEnvironmentsAlarms",
        effect: "Allow",
        actions: ["cloudwatch:DescribeAlarms"],
        resources: [account.arn("cloudwatch", `alarm:${props.alarmNamePrefix}-*`)],
      },
      {
        // FilterLogEvents (aws logs tail), GetLogEvents (one stream), StartLiveTail: the group and
        // its streams, read only.
        sid: "ReadServerLogs",
        effect: "Allow",
        actions: ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartLiveTail"],
        resources: [...props.serverLogGroupArns],
      },
      {
        sid: "OperateThisGroup",
        effect: "Allow",
        actions: [...ASG_OPERATOR_ACTIONS],
        resources: [autoScalingGroupArn(account, props.asgName)],
      },
    ]);
    new IamRolePolicy(this, "Policy", { name: "wg-ha-admin", role: this.role.id, policy: permissions.json });
  }

  get arn(): string {
    return this.role.arn;
  }
}
