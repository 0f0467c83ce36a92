/** EFS + KMS: CMK with rotation, encrypted EFS, mount targets, NFS from servers only, TLS-only policy, backups. */
import { EFS_CLIENT_ACTIONS, mountsAnonymously } from "../../stacks/shared-storage";
import { byPath, EXAMPLE_ENVIRONMENTS, list, only, policyDocumentOf, ref, statement, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("KMS key: rotation on, 30-day deletion window, alias/<prefix>", () => {
    const { tf, env } = synths[name];
    expect(only(tf, "aws_kms_key")).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(only(tf, "aws_kms_alias")).toEqual({ name: `alias/${env.resourcePrefix}`, target_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "key_id") });
  });

  test("key policy: account root administers; CloudWatch Logs only for this environment's log groups; CloudWatch alarms", () => {
    const { tf } = synths[name];
    const policy = policyDocumentOf(tf, only(tf, "aws_kms_key").policy);
    const root = statement(policy, "AccountAdministersKey");
    expect(root.principals).toEqual([{ type: "AWS", identifiers: ["arn:${data.aws_partition.Account_Partition_C6C7AA7F.partition}:iam::${data.aws_caller_identity.Account_Caller_E4559C81.account_id}:root"] }]);
    expect(root.actions).toEqual(expect.arrayContaining(["kms:Put*", "kms:ScheduleKeyDeletion", "kms:Decrypt"]));
    const logs = statement(policy, "CloudWatchLogsEncryptsThisEnvironmentsLogGroups");
    expect(logs.principals).toEqual([{ type: "Service", identifiers: ["logs.eu-west-1.${data.aws_partition.Account_Partition_C6C7AA7F.dns_suffix}"] }]);
    expect(logs.condition).toEqual([
      {
        test: "ArnLike",
        variable: "kms:EncryptionContext:aws:logs:arn",
        values: [`arn:\${data.aws_partition.Account_Partition_C6C7AA7F.partition}:logs:eu-west-1:\${data.aws_caller_identity.Account_Caller_E4559C81.account_id}:log-group:/wg-ha/${name}/*`],
      },
    ]);
    const alarms = statement(policy, "CloudWatchAlarmsPublishToEncryptedTopic");
    expect(alarms).toMatchObject({ actions: ["kms:Decrypt", "kms:GenerateDataKey*"] });
    expect(alarms.principals[0].identifiers[0]).toMatch(/^cloudwatch\./);
  });

  test("EFS: encrypted with the CMK, general purpose, elastic throughput, backups ENABLED", () => {
    const { tf } = synths[name];
    expect(only(tf, "aws_efs_file_system")).toMatchObject({
      encrypted: true,
      kms_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn"),
      performance_mode: "generalPurpose",
      throughput_mode: "elastic",
    });
    expect(only(tf, "aws_efs_backup_policy")).toEqual({
      file_system_id: ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "id"),
      backup_policy: { status: "ENABLED" },
    });
  });

  test("one mount target per private subnet, in the EFS security group", () => {
    const { tf, env } = synths[name];
    const targets = list(tf, "aws_efs_mount_target");
    expect(targets).toHaveLength(env.settings.availability_zone_count);
    targets.forEach((_, i) =>
      expect(byPath(tf, "aws_efs_mount_target", `SharedStorage/MountTarget${i}`)).toEqual({
        file_system_id: ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "id"),
        subnet_id: ref(tf, "aws_subnet", `Network/PrivateSubnets/Subnet${i}`, "id"),
        security_groups: [ref(tf, "aws_security_group", "SharedStorage/SecurityGroup", "id")],
      }),
    );
  });

  test("EFS security group: NFS (TCP 2049) only from the server security group, no other rule", () => {
    const { tf } = synths[name];
    const sg = ref(tf, "aws_security_group", "SharedStorage/SecurityGroup", "id");
    const rules = [...list(tf, "aws_vpc_security_group_ingress_rule"), ...list(tf, "aws_vpc_security_group_egress_rule")].filter((r) => r.security_group_id === sg);
    expect(rules).toEqual([
      expect.objectContaining({ ip_protocol: "tcp", from_port: 2049, to_port: 2049, referenced_security_group_id: ref(tf, "aws_security_group", "VpnServers/SecurityGroup", "id") }),
    ]);
    expect(rules[0].cidr_ipv4).toBeUndefined();
    const group = byPath(tf, "aws_security_group", "SharedStorage/SecurityGroup");
    expect(group.ingress).toBeUndefined();
    expect(group.egress).toBeUndefined();
  });

  test("file-system policy (Amazon Linux 2023, IAM mount): deny without TLS; only the server role may mount, through a mount target; nothing for anonymous clients", () => {
    const { tf, env } = synths[name];
    expect(env.settings.os).toBe("amazon-linux-2023");
    const fsArn = ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "arn");
    const policy = policyDocumentOf(tf, only(tf, "aws_efs_file_system_policy").policy);
    expect(statement(policy, "DenyWithoutTls")).toEqual({
      sid: "DenyWithoutTls",
      effect: "Deny",
      actions: ["*"],
      principals: [{ type: "AWS", identifiers: ["*"] }],
      resources: [fsArn],
      condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
    });
    expect(statement(policy, "ServersMountViaMountTarget")).toMatchObject({
      effect: "Allow",
      actions: EFS_CLIENT_ACTIONS,
      principals: [{ type: "AWS", identifiers: [ref(tf, "aws_iam_role", "VpnServers/Role/Role", "arn")] }],
      resources: [fsArn],
      condition: [{ test: "Bool", variable: "elasticfilesystem:AccessedViaMountTarget", values: ["true"] }],
    });
    // The only Allow names the server role: an anonymous (non-IAM) mount matches no Allow.
    const allows = policy.statement.filter((st: { effect: string }) => st.effect === "Allow");
    expect(allows.flatMap((st: { principals: Array<{ identifiers: string[] }> }) => st.principals.flatMap((p) => p.identifiers))).toEqual([
      ref(tf, "aws_iam_role", "VpnServers/Role/Role", "arn"),
    ]);
    for (const st of policy.statement) expect(st.resources).toEqual([fsArn]);
  });
});

test("Ubuntu 22.04 mounts anonymously over TLS: the policy must allow it (through a mount target), and says so", async () => {
  const { tf } = await synthSettings('os = "ubuntu-22.04"');
  const fsArn = ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "arn");
  const policy = policyDocumentOf(tf, only(tf, "aws_efs_file_system_policy").policy);
  expect(policy.statement.map((s: { sid: string }) => s.sid)).toEqual(["DenyWithoutTls", "ServersMountViaMountTarget", "AnonymousTlsMountViaMountTarget"]);
  expect(statement(policy, "AnonymousTlsMountViaMountTarget")).toMatchObject({
    effect: "Allow",
    actions: EFS_CLIENT_ACTIONS,
    principals: [{ type: "AWS", identifiers: ["*"] }],
    resources: [fsArn],
    condition: [{ test: "Bool", variable: "elasticfilesystem:AccessedViaMountTarget", values: ["true"] }],
  });
  expect(statement(policy, "DenyWithoutTls").condition).toEqual([{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }]);
});

test("which OS mounts with IAM: every OS but Ubuntu 22.04", () => {
  expect(mountsAnonymously("amazon-linux-2023")).toBe(false);
  expect(mountsAnonymously("amazon-linux-2")).toBe(false);
  expect(mountsAnonymously("ubuntu-22.04")).toBe(true);
});
