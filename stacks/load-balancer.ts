/**
 * The internet-facing Network Load Balancer: UDP listener on the WireGuard port, cross-zone on,
 * UDP target group health-checked over HTTP by the servers' agent, connection termination on
 * deregistration (PersistentKeepalive pins a client's flow forever; only termination moves it).
 */
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Token } from "cdktf";
import { Construct } from "constructs";
import { NAME_LIMITS, resourceName } from "./naming";

/** The path the servers' agent answers 200 on when WireGuard is healthy (503 while draining). */
export const HEALTH_CHECK_PATH = "/health";

export interface LoadBalancerProps {
  readonly resourcePrefix: string;
  readonly vpcId: string;
  /** One public subnet per AZ, at least 2 for HA. */
  readonly publicSubnetIds: string[];
  readonly wireguardPort: number;
  /** TCP port of the servers' HTTP health agent. */
  readonly agentPort: number;
  /** Seconds between checks; NLB allows 5-300. */
  readonly healthCheckIntervalSec: number;
  readonly healthCheckTimeoutSec: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Seconds a deregistering server keeps its flows before the NLB terminates them. */
  readonly deregistrationDelaySec: number;
  /** One Elastic IP per AZ (subnet_mapping) for fixed endpoint addresses. @default false */
  readonly elasticIps?: boolean;
}

/** Every problem with the props (a backstop: users get these from stacks/config first). */
export function checkLoadBalancerProps(p: LoadBalancerProps): string[] {
  const problems: string[] = [];
  const check = (value: number, ok: (v: number) => boolean, message: string) => {
    if (!Token.isUnresolved(value) && !ok(value)) problems.push(message);
  };
  check(p.healthCheckIntervalSec, (v) => v >= 5 && v <= 300, `healthCheckIntervalSec (${p.healthCheckIntervalSec}) must be 5-300`);
  check(p.healthCheckTimeoutSec, (v) => v >= 2 && v <= p.healthCheckIntervalSec, `healthCheckTimeoutSec (${p.healthCheckTimeoutSec}) must be 2-${p.healthCheckIntervalSec} (the interval)`);
  check(p.unhealthyThreshold, (v) => v >= 2 && v <= 10, `unhealthyThreshold (${p.unhealthyThreshold}) must be 2-10`);
  check(p.healthyThreshold, (v) => v >= 2 && v <= 10, `healthyThreshold (${p.healthyThreshold}) must be 2-10`);
  check(p.wireguardPort, (v) => v !== p.agentPort, `wireguardPort and agentPort must differ (both ${p.agentPort})`);
  if (p.publicSubnetIds.length < 1) problems.push("publicSubnetIds must name at least one subnet");
  return problems;
}

export class LoadBalancer extends Construct {
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly listener: LbListener;
  readonly securityGroup: SecurityGroup;
  readonly elasticIps: Eip[] = [];
  private readonly props: LoadBalancerProps;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const problems = checkLoadBalancerProps(props);
    if (problems.length) throw new Error(`LoadBalancer ${this.node.path}: ${problems.join("; ")}`);
    this.props = props;
    const prefix = props.resourcePrefix;

    // An NLB gets security groups only at creation (adding them later replaces it): create with one.
    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      name: `${prefix}-nlb`,
      description: "wg-ha NLB: WireGuard UDP from anywhere; to the servers on UDP and the agent port",
      vpcId: props.vpcId,
      tags: { Name: `${prefix}-nlb` },
    });
    new VpcSecurityGroupIngressRule(this, "IngressWireGuard", {
      securityGroupId: this.securityGroup.id,
      description: "WireGuard clients",
      ipProtocol: "udp",
      fromPort: props.wireguardPort,
      toPort: props.wireguardPort,
      cidrIpv4: "0.0.0.0/0",
    });

    const lbName = resourceName(prefix, "nlb", NAME_LIMITS.loadBalancer);
    if (props.elasticIps) {
      props.publicSubnetIds.forEach((_, i) => {
        this.elasticIps.push(new Eip(this, `ElasticIp${i}`, { domain: "vpc", tags: { Name: `${lbName}-${i}` } }));
      });
    }
    this.loadBalancer = new Lb(this, "LoadBalancer", {
      name: lbName,
      loadBalancerType: "network",
      internal: false,
      ipAddressType: "ipv4",
      enableCrossZoneLoadBalancing: true, // a client pinned to one AZ's IP still reaches healthy servers elsewhere
      securityGroups: [this.securityGroup.id],
      ...(props.elasticIps
        ? { subnetMapping: props.publicSubnetIds.map((subnetId, i) => ({ subnetId, allocationId: this.elasticIps[i].id })) }
        : { subnets: props.publicSubnetIds }),
      tags: { Name: lbName },
    });

    const tgName = resourceName(prefix, "udp", NAME_LIMITS.targetGroup);
    this.targetGroup = new LbTargetGroup(this, "TargetGroup", {
      name: tgName,
      port: props.wireguardPort,
      protocol: "UDP",
      targetType: "instance",
      vpcId: props.vpcId,
      deregistrationDelay: String(props.deregistrationDelaySec),
      connectionTermination: true, // set explicitly: the provider's documented default is false
      // UDP cannot be health-checked: the agent reports WireGuard's health over HTTP.
      healthCheck: {
        enabled: true,
        protocol: "HTTP",
        port: String(props.agentPort),
        path: HEALTH_CHECK_PATH,
        matcher: "200",
        interval: props.healthCheckIntervalSec,
        timeout: props.healthCheckTimeoutSec,
        healthyThreshold: props.healthyThreshold,
        unhealthyThreshold: props.unhealthyThreshold,
      },
      tags: { Name: tgName },
    });
    this.listener = new LbListener(this, "Listener", {
      loadBalancerArn: this.loadBalancer.arn,
      port: props.wireguardPort,
      protocol: "UDP",
      defaultAction: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
      tags: { Name: `${prefix}-udp-${props.wireguardPort}` },
    });
  }

  /** NLB security groups filter health checks by their egress rules: allow both ports to the servers. */
  allowTrafficTo(serverSecurityGroupId: string): void {
    new VpcSecurityGroupEgressRule(this, "EgressWireGuardToServers", {
      securityGroupId: this.securityGroup.id,
      description: "WireGuard to the servers",
      ipProtocol: "udp",
      fromPort: this.props.wireguardPort,
      toPort: this.props.wireguardPort,
      referencedSecurityGroupId: serverSecurityGroupId,
    });
    new VpcSecurityGroupEgressRule(this, "EgressHealthCheckToServers", {
      securityGroupId: this.securityGroup.id,
      description: "Health checks to the agent",
      ipProtocol: "tcp",
      fromPort: this.props.agentPort,
      toPort: this.props.agentPort,
      referencedSecurityGroupId: serverSecurityGroupId,
    });
  }

  get dnsName(): string {
    return this.loadBalancer.dnsName;
  }
}
