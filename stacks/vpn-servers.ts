/**
 * The VPN servers: security group, log group, launch template (IMDSv2, encrypted gp3, no public
 * IP, gzip'd user data), the Auto Scaling group across the private subnets with ELB health
 * checks and instance refresh, the termination lifecycle hook the agent uses to drain, and the
 * S3 bundle of templates/ the servers download at first boot (template-store.ts).
 */
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingLifecycleHook } from "@cdktf/provider-aws/lib/autoscaling-lifecycle-hook";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn, type ITerraformDependable, Token } from "cdktf";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import type { EnvironmentConfig } from "./config/environment";
import { EncryptedLogGroup, logGroupName } from "./log-group";
import { ASG_ENABLED_METRICS } from "./metrics";
import { serverImage } from "./server-image";
import { ServerRole } from "./server-role";
import { TemplateStore } from "./template-store";
import type { Statement } from "./iam-policy";
import { ENVIRONMENT_TAG, ROLE_TAG, SERVER_ROLE } from "./tags";
import { escapeForFunctionArgument } from "./terraform-strings";
import { renderUserData } from "./user-data";

/** Seconds the hook waits beyond the agent's drain, to complete the action itself. */
export const LIFECYCLE_HEARTBEAT_MARGIN_SECONDS = 60;

/** Heartbeat of the termination hook: drain + margin, within AWS's 30-7200 s. */
export function lifecycleHeartbeatSeconds(drainSeconds: number): number {
  return Math.min(7200, Math.max(30, drainSeconds + LIFECYCLE_HEARTBEAT_MARGIN_SECONDS));
}

export interface VpnServersProps {
  readonly env: EnvironmentConfig;
  readonly account: AwsAccount;
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly privateSubnetIds: string[];
  readonly targetGroupArn: string;
  /** NLB DNS name: written into client configs. */
  readonly endpoint: string;
  readonly efsFileSystemId: string;
  readonly efsStatement: Statement;
  readonly kmsKeyArn: string;
  /** What must exist before the first server boots (EFS mount targets, NAT routes, the S3 endpoint). */
  readonly bootDependencies?: ITerraformDependable[];
}

