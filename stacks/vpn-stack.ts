/**
 * One environment of wg-ha: every AWS resource of the HA WireGuard cluster.
 * The stack only wires constructs together; each concern lives in its own file.
 * Construct IDs below are part of the contract: renaming one replaces its resources.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AdminAccess } from "./admin-access";
import { AwsAccount } from "./aws-account";
import { configureBackend } from "./backend";
import type { EnvironmentConfig } from "./config/environment";
import { EncryptionKey } from "./encryption-key";
import { LoadBalancer } from "./load-balancer";
import { logGroupName } from "./log-group";
import { Monitoring } from "./monitoring";
import { Network } from "./network";
import { Outputs } from "./outputs";
import { Scaling } from "./scaling";
import { checkSecurityRules } from "./security-rules";
import { SharedStorage } from "./shared-storage";
import { ENVIRONMENT_TAG } from "./tags";
import { VpnServers } from "./vpn-servers";

export class VpnStack extends TerraformStack {
  constructor(scope: Construct, env: EnvironmentConfig) {
    super(scope, env.name);
    const { settings: s, resourcePrefix: prefix } = env;
    configureBackend(this, env);
    new AwsProvider(this, "aws", {
      region: s.region,
      defaultTags: [{ tags: { ...s.tags, [ENVIRONMENT_TAG]: env.name } }],
    });

    const account = new AwsAccount(this, "Account", s.region);
    const key = new EncryptionKey(this, "EncryptionKey", {
      account,
      resourcePrefix: prefix,
      logGroupNamePattern: logGroupName(s.name_prefix, env.name, "*"),
    });
    const network = new Network(this, "Network", {
      account,
      resourcePrefix: prefix,
      vpcCidr: s.vpc_cidr,
      availabilityZones: s.availability_zones,
      availabilityZoneCount: s.availability_zone_count,
      natGatewayMode: s.nat_gateway_mode,
      kmsKeyArn: key.arn,
      flowLogGroupName: logGroupName(s.name_prefix, env.name, "vpc-flow-logs"),
      logRetentionDays: s.log_retention_days,
    });
    const storage = new SharedStorage(this, "SharedStorage", {
      resourcePrefix: prefix,
      vpcId: network.vpc.id,
      privateSubnetIds: network.privateSubnets.map((subnet) => subnet.id),
      kmsKeyArn: key.arn,
      os: s.os,
    });
    const loadBalancer = new LoadBalancer(this, "LoadBalancer", {
      resourcePrefix: prefix,
      vpcId: network.vpc.id,
      publicSubnetIds: network.publicSubnets.map((subnet) => subnet.id),
      wireguardPort: s.wireguard_port,
      agentPort: s.agent_port,
      healthCheckIntervalSec: s.health_check_interval_seconds,
      healthCheckTimeoutSec: s.health_check_timeout_seconds,
      healthyThreshold: s.health_check_healthy_threshold,
      unhealthyThreshold: s.health_check_unhealthy_threshold,
      deregistrationDelaySec: s.deregistration_delay_seconds,
      elasticIps: s.elastic_ips,
    });
    const servers = new VpnServers(this, "VpnServers", {
      env,
      account,
      vpcId: network.vpc.id,
      vpcCidr: s.vpc_cidr,
      privateSubnetIds: network.privateSubnets.map((subnet) => subnet.id),
      targetGroupArn: loadBalancer.targetGroup.arn,
      endpoint: loadBalancer.dnsName,
      efsFileSystemId: storage.fileSystem.id,
      efsStatement: storage.clientStatement(),
      kmsKeyArn: key.arn,
      bootDependencies: [...storage.mountTargets, ...network.privateEgressRoutes, network.s3Endpoint],
    });
    loadBalancer.allowTrafficTo(servers.securityGroup.id);
    storage.allowNfsFrom(servers.securityGroup.id);
    storage.restrictAccessTo(servers.role.arn);

    // Policies and alarms reference the ASG resource (not the literal name): created after it.
    const asgName = servers.autoScalingGroup.name;
    const scaling = new Scaling(this, "Scaling", { resourcePrefix: prefix, asgName, settings: s });
    const monitoring = new Monitoring(this, "Monitoring", {
      account,
      resourcePrefix: prefix,
      kmsKeyArn: key.arn,
      alarmEmail: s.alarm_email,
      loadBalancerArnSuffix: loadBalancer.loadBalancer.arnSuffix,
      targetGroupArnSuffix: loadBalancer.targetGroup.arnSuffix,
      asgName,
      asgMin: s.asg_min,
      availabilityZones: network.availabilityZones,
      environment: env.name,
      thresholds: scaling.thresholds,
    });
    const admin = new AdminAccess(this, "AdminAccess", {
      account,
      resourcePrefix: prefix,
      environment: env.name,
      adminPrincipals: s.admin_principals,
      asgName: servers.asgName,
      serverLogGroupArns: servers.logGroup.resourceArns,
      alarmNamePrefix: prefix,
    });
    new Outputs(this, "Outputs", {
      region: s.region,
      endpointDnsName: loadBalancer.dnsName,
      wireguardPort: s.wireguard_port,
      elasticIps: loadBalancer.elasticIps.map((eip) => eip.publicIp),
      dashboardUrl: monitoring.dashboardUrl,
      alarmTopicArn: monitoring.topic.arn,
      adminRoleArn: admin.arn,
      asgName: servers.asgName,
      autoScalingGroupName: servers.autoScalingGroup.name,
      efsFileSystemId: storage.fileSystem.id,
      loadBalancerArn: loadBalancer.loadBalancer.arn,
      loadBalancerName: loadBalancer.loadBalancer.name,
      targetGroupArn: loadBalancer.targetGroup.arn,
      logGroupName: servers.logGroup.name,
    });

    // The security rules (stacks/security-rules.ts) fail the synth on any violation.
    this.node.addValidation({
      validate: () =>
        checkSecurityRules(this.toTerraform(), { wireguardPort: s.wireguard_port }).map(
          (f) => `${f.rule} ${f.resource}: ${f.message}`,
        ),
    });
  }
}
