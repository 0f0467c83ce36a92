/**
 * The security rules (stacks/security-rules.ts): every example environment complies, and each
 * rule catches its non-compliant case (cdk-nag style: Compliance / Noncompliance per rule).
 */
import { checkSecurityRules, SECURITY_RULES, type SynthJson } from "../../stacks/security-rules";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Testing } from "cdktf";
import { VpnStack } from "../../stacks/vpn-stack";
import { exampleEnvironments, type Json, list, ref, synthExamples, testApp } from "./synth";

const ctx = { wireguardPort: 51820 };
const resource = (type: string, item: Record<string, unknown>): SynthJson => ({ resource: { [type]: { Bad: item } } });
const data = (type: string, item: Record<string, unknown>): SynthJson => ({ data: { [type]: { Bad: item } } });
const doc = (statement: Record<string, unknown>) => data("aws_iam_policy_document", { statement: [statement] });

test("every example environment complies with every rule", async () => {
  for (const { env, tf } of await synthExamples()) {
    expect({ env: env.name, findings: checkSecurityRules(tf, { wireguardPort: env.settings.wireguard_port }) }).toEqual({ env: env.name, findings: [] });
  }
});

test("the world (0.0.0.0/0) reaches only UDP 51820 (NLB and servers); only the servers' egress goes anywhere; no rule names port 22", async () => {
  for (const { env, tf } of await synthExamples()) {
    const rules = [
      ...list(tf, "aws_vpc_security_group_ingress_rule").map((r): Json => ({ ...r, direction: "ingress" })),
      ...list(tf, "aws_vpc_security_group_egress_rule").map((r): Json => ({ ...r, direction: "egress" })),
    ];
    const world = rules
      .filter((r) => r.cidr_ipv4 === "0.0.0.0/0" || r.cidr_ipv6 === "::/0")
      .map((r) => `${r.direction} ${r.ip_protocol} ${r.from_port ?? "all"} ${r.security_group_id}`)
      .sort();
    const sg = (path: string) => ref(tf, "aws_security_group", path, "id");
    expect({ env: env.name, world }).toEqual({
      env: env.name,
      world: [
        `egress -1 all ${sg("VpnServers/SecurityGroup")}`,
        `ingress udp 51820 ${sg("LoadBalancer/SecurityGroup")}`,
        `ingress udp 51820 ${sg("VpnServers/SecurityGroup")}`,
      ].sort(),
    });
    expect(rules.filter((r) => r.from_port <= 22 && 22 <= r.to_port)).toEqual([]);
    expect(rules.filter((r) => r.direction === "ingress" && r.ip_protocol === "-1")).toEqual([]);
    expect(list(tf, "aws_security_group").every((g) => g.ingress === undefined && g.egress === undefined)).toBe(true);
  }
});

test("every rule says what it checks and why", () => {
  for (const rule of SECURITY_RULES) {
    expect(rule.info.length).toBeGreaterThan(20);
    expect(rule.explanation.length).toBeGreaterThan(20);
  }
  expect(new Set(SECURITY_RULES.map((r) => r.id)).size).toBe(SECURITY_RULES.length);
});

