/**
 * The architecture diagram's model, read from one environment's synthesized Terraform JSON
 * (cdktf.out/stacks/<env>/cdk.tf.json): what exists, per AZ, with the names `terraform apply`
 * will create. Pure: no file access, no rendering (svg.ts draws it).
 *
 * Everything is derived from the JSON, never from the config, so the drawing shows what the
 * stack really builds: AZ count from the tiered subnets, NAT mode from the NAT gateways and the
 * private default routes, Elastic IPs from the NLB's subnet mappings, ports from the listener and
 * the target group, the server settings from the launch template's user data.
 */

/** The parts of cdk.tf.json the model reads. */
export interface SynthJson {
  readonly "//"?: { readonly metadata?: { readonly stackName?: string } };
  readonly provider?: { readonly aws?: ReadonlyArray<{ readonly region?: string }> };
  readonly resource?: Record<string, Record<string, Record<string, any>>>;
  readonly data?: Record<string, Record<string, Record<string, any>>>;
}

export interface Subnet {
  readonly name: string;
  readonly cidr: string;
}

export interface Zone {
  /** a, b, c: the letter the stack gives the AZ's subnets (stacks/network.ts). */
  readonly letter: string;
  /** The AZ's name when the config names it (eu-west-1a), else how the stack picks it. */
  readonly label: string;
  readonly publicSubnet: Subnet;
  readonly privateSubnet: Subnet;
  /** Name of the NAT gateway in this AZ's public subnet, if any. */
  readonly natGateway?: string;
  /** Name of the NAT gateway this AZ's private default route uses. */
  readonly egressNat?: string;
  /** The NLB has a node in this AZ's public subnet. */
  readonly loadBalancerNode: boolean;
  /** The NLB node here has an Elastic IP (subnet_mapping.allocation_id). */
  readonly elasticIp: boolean;
  /** An EFS mount target is in this AZ's private subnet. */
  readonly mountTarget: boolean;
  /** The Auto Scaling group launches servers into this AZ's private subnet. */
  readonly servers: boolean;
}

export interface Topology {
  readonly environment: string;
  readonly region: string;
  readonly vpc: { readonly name: string; readonly cidr: string; readonly flowLogGroup?: string };
  readonly internetGateway?: string;
  readonly zones: readonly Zone[];
  readonly natMode: "per-az" | "single" | "none";
  readonly loadBalancer: {
    readonly name: string;
    readonly internetFacing: boolean;
    readonly crossZone: boolean;
    readonly securityGroup?: string;
    readonly elasticIps: boolean;
  };
  readonly listener: { readonly protocol: string; readonly port: number };
  readonly targetGroup: {
    readonly name: string;
    readonly protocol: string;
    readonly port: number;
    readonly healthCheck: {
      readonly protocol: string;
      readonly port: string;
      readonly path?: string;
      readonly intervalSeconds: number;
      readonly healthyThreshold: number;
      readonly unhealthyThreshold: number;
    };
    readonly deregistrationDelaySeconds: number;
    readonly connectionTermination: boolean;
  };
  readonly servers: {
    readonly autoScalingGroup: string;
    readonly min: number;
    readonly max: number;
    readonly instanceType: string;
    /** From the AMI's SSM parameter (the launch template's resolve:ssm image_id), e.g. "Ubuntu 22.04". */
    readonly os: string;
    readonly healthCheckType: string;
    readonly gracePeriodSeconds?: number;
    readonly instanceRefresh: boolean;
    readonly lifecycleHook?: string;
    readonly securityGroup: string;
    readonly role?: string;
    /** The agent's TCP port (health check + /metrics) and who may reach it. */
    readonly agentPort: number;
    readonly agentFrom: string;
    /** From the settings file in the user data (templates/CONTRACT.md). */
    readonly settings: Readonly<Record<string, string>>;
  };
  readonly storage: {
    readonly name: string;
    readonly encrypted: boolean;
    readonly throughputMode?: string;
    readonly backups: boolean;
    /** The file-system policy denies access without TLS. */
    readonly tlsOnly: boolean;
    readonly securityGroup?: string;
    readonly nfsPort: number;
  };
  readonly key: { readonly alias: string; readonly rotation: boolean; readonly encrypts: readonly string[] };
  readonly templateBucket?: {
    readonly name: string;
    readonly key: string;
    /** Bucket versioning is on (each upload a version; servers fetch theirs). */
    readonly versioned: boolean;
    /** Days the lifecycle rule keeps replaced versions. */
    readonly noncurrentDays?: number;
    /** The private subnets reach S3 through a gateway endpoint. */
    readonly gatewayEndpoint: boolean;
  };
  readonly monitoring: {
    /** Alarms that notify the SNS topic (people). */
    readonly alarms: readonly string[];
    /** Alarms that drive the scaling policies. */
    readonly scalingAlarms: readonly string[];
    readonly dashboard?: string;
    readonly logGroups: readonly string[];
    readonly topic: string;
    readonly emailSubscription: boolean;
  };
  readonly admin?: {
    readonly role: string;
    readonly mfa: boolean;
    readonly mfaMaxAgeSeconds?: number;
    /** Every action its inline policies allow. */
    readonly actions: readonly string[];
  };
}