export class VpnServers extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly logGroup: EncryptedLogGroup;
  readonly role: ServerRole;
  readonly launchTemplate: LaunchTemplate;
  readonly autoScalingGroup: AutoscalingGroup;
  readonly lifecycleHook: AutoscalingLifecycleHook;
  readonly templates: TemplateStore;
  /** Literal: the user data, IAM and alarms name the ASG before it exists (no cycle). */
  readonly asgName: string;

  constructor(scope: Construct, id: string, props: VpnServersProps) {
    super(scope, id);
    const { env } = props;
    const s = env.settings;
    const prefix = env.resourcePrefix;
    if (!Token.isUnresolved(s.asg_min) && s.high_availability && s.asg_min < 2) {
      throw new Error(`VpnServers ${this.node.path}: asg_min (${s.asg_min}) must be >= 2 in a highly available environment`);
    }
    this.asgName = `${prefix}-servers`;
    const hookName = `${prefix}-drain`;
    const serverTags = { Name: `${prefix}-server`, ...s.tags, [ENVIRONMENT_TAG]: env.name, [ROLE_TAG]: SERVER_ROLE };

    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      name: `${prefix}-server`,
      description: "wg-ha VPN servers: WireGuard from anywhere, agent from the VPC, no SSH",
      vpcId: props.vpcId,
      tags: { Name: `${prefix}-server` },
    });
    // The NLB preserves client IPs for UDP: packets arrive from the clients' own addresses.
    new VpcSecurityGroupIngressRule(this, "IngressWireGuard", {
      securityGroupId: this.securityGroup.id,
      description: "WireGuard clients (source IP preserved by the NLB)",
      ipProtocol: "udp",
      fromPort: s.wireguard_port,
      toPort: s.wireguard_port,
      cidrIpv4: "0.0.0.0/0",
    });
    new VpcSecurityGroupIngressRule(this, "IngressAgentFromVpc", {
      securityGroupId: this.securityGroup.id,
      description: "Health checks and /metrics from inside the VPC (NLB nodes)",
      ipProtocol: "tcp",
      fromPort: s.agent_port,
      toPort: s.agent_port,
      cidrIpv4: props.vpcCidr,
    });
    new VpcSecurityGroupEgressRule(this, "EgressAll", {
      securityGroupId: this.securityGroup.id,
      description: "Tunnelled client traffic (NAT), package mirrors, SSM, CloudWatch, EFS",
      ipProtocol: "-1",
      cidrIpv4: "0.0.0.0/0",
    });

    this.logGroup = new EncryptedLogGroup(this, "LogGroup", {
      name: logGroupName(s.name_prefix, env.name, "servers"),
      kmsKeyArn: props.kmsKeyArn,
      retentionDays: s.log_retention_days,
    });
    // templates/ does not fit in 16 KB of user data: the servers download it from S3 (its exact version).
    this.templates = new TemplateStore(this, "Templates", {
      account: props.account,
      resourcePrefix: prefix,
      os: s.os,
      kmsKeyArn: props.kmsKeyArn,
    });
    this.role = new ServerRole(this, "Role", {
      account: props.account,
      resourcePrefix: prefix,
      asgName: this.asgName,
      efsStatement: props.efsStatement,
      logGroupArns: this.logGroup.resourceArns,
      extraStatements: this.templates.readStatements(),
    });
    // The AMI is resolved by EC2 at each launch: a new AMI release does not change the template.
    const image = serverImage(s.os, env.architecture);

    const userData = renderUserData({
      env,
      efsFileSystemId: props.efsFileSystemId,
      endpoint: props.endpoint,
      asgName: this.asgName,
      lifecycleHookName: hookName,
      logGroupName: this.logGroup.name,
      bundle: this.templates.location,
    });
    this.launchTemplate = new LaunchTemplate(this, "LaunchTemplate", {
      name: `${prefix}-server`,
      description: "wg-ha VPN server",
      imageId: image.imageId,
      instanceType: s.instance_type,
      updateDefaultVersion: true,
      iamInstanceProfile: { arn: this.role.instanceProfile.arn },
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required", // IMDSv2 only
        httpPutResponseHopLimit: 1, // no containers: IMDS stays on the host
        instanceMetadataTags: "enabled",
      },
      monitoring: { enabled: true }, // 1-minute metrics: the 60 s scaling alarms need them
      blockDeviceMappings: [
        {
          deviceName: image.rootDeviceName,
          ebs: { volumeSize: s.root_volume_gb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      networkInterfaces: [
        {
          deviceIndex: 0,
          associatePublicIpAddress: "false", // private subnets; egress through NAT
          deleteOnTermination: "true",
          securityGroups: [this.securityGroup.id],
        },
      ],
      userData: Fn.base64gzip(escapeForFunctionArgument(userData)),
      tagSpecifications: ["volume", "network-interface"].map((resourceType) => ({ resourceType, tags: serverTags })),
      tags: { Name: `${prefix}-server` },
    });

    this.autoScalingGroup = new AutoscalingGroup(this, "AutoScalingGroup", {
      name: this.asgName,
      vpcZoneIdentifier: props.privateSubnetIds,
      minSize: s.asg_min,
      maxSize: s.asg_max,
      desiredCapacity: env.asgDesired,
      healthCheckType: "ELB",
      healthCheckGracePeriod: s.health_check_grace_period_seconds,
      defaultInstanceWarmup: s.instance_warmup_seconds,
      targetGroupArns: [props.targetGroupArn],
      // latest_version, not "$Latest": only a changed version number starts an instance refresh.
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      instanceRefresh: {
        strategy: "Rolling",
        preferences: {
          minHealthyPercentage: 100, // launch replacements first: never below capacity
          maxHealthyPercentage: 200,
          instanceWarmup: String(s.instance_warmup_seconds),
          skipMatching: true,
        },
      },
      enabledMetrics: ASG_ENABLED_METRICS,
      metricsGranularity: "1Minute",
      tag: Object.entries(serverTags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
      dependsOn: [...(props.bootDependencies ?? []), this.templates.object],
      // Without an explicit asg_desired the scaling policies own the desired capacity: an apply
      // must not reset it to asg_min (that would drop live flows). With one, the config wins.
      lifecycle: s.asg_desired === undefined ? { ignoreChanges: ["desired_capacity"] } : undefined,
    });

    this.lifecycleHook = new AutoscalingLifecycleHook(this, "TerminationHook", {
      name: hookName,
      autoscalingGroupName: this.autoScalingGroup.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: lifecycleHeartbeatSeconds(s.drain_seconds),
      defaultResult: "CONTINUE", // if the agent never answers, terminate anyway
    });
  }
}
