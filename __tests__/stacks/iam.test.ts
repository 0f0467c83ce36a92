/** IAM: least-privilege instance role, MFA-gated admin role, and no wildcard action in any Allow. */
import { METRICS_NAMESPACE } from "../../stacks/metrics";
import { all, byPath, EXAMPLE_ENVIRONMENTS, type Json, list, only, policyDocumentOf, ref, statement, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

const PARTITION = "${data.aws_partition.Account_Partition_C6C7AA7F.partition}";
const ACCOUNT = "${data.aws_caller_identity.Account_Caller_E4559C81.account_id}";
const asgArn = (name: string) => `arn:${PARTITION}:autoscaling:eu-west-1:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/wg-ha-${name}-servers`;

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("no policy document allows a wildcard action; wildcards appear only in the TLS-only Deny statements", () => {
    const { tf } = synths[name];
    const docs = all(tf, "aws_iam_policy_document", "data");
    expect(Object.keys(docs).length).toBeGreaterThanOrEqual(9);
    for (const doc of Object.values(docs)) {
      for (const st of doc.statement) {
        const wild = (st.actions ?? []).filter((a: string) => a === "*" || a.endsWith(":*"));
        if ((st.effect ?? "Allow") === "Allow") expect({ sid: st.sid, wild, notActions: st.not_actions }).toEqual({ sid: st.sid, wild: [], notActions: undefined });
        else expect({ sid: st.sid, wild: wild.length === 1 && ["*", "s3:*"].includes(wild[0]) }).toEqual({ sid: "DenyWithoutTls", wild: true });
      }
    }
  });

  test("instance role: EC2 trust, SSM core, EFS client on this file system, own lifecycle, own namespace and log group", () => {
    const { tf } = synths[name];
    const role = byPath(tf, "aws_iam_role", "VpnServers/Role/Role");
    expect(role.name).toBe(`wg-ha-${name}-server`);
    const trust = policyDocumentOf(tf, role.assume_role_policy);
    expect(trust.statement).toEqual([
      expect.objectContaining({ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["ec2.${data.aws_partition.Account_Partition_C6C7AA7F.dns_suffix}"] }] }),
    ]);
    expect(only(tf, "aws_iam_role_policy_attachment")).toEqual({
      role: ref(tf, "aws_iam_role", "VpnServers/Role/Role", "name"),
      policy_arn: `arn:${PARTITION}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "VpnServers/Role/Policy").policy);
    const fsArn = ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "arn");
    expect(statement(policy, "MountSharedStore")).toEqual({
      sid: "MountSharedStore",
      effect: "Allow",
      actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
      resources: [fsArn],
    });
    expect(statement(policy, "CompleteOwnLifecycleAction")).toMatchObject({ actions: ["autoscaling:CompleteLifecycleAction"], resources: [asgArn(name)] });
    expect(statement(policy, "PutMetricsInOwnNamespace")).toEqual({
      sid: "PutMetricsInOwnNamespace",
      effect: "Allow",
      actions: ["cloudwatch:PutMetricData"],
      resources: ["*"],
      condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [METRICS_NAMESPACE] }],
    });
    const logGroup = ref(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup", "arn");
    // The CloudWatch agent's own actions only: streams in the group Terraform created (never
    // CreateLogGroup or PutRetentionPolicy), its tags for AutoScalingGroupName (not DescribeVolumes).
    expect(statement(policy, "WriteOwnLogGroup")).toEqual({
      sid: "WriteOwnLogGroup",
      effect: "Allow",
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup, `${logGroup}:*`],
    });
    expect(statement(policy, "ReadInstanceTags")).toEqual({ sid: "ReadInstanceTags", effect: "Allow", actions: ["ec2:DescribeTags"], resources: ["*"] });
    const actions = policy.statement.flatMap((s: { actions: string[] }) => s.actions);
    for (const never of ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DescribeLogStreams", "logs:DescribeLogGroups", "ec2:DescribeVolumes", "ssm:GetParameter"]) {
      expect(actions).not.toContain(never);
    }
    expect(actions.filter((a: string) => /^(logs|cloudwatch):/.test(a)).sort()).toEqual(["cloudwatch:PutMetricData", "logs:CreateLogStream", "logs:PutLogEvents"]);
    // ... and that group is the one the servers' CloudWatch agent writes to (WG_HA_LOG_GROUP in the
    // user data), encrypted with the environment's key, with Terraform's retention.
    const userData = byPath(tf, "aws_launch_template", "VpnServers/LaunchTemplate").user_data;
    expect(userData).toContain(`WG_HA_LOG_GROUP=${ref(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup", "name")}\\n`);
    expect(byPath(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup")).toEqual({
      name: `/wg-ha/${name}/servers`,
      kms_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn"),
      retention_in_days: synths[name].env.settings.log_retention_days,
    });
    // Versions of the bundle's key only (the user data always names a version id): no s3:GetObject.
    expect(statement(policy, "ReadTemplateBundleVersions")).toEqual({
      sid: "ReadTemplateBundleVersions",
      effect: "Allow",
      actions: ["s3:GetObjectVersion"],
      resources: [`${ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "arn")}/${ref(tf, "aws_s3_object", "VpnServers/Templates/Bundle", "key")}`],
    });
    expect(actions.filter((a: string) => a.startsWith("s3:"))).toEqual(["s3:GetObjectVersion"]);
    expect(statement(policy, "DecryptTemplateBundleViaS3")).toMatchObject({
      actions: ["kms:Decrypt"],
      resources: [ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn")],
      condition: [{ test: "StringEquals", variable: "kms:ViaService", values: ["s3.eu-west-1.${data.aws_partition.Account_Partition_C6C7AA7F.dns_suffix}"] }],
    });
    // Resource "*" only where the action has no resource type.
    const starred = policy.statement.filter((s: { resources: string[] }) => s.resources.includes("*")).map((s: { actions: string[] }) => s.actions).flat();
    expect(starred.sort()).toEqual(["cloudwatch:PutMetricData", "ec2:DescribeTags"]);
    // Every EFS action anywhere is scoped to this file system.
    for (const doc of Object.values(all(tf, "aws_iam_policy_document", "data"))) {
      for (const st of doc.statement) {
        if ((st.actions ?? []).some((a: string) => a.startsWith("elasticfilesystem:"))) expect(st.resources).toEqual([fsArn]);
      }
    }
    expect(byPath(tf, "aws_iam_instance_profile", "VpnServers/Role/InstanceProfile")).toEqual({
      name: `wg-ha-${name}-server`,
      role: ref(tf, "aws_iam_role", "VpnServers/Role/Role", "name"),
    });
  });

  test("admin role: trust requires MFA (present, < 1 h old); default principal is this account's root", () => {
    const { tf } = synths[name];
    const role = byPath(tf, "aws_iam_role", "AdminAccess/Role");
    expect(role).toMatchObject({ name: `wg-ha-${name}-admin`, max_session_duration: 3600 });
    const trust = policyDocumentOf(tf, role.assume_role_policy);
    expect(trust.statement).toEqual([
      {
        sid: "AssumeWithRecentMfaOnly",
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "AWS", identifiers: [`arn:${PARTITION}:iam::${ACCOUNT}:root`] }],
        condition: [
          { test: "Bool", variable: "aws:MultiFactorAuthPresent", values: ["true"] },
          { test: "NumericLessThan", variable: "aws:MultiFactorAuthAge", values: ["3600"] },
        ],
      },
    ]);
  });

  test("admin permissions: SSM sessions to this environment's tagged servers, own sessions, this ASG", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "AdminAccess/Policy").policy);
    expect(statement(policy, "StartSessionOnThisEnvironmentsServers")).toMatchObject({
      actions: ["ssm:StartSession"],
      resources: [`arn:${PARTITION}:ec2:eu-west-1:${ACCOUNT}:instance/*`],
      condition: expect.arrayContaining([
        { test: "StringEquals", variable: "ssm:resourceTag/wg-ha:environment", values: [name] },
        { test: "StringEquals", variable: "ssm:resourceTag/wg-ha:role", values: ["vpn-server"] },
      ]),
    });
    expect(statement(policy, "StartSessionWithTheseDocuments").resources).toEqual([
      `arn:${PARTITION}:ssm:eu-west-1::document/AWS-StartInteractiveCommand`,
      `arn:${PARTITION}:ssm:eu-west-1:${ACCOUNT}:document/SSM-SessionManagerRunShell`,
    ]);
    expect(statement(policy, "EndOwnSessions")).toMatchObject({
      actions: ["ssm:TerminateSession", "ssm:ResumeSession"],
      resources: [`arn:${PARTITION}:ssm:eu-west-1:${ACCOUNT}:session/&{aws:userid}-*`],
    });
    expect(statement(policy, "FindServersAndSessions")).toMatchObject({ resources: ["*"] });
    expect(statement(policy, "FindServersAndSessions").actions.every((a: string) => /:(Describe|Get)/.test(a))).toBe(true);
  });

  test("admin permissions: operate this ASG only (capacity, refreshes, processes, one instance, its lifecycle action)", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "AdminAccess/Policy").policy);
    expect(statement(policy, "OperateThisGroup")).toEqual({
      sid: "OperateThisGroup",
      effect: "Allow",
      actions: [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:StartInstanceRefresh",
        "autoscaling:CancelInstanceRefresh",
        "autoscaling:SuspendProcesses",
        "autoscaling:ResumeProcesses",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
        "autoscaling:CompleteLifecycleAction",
      ],
      resources: [asgArn(name)],
    });
    // Every autoscaling action that is not a Describe is in that statement, and nowhere else.
    const writes = policy.statement.flatMap((s: Json) => (s.actions as string[]).filter((a) => a.startsWith("autoscaling:") && !a.includes(":Describe")).map((a) => [s.sid, a]));
    expect(writes.every(([sid]: string[]) => sid === "OperateThisGroup")).toBe(true);
    expect(writes).toHaveLength(7);
  });

  test("admin permissions: read-only diagnostics (target health, scaling activities, hooks, refreshes, alarms, metrics, server logs)", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "AdminAccess/Policy").policy);
    expect(statement(policy, "ReadLoadBalancing")).toEqual({
      sid: "ReadLoadBalancing",
      effect: "Allow",
      actions: [
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
      ],
      resources: ["*"], // ELB Describe* have no resource-level permissions
    });
    expect(statement(policy, "ReadAutoScaling")).toEqual({
      sid: "ReadAutoScaling",
      effect: "Allow",
      actions: [
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeLifecycleHooks",
        "autoscaling:DescribeInstanceRefreshes",
      ],
      resources: ["*"],
    });
    expect(statement(policy, "ReadMetrics")).toEqual({ sid: "ReadMetrics", effect: "Allow", actions: ["cloudwatch:GetMetricData"], resources: ["*"] });
    // DescribeAlarms supports the alarm resource type: this environment's alarms only.
    expect(statement(policy, "ReadThisEnvironmentsAlarms")).toEqual({
      sid: "ReadThisEnvironmentsAlarms",
      effect: "Allow",
      actions: ["cloudwatch:DescribeAlarms"],
      resources: [`arn:${PARTITION}:cloudwatch:eu-west-1:${ACCOUNT}:alarm:wg-ha-${name}-*`],
    });
    const logGroup = ref(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup", "arn");
    expect(statement(policy, "ReadServerLogs")).toEqual({
      sid: "ReadServerLogs",
      effect: "Allow",
      actions: ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartLiveTail"],
      resources: [logGroup, `${logGroup}:*`],
    });
    // Every alarm the stack creates is one the role may describe.
    for (const alarm of list(tf, "aws_cloudwatch_metric_alarm")) expect(alarm.alarm_name).toMatch(new RegExp(`^wg-ha-${name}-`));
  });

  test("admin permissions: AWS-RunShellScript on this environment's tagged servers only, and reading the results", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "AdminAccess/Policy").policy);
    expect(statement(policy, "RunShellOnThisEnvironmentsServers")).toEqual({
      sid: "RunShellOnThisEnvironmentsServers",
      effect: "Allow",
      actions: ["ssm:SendCommand"],
      resources: [`arn:${PARTITION}:ec2:eu-west-1:${ACCOUNT}:instance/*`],
      condition: [
        { test: "StringEquals", variable: "ssm:resourceTag/wg-ha:environment", values: [name] },
        { test: "StringEquals", variable: "ssm:resourceTag/wg-ha:role", values: ["vpn-server"] },
      ],
    });
    expect(statement(policy, "RunShellWithThisDocumentOnly")).toEqual({
      sid: "RunShellWithThisDocumentOnly",
      effect: "Allow",
      actions: ["ssm:SendCommand"],
      resources: [`arn:${PARTITION}:ssm:eu-west-1::document/AWS-RunShellScript`],
    });
    expect(statement(policy, "ReadCommandResults")).toEqual({
      sid: "ReadCommandResults",
      effect: "Allow",
      actions: ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations"],
      resources: ["*"],
    });
    // SendCommand appears only in those two statements (never on "*", never another document).
    const sendCommand = policy.statement.filter((s: Json) => s.actions.includes("ssm:SendCommand")).map((s: Json) => s.sid);
    expect(sendCommand).toEqual(["RunShellOnThisEnvironmentsServers", "RunShellWithThisDocumentOnly"]);
  });

  test("admin permissions: Resource \"*\" only for read actions without resource-level permissions; nothing else", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "AdminAccess/Policy").policy);
    const starred = policy.statement.filter((s: Json) => s.resources.includes("*"));
    for (const s of starred) expect({ sid: s.sid, resources: s.resources, condition: s.condition }).toEqual({ sid: s.sid, resources: ["*"], condition: undefined });
    const starredActions: string[] = starred.flatMap((s: Json) => s.actions);
    expect(starredActions.filter((a) => !/:(Describe|Get|List)[A-Za-z]+$/.test(a))).toEqual([]);
    expect(starredActions.sort()).toEqual([
      "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeInstanceRefreshes",
      "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeScalingActivities",
      "cloudwatch:GetMetricData",
      "ec2:DescribeInstances",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
      "ssm:DescribeInstanceInformation", "ssm:DescribeSessions", "ssm:GetCommandInvocation", "ssm:GetConnectionStatus", "ssm:ListCommandInvocations",
    ]);
    // The role's complete set of actions: nothing beyond what the runbooks use.
    const all = new Set<string>(policy.statement.flatMap((s: Json) => s.actions));
    expect([...all].sort()).toEqual([
      ...starredActions,
      "ssm:StartSession", "ssm:TerminateSession", "ssm:ResumeSession", "ssm:SendCommand",
      "autoscaling:SetDesiredCapacity", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:SuspendProcesses",
      "autoscaling:ResumeProcesses", "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:CompleteLifecycleAction",
      "cloudwatch:DescribeAlarms", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartLiveTail",
    ].sort());
    for (const never of ["ssm:GetParameter", "logs:PutLogEvents", "cloudwatch:SetAlarmState", "autoscaling:UpdateAutoScalingGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "ec2:TerminateInstances"]) {
      expect(all.has(never)).toBe(false);
    }
  });

  test("no literal account ID: every ARN takes the account from aws_caller_identity", () => {
    const { text } = synths[name];
    expect(text).not.toMatch(/(?<![\d.])\d{12}(?![\d.])/);
    expect(list(synths[name].tf, "aws_caller_identity", "data")).toHaveLength(1);
  });
});

test("admin_principals: exactly those principals may assume the admin role", async () => {
  const { tf } = await synthSettings('admin_principals = ["arn:aws:iam::123456789012:role/platform"]');
  const trust = policyDocumentOf(tf, byPath(tf, "aws_iam_role", "AdminAccess/Role").assume_role_policy);
  expect(trust.statement[0].principals).toEqual([{ type: "AWS", identifiers: ["arn:aws:iam::123456789012:role/platform"] }]);
  expect(trust.statement[0].condition).toContainEqual({ test: "Bool", variable: "aws:MultiFactorAuthPresent", values: ["true"] });
});
