/**
 * The admin role: assumed only with MFA, it opens SSM sessions (no SSH anywhere) to this
 * environment's VPN servers, ends its own sessions, and scales or refreshes this ASG.
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

export interface AdminAccessProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly environment: string;
  /** IAM principal ARNs allowed to assume the role. @default - this account's root (any IAM principal the account allows) */
  readonly adminPrincipals: readonly string[];
  readonly asgName: string;
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
      description: `wg-ha ${props.environment}: SSM sessions to the VPN servers and scaling (MFA required)`,
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
        // Describe/List calls have no resource-level permissions.
        sid: "FindServersAndSessions",
        effect: "Allow",
        actions: [
          "ssm:DescribeInstanceInformation", "ssm:DescribeSessions", "ssm:GetConnectionStatus",
          "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes",
        ],
        resources: ["*"],
      },
      {
        sid: "ScaleAndRefreshThisGroup",
        effect: "Allow",
        actions: ["autoscaling:SetDesiredCapacity", "autoscaling:StartInstanceRefresh"],
        resources: [autoScalingGroupArn(account, props.asgName)],
      },
    ]);
    new IamRolePolicy(this, "Policy", { name: "wg-ha-admin", role: this.role.id, policy: permissions.json });
  }

  get arn(): string {
    return this.role.arn;
  }
}