type Resources = Record<string, Record<string, any>>;

/** `${aws_subnet.X.id}` -> { type: "aws_subnet", id: "X", attr: "id" }. */
export function parseReference(value: unknown): { type: string; id: string; attr: string } | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^\$\{(?:data\.)?([a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z0-9_]+)\}$/.exec(value);
  return m ? { type: m[1], id: m[2], attr: m[3] } : undefined;
}

/** A Terraform expression shown to people: `${data.aws_caller_identity...account_id}` -> `<account>`. */
export function displayName(value: unknown): string {
  return String(value ?? "").replace(/\$\{[^}]*account_id\}/g, "<account>").replace(/\$\{[^}]*\}/g, "<computed>");
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected one ${what} in the synthesized stack, found ${items.length}`);
  return items[0];
}

const ORDINALS = ["1st", "2nd", "3rd", "4th", "5th", "6th"];

/**
 * The topology of one synthesized environment. Throws when the JSON lacks a part every wg-ha
 * stack has (an NLB, a target group, an ASG, EFS...): that is not a wg-ha stack.
 */
export function topologyFromSynth(tf: SynthJson): Topology {
  const res = (type: string): Resources => tf.resource?.[type] ?? {};
  const dataOf = (type: string): Resources => tf.data?.[type] ?? {};
  const values = (type: string) => Object.values(res(type));
  const entries = (type: string) => Object.entries(res(type));
  const nameTag = (item: Record<string, any> | undefined) => String(item?.tags?.Name ?? item?.name ?? "");
  const byRef = (value: unknown) => {
    const r = parseReference(value);
    return r ? res(r.type)[r.id] : undefined;
  };
  const refId = (value: unknown) => parseReference(value)?.id;

  const region = tf.provider?.aws?.[0]?.region ?? "";
  const environment = tf["//"]?.metadata?.stackName ?? "";
  const vpc = only(values("aws_vpc"), "aws_vpc");

  // Subnets by tier, paired by AZ (the same availability_zone expression or name).
  const subnets = entries("aws_subnet");
  const tier = (t: string) => subnets.filter(([, s]) => s.tags?.["wg-ha:tier"] === t);
  const publicSubnets = tier("public");
  const privateSubnets = tier("private");
  if (publicSubnets.length === 0 || publicSubnets.length !== privateSubnets.length) {
    throw new Error(`expected one public and one private subnet per AZ, found ${publicSubnets.length} and ${privateSubnets.length}`);
  }

  const lb = only(values("aws_lb"), "aws_lb");
  const lbSubnetIds = new Set<string>([
    ...((lb.subnets ?? []) as string[]).map(refId),
    ...((lb.subnet_mapping ?? []) as Array<Record<string, string>>).map((m) => refId(m.subnet_id)),
  ].filter((id): id is string => Boolean(id)));
  const eipSubnetIds = new Set<string>(
    ((lb.subnet_mapping ?? []) as Array<Record<string, string>>).filter((m) => m.allocation_id).map((m) => refId(m.subnet_id) ?? ""),
  );

  const nats = entries("aws_nat_gateway");
  const natInSubnet = (subnetId: string) => nats.find(([, n]) => refId(n.subnet_id) === subnetId);
  const routeTableOf = (subnetId: string) =>
    values("aws_route_table_association").find((a) => refId(a.subnet_id) === subnetId)?.route_table_id;
  const egressNatOf = (subnetId: string) => {
    const table = refId(routeTableOf(subnetId));
    const route = values("aws_route").find((r) => refId(r.route_table_id) === table && r.destination_cidr_block === "0.0.0.0/0");
    return route?.nat_gateway_id ? nameTag(byRef(route.nat_gateway_id)) : undefined;
  };

  const mountTargetSubnets = new Set(values("aws_efs_mount_target").map((m) => refId(m.subnet_id)));
  const asg = only(values("aws_autoscaling_group"), "aws_autoscaling_group");
  const asgSubnets = new Set(((asg.vpc_zone_identifier ?? []) as string[]).map(refId));

  const zones: Zone[] = publicSubnets.map(([pubId, pub], i) => {
    const privEntry = privateSubnets.find(([, p]) => p.availability_zone === pub.availability_zone) ?? privateSubnets[i];
    const [privId, priv] = privEntry;
    const letter = /-([a-z])$/.exec(nameTag(pub))?.[1] ?? String.fromCharCode(97 + i);
    const az = String(pub.availability_zone ?? "");
    const index = /element\([^,]+,\s*(\d+)\)/.exec(az)?.[1];
    const label = !az.includes("${")
      ? az
      : index !== undefined
        ? `${ORDINALS[Number(index)] ?? `#${Number(index) + 1}`} available AZ of ${region}`
        : `an AZ of ${region}`;
    const nat = natInSubnet(pubId);
    return {
      letter,
      label,
      publicSubnet: { name: nameTag(pub), cidr: String(pub.cidr_block) },
      privateSubnet: { name: nameTag(priv), cidr: String(priv.cidr_block) },
      natGateway: nat ? nameTag(nat[1]) : undefined,
      egressNat: egressNatOf(privId),
      loadBalancerNode: lbSubnetIds.has(pubId),
      elasticIp: eipSubnetIds.has(pubId),
      mountTarget: mountTargetSubnets.has(privId),
      servers: asgSubnets.has(privId),
    };
  });
  zones.sort((a, b) => a.letter.localeCompare(b.letter));
  const natMode = nats.length === 0 ? "none" : nats.length >= zones.length ? "per-az" : "single";

  const listener = only(values("aws_lb_listener"), "aws_lb_listener");
  const tg = only(values("aws_lb_target_group"), "aws_lb_target_group");
  const hc = tg.health_check ?? {};

  const lt = only(values("aws_launch_template"), "aws_launch_template");
  const settings = settingsFromUserData(String(lt.user_data ?? ""));
  // image_id = "resolve:ssm:<parameter>" (EC2 resolves it at launch); older synths read it through a data source.
  const resolved = /^resolve:ssm:(.+)$/.exec(String(lt.image_id ?? ""))?.[1];
  const amiParameter = resolved ?? Object.values(dataOf("aws_ssm_parameter")).map((p) => String(p.name ?? "")).find((n) => n.includes("/ami"));
  const serverSgRef = lt.network_interfaces?.[0]?.security_groups?.[0] ?? lt.vpc_security_group_ids?.[0];
  const serverSgId = refId(serverSgRef);
  const serverSg = byRef(serverSgRef);
  const ingress = values("aws_vpc_security_group_ingress_rule");
  const agentRule = ingress.find(
    (r) => refId(r.security_group_id) === serverSgId && r.ip_protocol === "tcp" && String(r.from_port) === String(hc.port),
  );
  const profile = byRef(lt.iam_instance_profile?.arn);
  const hook = values("aws_autoscaling_lifecycle_hook").find((h) => h.lifecycle_transition === "autoscaling:EC2_INSTANCE_TERMINATING");

  const efs = only(values("aws_efs_file_system"), "aws_efs_file_system");
  const efsSg = byRef(values("aws_efs_mount_target")[0]?.security_groups?.[0]);
  const nfsRule = ingress.find((r) => r.ip_protocol === "tcp" && r.from_port === 2049);
  const efsPolicyDoc = values("aws_efs_file_system_policy").map((p) => {
    const r = parseReference(p.policy);
    return r ? dataOf(r.type)[r.id] : undefined;
  })[0];
  const deniesWithoutTls = (doc: Record<string, any> | undefined) =>
    (doc?.statement ?? []).some(
      (s: Record<string, any>) =>
        s.effect === "Deny" && (s.condition ?? []).some((c: Record<string, any>) => c.variable === "aws:SecureTransport" && c.values?.[0] === "false"),
    );

  const kms = only(values("aws_kms_key"), "aws_kms_key");
  const alias = values("aws_kms_alias")[0];
  const keyId = entries("aws_kms_key")[0][0];
  const usesKey = (v: unknown) => typeof v === "string" && v.includes(`aws_kms_key.${keyId}.`);
  const encrypts = [
    values("aws_efs_file_system").some((f) => usesKey(f.kms_key_id)) ? "EFS" : "",
    values("aws_sns_topic").some((t) => usesKey(t.kms_master_key_id)) ? "SNS topic" : "",
    values("aws_cloudwatch_log_group").some((g) => usesKey(g.kms_key_id)) ? "log groups" : "",
    values("aws_s3_bucket_server_side_encryption_configuration").some((c) =>
      (c.rule ?? []).some((r: Record<string, any>) => usesKey(r.apply_server_side_encryption_by_default?.kms_master_key_id)),
    )
      ? "S3 templates bundle"
      : "",
  ].filter(Boolean);

  const bucket = values("aws_s3_bucket")[0];
  const object = values("aws_s3_object")[0];
  const versioned = values("aws_s3_bucket_versioning").some((v) => v.versioning_configuration?.status === "Enabled");
  const noncurrentDays = values("aws_s3_bucket_lifecycle_configuration")
    .flatMap((c) => c.rule ?? [])
    .map((r: Record<string, any>) => r.noncurrent_version_expiration?.[0]?.noncurrent_days)
    .find((d: unknown) => typeof d === "number");
  const gatewayEndpoint = values("aws_vpc_endpoint").some((e) => e.vpc_endpoint_type === "Gateway" && /\.s3$/.test(String(e.service_name)));

  const topicEntry = only(entries("aws_sns_topic"), "aws_sns_topic");
  const notifiesTopic = (a: Record<string, any>) =>
    (a.alarm_actions ?? []).some((x: string) => parseReference(x)?.type === "aws_sns_topic");
  const alarms = values("aws_cloudwatch_metric_alarm");
  const dashboard = values("aws_cloudwatch_dashboard")[0];

  const trustDocs = values("aws_iam_role").map((role) => {
    const r = parseReference(role.assume_role_policy);
    return { role, doc: r ? dataOf(r.type)[r.id] : undefined };
  });
  const mfaCondition = (doc: Record<string, any> | undefined, variable: string) =>
    (doc?.statement ?? []).flatMap((s: Record<string, any>) => s.condition ?? []).find((c: Record<string, any>) => c.variable === variable);
  const admin = trustDocs.find(({ doc }) => mfaCondition(doc, "aws:MultiFactorAuthPresent"));
  const mfaAge = admin ? mfaCondition(admin.doc, "aws:MultiFactorAuthAge") : undefined;
  const adminId = admin ? entries("aws_iam_role").find(([, r]) => r === admin.role)?.[0] : undefined;
  const adminActions = values("aws_iam_role_policy")
    .filter((p) => adminId !== undefined && parseReference(p.role)?.id === adminId)
    .flatMap((p) => {
      const r = parseReference(p.policy);
      const doc = r ? dataOf(r.type)[r.id] : undefined;
      return (doc?.statement ?? []).filter((st: Record<string, any>) => (st.effect ?? "Allow") === "Allow").flatMap((st: Record<string, any>) => st.actions ?? []);
    });

  return {
    environment,
    region,
    vpc: {
      name: nameTag(vpc),
      cidr: String(vpc.cidr_block),
      flowLogGroup: values("aws_flow_log").map((f) => nameTag(byRef(f.log_destination))).find(Boolean),
    },
    internetGateway: values("aws_internet_gateway").map(nameTag)[0],
    zones,
    natMode,
    loadBalancer: {
      name: String(lb.name),
      internetFacing: lb.internal === false,
      crossZone: lb.enable_cross_zone_load_balancing === true,
      securityGroup: nameTag(byRef(lb.security_groups?.[0])) || undefined,
      elasticIps: eipSubnetIds.size > 0,
    },
    listener: { protocol: String(listener.protocol), port: Number(listener.port) },
    targetGroup: {
      name: String(tg.name),
      protocol: String(tg.protocol),
      port: Number(tg.port),
      healthCheck: {
        protocol: String(hc.protocol ?? ""),
        port: String(hc.port ?? ""),
        path: hc.path,
        intervalSeconds: Number(hc.interval),
        healthyThreshold: Number(hc.healthy_threshold),
        unhealthyThreshold: Number(hc.unhealthy_threshold),
      },
      deregistrationDelaySeconds: Number(tg.deregistration_delay),
      connectionTermination: tg.connection_termination === true,
    },
    servers: {
      autoScalingGroup: String(asg.name),
      min: Number(asg.min_size),
      max: Number(asg.max_size),
      instanceType: String(lt.instance_type),
      os: osFromAmiParameter(amiParameter),
      healthCheckType: String(asg.health_check_type ?? "EC2"),
      gracePeriodSeconds: asg.health_check_grace_period,
      instanceRefresh: Boolean(asg.instance_refresh),
      lifecycleHook: hook?.name,
      securityGroup: nameTag(serverSg),
      role: profile ? String(profile.name) : undefined,
      agentPort: Number(hc.port),
      agentFrom: String(agentRule?.cidr_ipv4 ?? ""),
      settings,
    },
    storage: {
      name: nameTag(efs) || String(efs.creation_token),
      encrypted: efs.encrypted === true,
      throughputMode: efs.throughput_mode,
      backups: values("aws_efs_backup_policy").some((b) => b.backup_policy?.status === "ENABLED"),
      tlsOnly: deniesWithoutTls(efsPolicyDoc),
      securityGroup: nameTag(efsSg) || undefined,
      nfsPort: Number(nfsRule?.from_port ?? 2049),
    },
    key: { alias: String(alias?.name ?? ""), rotation: kms.enable_key_rotation === true, encrypts },
    templateBucket: bucket && object ? { name: displayName(bucket.bucket), key: String(object.key), versioned, noncurrentDays, gatewayEndpoint } : undefined,
    monitoring: {
      alarms: alarms.filter(notifiesTopic).map((a) => String(a.alarm_name)),
      scalingAlarms: alarms.filter((a) => !notifiesTopic(a)).map((a) => String(a.alarm_name)),
      dashboard: dashboard?.dashboard_name,
      logGroups: values("aws_cloudwatch_log_group").map((g) => String(g.name)),
      topic: String(topicEntry[1].name),
      emailSubscription: values("aws_sns_topic_subscription").some((s) => s.protocol === "email"),
    },
    admin: admin
      ? {
          role: String(admin.role.name),
          mfa: mfaCondition(admin.doc, "aws:MultiFactorAuthPresent")?.values?.[0] === "true",
          mfaMaxAgeSeconds: mfaAge ? Number(mfaAge.values?.[0]) : undefined,
          actions: [...new Set(adminActions.map(String))],
        }
      : undefined,
  };
}

/** The WG_* settings the user data writes to /etc/wg-ha/wg-ha.env (templates/CONTRACT.md). */
export function settingsFromUserData(userData: string): Record<string, string> {
  const settings: Record<string, string> = {};
  const text = userData.replace(/\\n/g, "\n");
  for (const m of text.matchAll(/^\s*(WG_[A-Z0-9_]+)=([^\n"\\]*)$/gm)) settings[m[1]] = m[2];
  return settings;
}

/** "/aws/service/canonical/ubuntu/server/22.04/..." -> "Ubuntu 22.04". */
export function osFromAmiParameter(parameter: string | undefined): string {
  if (!parameter) return "AMI";
  const ubuntu = /ubuntu\/server\/([0-9.]+)/.exec(parameter);
  if (ubuntu) return `Ubuntu ${ubuntu[1]}`;
  if (parameter.includes("al2023")) return "Amazon Linux 2023";
  if (parameter.includes("amzn2")) return "Amazon Linux 2";
  return "AMI";
}
