/**
 * Security rules over a synthesized stack, cdk-nag style: each rule is a record with an id, what
 * it asserts and why, and a pure check of one resource that returns a problem or nothing.
 * VpnStack runs them as a validation, so a violation fails `synth` (and `Testing.synth(s, true)`).
 */

/** The parts of cdk.tf.json the rules read: `resource` and `data`, by type then logical ID. */
export interface SynthJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
}

export interface RuleContext {
  /** The only port the world may reach (UDP). */
  readonly wireguardPort: number;
}

export interface SecurityRule {
  readonly id: string;
  /** What is checked. */
  readonly info: string;
  /** Why it matters. */
  readonly explanation: string;
  /** Block and type it applies to, e.g. ["resource", "aws_kms_key"]. */
  readonly appliesTo: ReadonlyArray<readonly ["resource" | "data", string]>;
  /** A problem with this resource, or undefined when it complies. */
  check(item: Record<string, any>, ctx: RuleContext, type: string): string | undefined;
}

export interface Finding {
  readonly rule: string;
  /** `<type>.<logical id>` */
  readonly resource: string;
  readonly message: string;
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const wildcardAction = (action: string) => action === "*" || /^[a-z0-9-]+:\*$/i.test(action);

export const SECURITY_RULES: readonly SecurityRule[] = [
  {
    id: "IAM1",
    info: "No Allow statement grants a wildcard action (`*` or `service:*`) or uses NotAction.",
    explanation: "Least privilege: every permission is named, so a review sees exactly what a role can do.",
    appliesTo: [["data", "aws_iam_policy_document"]],
    check: (doc) => {
      for (const st of doc.statement ?? []) {
        if ((st.effect ?? "Allow") !== "Allow") continue;
        if (st.not_actions) return `statement ${st.sid ?? "(no sid)"} allows NotAction`;
        const bad = (st.actions ?? []).filter(wildcardAction);
        if (bad.length) return `statement ${st.sid ?? "(no sid)"} allows ${bad.join(", ")}`;
      }
      return undefined;
    },
  },
  {
    id: "SG1",
    info: "Only the WireGuard UDP port is open to the internet (0.0.0.0/0 or ::/0) for ingress.",
    explanation: "Everything else (agent, NFS) is reachable from inside the VPC or a security group only.",
    appliesTo: [["resource", "aws_vpc_security_group_ingress_rule"]],
    check: (rule, ctx) =>
      WORLD.has(rule.cidr_ipv4 ?? rule.cidr_ipv6) &&
      !(rule.ip_protocol === "udp" && rule.from_port === ctx.wireguardPort && rule.to_port === ctx.wireguardPort)
        ? `${rule.ip_protocol} ${rule.from_port}-${rule.to_port} is open to ${rule.cidr_ipv4 ?? rule.cidr_ipv6}`
        : undefined,
  },
  {
    id: "SG2",
    info: "No security group rule names port 22 (SSH), and no ingress rule admits every protocol.",
    explanation: "Administration goes through SSM Session Manager: IAM-authorized, MFA-gated, logged; no keys.",
    appliesTo: [
      ["resource", "aws_vpc_security_group_ingress_rule"],
      ["resource", "aws_vpc_security_group_egress_rule"],
      ["resource", "aws_security_group"],
    ],
    check: (item, _ctx, type) => {
      // Standalone rules use ip_protocol; inline blocks of aws_security_group use protocol.
      const inline = (kind: string) => (item[kind] ?? []).map((r: any) => ({ ...r, ip_protocol: r.protocol, kind }));
      const rules =
        type === "aws_security_group" ? [...inline("ingress"), ...inline("egress")]
        : [{ ...item, kind: type.endsWith("ingress_rule") ? "ingress" : "egress" }];
      for (const r of rules) {
        if (r.ip_protocol !== "udp" && r.from_port <= 22 && 22 <= r.to_port) return `${r.ip_protocol} ${r.from_port}-${r.to_port} includes port 22`;
        if (r.kind === "ingress" && r.ip_protocol === "-1") return "an ingress rule admits every protocol and port";
      }
      return undefined;
    },
  },
  {
    id: "LOG1",
    info: "Log groups are encrypted with a customer-managed KMS key and have a retention.",
    explanation: "Flow logs and server logs hold client addresses; unbounded retention costs money forever.",
    appliesTo: [["resource", "aws_cloudwatch_log_group"]],
    check: (lg) =>
      !lg.kms_key_id ? "no kms_key_id" : !lg.retention_in_days ? "no retention_in_days" : undefined,
  },
  {
    id: "EC2-1",
    info: "Launch templates require IMDSv2 with hop limit 1, encrypt gp3 volumes and assign no public IP.",
    explanation: "IMDSv1 and a hop limit > 1 expose instance credentials; servers sit behind the NLB and NAT.",
    appliesTo: [["resource", "aws_launch_template"]],
    check: (lt) => {
      const md = lt.metadata_options ?? {};
      if (md.http_tokens !== "required") return "metadata_options.http_tokens is not required";
      if (md.http_put_response_hop_limit !== 1) return "metadata_options.http_put_response_hop_limit is not 1";
      for (const bd of lt.block_device_mappings ?? []) {
        if (bd.ebs?.encrypted !== "true" || bd.ebs?.volume_type !== "gp3") return `${bd.device_name} is not an encrypted gp3 volume`;
      }
      if ((lt.network_interfaces ?? []).some((ni: any) => ni.associate_public_ip_address !== "false")) return "a network interface may get a public IP";
      return undefined;
    },
  },
  {
    id: "EFS1",
    info: "EFS file systems are encrypted with a customer-managed KMS key.",
    explanation: "The file system holds the cluster's WireGuard private key.",
    appliesTo: [["resource", "aws_efs_file_system"]],
    check: (fs) => (fs.encrypted !== true ? "not encrypted" : !fs.kms_key_id ? "no kms_key_id (AWS-managed key)" : undefined),
  },
  {
    id: "SNS1",
    info: "SNS topics are encrypted with a KMS key.",
    explanation: "Alarm messages describe the infrastructure.",
    appliesTo: [["resource", "aws_sns_topic"]],
    check: (topic) => (!topic.kms_master_key_id ? "no kms_master_key_id" : undefined),
  },
  {
    id: "KMS1",
    info: "KMS keys rotate yearly.",
    explanation: "Rotation limits what one leaked key version can decrypt.",
    appliesTo: [["resource", "aws_kms_key"]],
    check: (key) => (key.enable_key_rotation !== true ? "enable_key_rotation is not true" : undefined),
  },
  {
    id: "ASG1",
    info: "Auto Scaling groups behind a load balancer use ELB health checks.",
    explanation: "EC2 status checks do not see a dead WireGuard; the agent's health check does.",
    appliesTo: [["resource", "aws_autoscaling_group"]],
    check: (asg) => ((asg.target_group_arns ?? []).length && asg.health_check_type !== "ELB" ? "health_check_type is not ELB" : undefined),
  },
];

/** Every finding of every rule over a synthesized stack. */
export function checkSecurityRules(tf: SynthJson, ctx: RuleContext, rules: readonly SecurityRule[] = SECURITY_RULES): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    for (const [block, type] of rule.appliesTo) {
      for (const [id, item] of Object.entries(tf[block]?.[type] ?? {})) {
        const message = rule.check(item, ctx, type);
        if (message) findings.push({ rule: rule.id, resource: `${type}.${id}`, message });
      }
    }
  }
  return findings;
}