test.each<[string, string, SynthJson]>([
  ["IAM1", "Allow *", doc({ effect: "Allow", actions: ["*"], resources: ["*"] })],
  ["IAM1", "Allow s3:*", doc({ actions: ["s3:*"], resources: ["*"] })],
  ["IAM1", "NotAction", doc({ effect: "Allow", not_actions: ["iam:*"], resources: ["*"] })],
  ["SG1", "TCP 8080 from the world", resource("aws_vpc_security_group_ingress_rule", { security_group_id: "x", ip_protocol: "tcp", from_port: 8080, to_port: 8080, cidr_ipv4: "0.0.0.0/0" })],
  ["SG1", "another UDP port from ::/0", resource("aws_vpc_security_group_ingress_rule", { security_group_id: "x", ip_protocol: "udp", from_port: 53, to_port: 53, cidr_ipv6: "::/0" })],
  ["SG2", "SSH from the VPC", resource("aws_vpc_security_group_ingress_rule", { security_group_id: "x", ip_protocol: "tcp", from_port: 22, to_port: 22, cidr_ipv4: "10.0.0.0/8" })],
  ["SG2", "a range that includes 22", resource("aws_vpc_security_group_egress_rule", { security_group_id: "x", ip_protocol: "tcp", from_port: 0, to_port: 1024, cidr_ipv4: "10.0.0.0/8" })],
  ["SG2", "ingress of every protocol", resource("aws_vpc_security_group_ingress_rule", { security_group_id: "x", ip_protocol: "-1", referenced_security_group_id: "y" })],
  ["SG2", "inline SSH rule", resource("aws_security_group", { ingress: [{ protocol: "tcp", from_port: 22, to_port: 22, cidr_blocks: ["10.0.0.0/8"] }] })],
  ["LOG1", "no KMS key", resource("aws_cloudwatch_log_group", { name: "x", retention_in_days: 30 })],
  ["LOG1", "no retention", resource("aws_cloudwatch_log_group", { name: "x", kms_key_id: "k" })],
  ["EC2-1", "IMDSv1 allowed", resource("aws_launch_template", { metadata_options: { http_tokens: "optional", http_put_response_hop_limit: 1 } })],
  ["EC2-1", "hop limit 2", resource("aws_launch_template", { metadata_options: { http_tokens: "required", http_put_response_hop_limit: 2 } })],
  ["EC2-1", "unencrypted root", resource("aws_launch_template", { metadata_options: { http_tokens: "required", http_put_response_hop_limit: 1 }, block_device_mappings: [{ device_name: "/dev/xvda", ebs: { volume_type: "gp3" } }] })],
  ["EC2-1", "public IP", resource("aws_launch_template", { metadata_options: { http_tokens: "required", http_put_response_hop_limit: 1 }, network_interfaces: [{ associate_public_ip_address: "true" }] })],
  ["EFS1", "unencrypted", resource("aws_efs_file_system", { encrypted: false })],
  ["EFS1", "AWS-managed key", resource("aws_efs_file_system", { encrypted: true })],
  ["SNS1", "plain topic", resource("aws_sns_topic", { name: "t" })],
  ["KMS1", "no rotation", resource("aws_kms_key", { enable_key_rotation: false })],
  ["ASG1", "EC2 health checks behind an NLB", resource("aws_autoscaling_group", { target_group_arns: ["tg"], health_check_type: "EC2" })],
])("%s catches: %s", (rule, _case, tf) => {
  expect(checkSecurityRules(tf, ctx).map((f) => f.rule)).toEqual([rule]);
});

test("compliant counterparts pass", () => {
  const compliant: SynthJson = {
    resource: {
      aws_vpc_security_group_ingress_rule: { Wg: { security_group_id: "x", ip_protocol: "udp", from_port: 51820, to_port: 51820, cidr_ipv4: "0.0.0.0/0" } },
      aws_vpc_security_group_egress_rule: { All: { security_group_id: "x", ip_protocol: "-1", cidr_ipv4: "0.0.0.0/0" } },
      aws_autoscaling_group: { Standalone: { health_check_type: "EC2" } },
    },
    data: { aws_iam_policy_document: { Deny: { statement: [{ effect: "Deny", actions: ["*"], resources: ["*"] }] } } },
  };
  expect(checkSecurityRules(compliant, ctx)).toEqual([]);
});

test("a violation fails synth (the rules run as a stack validation)", async () => {
  const [env] = await exampleEnvironments();
  const stack = new VpnStack(testApp(), env);
  new VpcSecurityGroupIngressRule(stack, "Ssh", { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" });
  expect(() => Testing.synth(stack, true)).toThrow(/SG1 aws_vpc_security_group_ingress_rule\.Ssh\S*: tcp 22-22 is open to 0\.0\.0\.0\/0/);
  expect(() => Testing.synth(stack, true)).toThrow(/SG2 aws_vpc_security_group_ingress_rule\.Ssh\S*: tcp 22-22 includes port 22/);
});
