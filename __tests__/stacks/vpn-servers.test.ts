/** Servers: security group, launch template, user data, ASG, lifecycle hook, AMI by OS/architecture. */
import { gunzipSync, gzipSync } from "node:zlib";
import { amiParameterName, rootDeviceName, serverImage } from "../../stacks/server-image";
import { unescapeFunctionArgument } from "../../stacks/terraform-strings";
import { renderTemplateBundle, renderUserData } from "../../stacks/user-data";
import { lifecycleHeartbeatSeconds } from "../../stacks/vpn-servers";
import { byPath, EXAMPLE_ENVIRONMENTS, list, logicalId, only, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

/** EC2's limit on user data, counted before base64 (here: the gzip'd bytes). */
const USER_DATA_LIMIT_BYTES = 16 * 1024;

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

/** The text inside `${base64gzip("...")}`, as Terraform will read it (references left as ${...}). */
function userDataText(lt: Record<string, any>): string {
  const match = /^\$\{base64gzip\("(.*)"\)\}$/s.exec(lt.user_data);
  if (!match) throw new Error(`user_data is not base64gzip("..."): ${String(lt.user_data).slice(0, 80)}`);
  return unescapeFunctionArgument(match[1]);
}

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("server security group: UDP WireGuard from anywhere, agent port from the VPC only, egress all, nothing else", () => {
    const { tf, env } = synths[name];
    const sg = ref(tf, "aws_security_group", "VpnServers/SecurityGroup", "id");
    const ingress = list(tf, "aws_vpc_security_group_ingress_rule").filter((r) => r.security_group_id === sg);
    const egress = list(tf, "aws_vpc_security_group_egress_rule").filter((r) => r.security_group_id === sg);
    const brief = (r: Record<string, any>) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4 ?? r.referenced_security_group_id];
    expect(ingress.map(brief).sort()).toEqual([["tcp", 8080, 8080, env.settings.vpc_cidr], ["udp", 51820, 51820, "0.0.0.0/0"]]);
    expect(egress.map(brief)).toEqual([["-1", undefined, undefined, "0.0.0.0/0"]]);
  });

  test("launch template: IMDSv2 required, hop limit 1, detailed monitoring, encrypted gp3 root, no public IP", () => {
    const { tf, env } = synths[name];
    const lt = only(tf, "aws_launch_template");
    expect(lt.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1, instance_metadata_tags: "enabled" });
    expect(lt.monitoring).toEqual({ enabled: true });
    expect(lt.block_device_mappings).toEqual([
      { device_name: "/dev/xvda", ebs: { encrypted: "true", volume_type: "gp3", volume_size: env.settings.root_volume_gb, delete_on_termination: "true" } },
    ]);
    expect(lt.network_interfaces).toEqual([
      { device_index: 0, associate_public_ip_address: "false", delete_on_termination: "true", security_groups: [ref(tf, "aws_security_group", "VpnServers/SecurityGroup", "id")] },
    ]);
    expect(lt.vpc_security_group_ids).toBeUndefined();
    expect(lt).toMatchObject({ instance_type: env.settings.instance_type, update_default_version: true });
    expect(lt.iam_instance_profile).toEqual({ arn: ref(tf, "aws_iam_instance_profile", "VpnServers/Role/InstanceProfile", "arn") });
  });

  test("AMI: resolved by EC2 at launch from the OS vendor's SSM public parameter (no lookup at plan time)", () => {
    const { tf, env } = synths[name];
    const lt = only(tf, "aws_launch_template");
    expect(lt.image_id).toBe("resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
    expect(lt.image_id).toBe(`resolve:ssm:${amiParameterName(env.settings.os, env.architecture)}`);
    // Nothing reads the parameter while planning: a new AMI release plans no change.
    expect(list(tf, "aws_ssm_parameter", "data")).toEqual([]);
    expect(lt.block_device_mappings[0].device_name).toBe("/dev/xvda");
  });

  test("user data: base64gzip of the settings plus the template bundle download, gzip'd well under EC2's 16 KB", () => {
    const { tf, env } = synths[name];
    const text = userDataText(only(tf, "aws_launch_template"));
    expect(text).toMatch(/^#cloud-config\n/);
    expect(text).toContain(`WG_HA_ASG_NAME=${env.resourcePrefix}-servers\n`);
    expect(text).toContain(`WG_HA_LIFECYCLE_HOOK=${env.resourcePrefix}-drain\n`);
    expect(text).toContain(`WG_HA_EFS_ID=${ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "id")}\n`);
    expect(text).toContain(`WG_HA_ENDPOINT=${ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "dns_name")}:51820\n`);
    expect(text).toContain(`WG_HA_LOG_GROUP=${ref(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup", "name")}\n`);
    // The bundle's exact S3 version: a content change is a new version id, so a new launch template version.
    const bundle = renderTemplateBundle(env.settings.os);
    expect(text).toContain(
      `aws s3api get-object --region eu-west-1 --bucket ${ref(tf, "aws_s3_bucket", "VpnServers/Templates/Bucket", "id")} --key ${bundle.key} ` +
        `--version-id '${ref(tf, "aws_s3_object", "VpnServers/Templates/Bundle", "version_id")}' /run/wg-ha-templates.tar`,
    );
    // Size with realistic placeholders for the values Terraform fills in.
    const rendered = renderUserData({
      env,
      efsFileSystemId: "fs-0123456789abcdef0",
      endpoint: `${env.resourcePrefix}-nlb-0123456789abcdef.elb.${env.settings.region}.amazonaws.com`,
      asgName: `${env.resourcePrefix}-servers`,
      lifecycleHookName: `${env.resourcePrefix}-drain`,
      logGroupName: `/wg-ha/${name}/servers`,
      // S3 version ids are up to 1024 bytes; the ones S3 hands out are 32 characters.
      bundle: { bucket: `${env.resourcePrefix}-templates-123456789012`, key: bundle.key, versionId: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH" },
    });
    const gzipped = gzipSync(Buffer.from(rendered));
    expect(gunzipSync(gzipped).toString()).toBe(rendered);
    expect(gzipped.length).toBeLessThan(USER_DATA_LIMIT_BYTES);
    expect(Buffer.byteLength(rendered)).toBeLessThan(USER_DATA_LIMIT_BYTES); // even before gzip
  });

  test("Auto Scaling group: literal name, private subnets, ELB health checks, latest template version, rolling refresh", () => {
    const { tf, env } = synths[name];
    const s = env.settings;
    const asg = only(tf, "aws_autoscaling_group");
    expect(asg).toMatchObject({
      name: `${env.resourcePrefix}-servers`,
      min_size: s.asg_min,
      max_size: s.asg_max,
      desired_capacity: env.asgDesired,
      health_check_type: "ELB",
      health_check_grace_period: 300,
      default_instance_warmup: s.instance_warmup_seconds,
      target_group_arns: [ref(tf, "aws_lb_target_group", "LoadBalancer/TargetGroup", "arn")],
      launch_template: {
        id: ref(tf, "aws_launch_template", "VpnServers/LaunchTemplate", "id"),
        version: ref(tf, "aws_launch_template", "VpnServers/LaunchTemplate", "latest_version"),
      },
      instance_refresh: {
        strategy: "Rolling",
        preferences: { min_healthy_percentage: 100, max_healthy_percentage: 200, instance_warmup: "180", skip_matching: true },
      },
      metrics_granularity: "1Minute",
    });
    expect(s.asg_min).toBeGreaterThanOrEqual(2);
    expect(asg.vpc_zone_identifier).toEqual(
      Array.from({ length: s.availability_zone_count }, (_, i) => ref(tf, "aws_subnet", `Network/PrivateSubnets/Subnet${i}`, "id")),
    );
    expect(asg.launch_template.version).not.toMatch(/\$Latest|\$Default/);
    expect(asg.enabled_metrics).toEqual(expect.arrayContaining(["GroupDesiredCapacity", "GroupInServiceInstances", "GroupMinSize", "GroupMaxSize"]));
    expect(asg.enabled_metrics.every((m: string) => m.startsWith("Group"))).toBe(true);
    // The scaling policies own desired capacity unless asg_desired is set.
    expect(asg.lifecycle).toEqual({ ignore_changes: ["desired_capacity"] });
    // Servers boot only once EFS mount targets, the NAT routes, the S3 endpoint and the template bundle exist.
    const azs = Array.from({ length: s.availability_zone_count }, (_, i) => i);
    expect([...asg.depends_on].sort()).toEqual([
      `aws_s3_object.${logicalId(tf, "aws_s3_object", "VpnServers/Templates/Bundle")}`,
      `aws_vpc_endpoint.${logicalId(tf, "aws_vpc_endpoint", "Network/S3Endpoint")}`,
      ...azs.map((i) => `aws_efs_mount_target.${logicalId(tf, "aws_efs_mount_target", `SharedStorage/MountTarget${i}`)}`),
      ...azs.map((i) => `aws_route.${logicalId(tf, "aws_route", `Network/PrivateSubnets/DefaultRoute${i}`)}`),
    ].sort());
  });

  test("ASG tags propagate at launch: Name, environment and the role tag the admin role keys on", () => {
    const { tf, env } = synths[name];
    const tags = only(tf, "aws_autoscaling_group").tag as Array<Record<string, unknown>>;
    expect(tags).toEqual(expect.arrayContaining([
      { key: "Name", value: `${env.resourcePrefix}-server`, propagate_at_launch: true },
      { key: "wg-ha:environment", value: name, propagate_at_launch: true },
      { key: "wg-ha:role", value: "vpn-server", propagate_at_launch: true },
      { key: "environment", value: name, propagate_at_launch: true },
    ]));
    expect(tags.every((t) => t.propagate_at_launch === true)).toBe(true);
  });

  test("termination lifecycle hook: literal name, heartbeat = drain + 60 s, CONTINUE by default", () => {
    const { tf, env } = synths[name];
    expect(only(tf, "aws_autoscaling_lifecycle_hook")).toEqual({
      name: `${env.resourcePrefix}-drain`,
      autoscaling_group_name: ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name"),
      lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeat_timeout: 90,
      default_result: "CONTINUE",
    });
  });

  test("servers' log group /wg-ha/<env>/servers: KMS-encrypted, retention", () => {
    const { tf, env } = synths[name];
    expect(byPath(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup/LogGroup")).toEqual({
      name: `/wg-ha/${name}/servers`,
      kms_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn"),
      retention_in_days: env.settings.log_retention_days,
    });
  });
});

test("prod keeps 365 days of logs and 3 servers minimum; dev 30 days", () => {
  expect(only(synths.prod.tf, "aws_autoscaling_group")).toMatchObject({ min_size: 3, max_size: 9, desired_capacity: 3 });
  expect(list(synths.prod.tf, "aws_cloudwatch_log_group").map((g) => g.retention_in_days)).toEqual([365, 365]);
  expect(list(synths.dev.tf, "aws_cloudwatch_log_group").map((g) => g.retention_in_days)).toEqual([30, 30]);
});

test.each([
  ["amazon-linux-2023", "c7gn.large", "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64", "/dev/xvda"],
  ["amazon-linux-2023", "c6in.large", "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", "/dev/xvda"],
  ["amazon-linux-2", "t4g.small", "resolve:ssm:/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2", "/dev/xvda"],
  ["ubuntu-22.04", "c7gn.large", "resolve:ssm:/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id", "/dev/sda1"],
])("%s on %s: image_id %s, root %s", async (os, instanceType, imageId, device) => {
  const { tf } = await synthSettings(`os = "${os}"\ninstance_type = "${instanceType}"`);
  const lt = only(tf, "aws_launch_template");
  expect(lt.image_id).toBe(imageId);
  expect(lt.block_device_mappings[0].device_name).toBe(device);
  expect(list(tf, "aws_ssm_parameter", "data")).toEqual([]);
});

test.each([
  ["ubuntu-22.04", "x86_64", "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id", "/dev/sda1"],
  ["ubuntu-22.04", "arm64", "/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id", "/dev/sda1"],
  ["amazon-linux-2023", "x86_64", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", "/dev/xvda"],
  ["amazon-linux-2", "arm64", "/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2", "/dev/xvda"],
] as const)("AMI for %s on %s", (os, arch, parameter, device) => {
  expect(amiParameterName(os, arch)).toBe(parameter);
  expect(rootDeviceName(os)).toBe(device);
  expect(serverImage(os, arch)).toEqual({ parameterName: parameter, imageId: `resolve:ssm:${parameter}`, rootDeviceName: device });
  expect(serverImage(os, arch).imageId).toMatch(/^resolve:ssm:\/aws\/service\/(canonical|ami-amazon-linux-latest)\//);
});

test("asg_desired set: the config owns desired capacity (no ignore_changes)", async () => {
  const { tf } = await synthSettings("asg_min = 2\nasg_max = 6\nasg_desired = 4");
  const asg = only(tf, "aws_autoscaling_group");
  expect(asg.desired_capacity).toBe(4);
  expect(asg.lifecycle).toBeUndefined();
});

test("lifecycle heartbeat stays within AWS's 30-7200 s", () => {
  expect(lifecycleHeartbeatSeconds(30)).toBe(90);
  expect(lifecycleHeartbeatSeconds(0)).toBe(60);
  expect(lifecycleHeartbeatSeconds(3600)).toBe(3660);
  expect(lifecycleHeartbeatSeconds(7200)).toBe(7200);
});
