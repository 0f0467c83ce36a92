/**
 * The VPC: one public subnet (NLB, NAT gateway) and one private subnet (servers, EFS mount
 * targets) per AZ, NAT per AZ or a single one, an S3 gateway endpoint on the private route tables,
 * and VPC flow logs to an encrypted log group.
 */
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import { cidrSubnet, formatCidr, parseIpv4Cidr } from "./config/cidr";
import { policyDocument, serviceTrust } from "./iam-policy";
import { EncryptedLogGroup } from "./log-group";

/** Subnet slots: the VPC is cut into 16 equal blocks (newbits 4) whatever the AZ count. */
export const SUBNET_NEW_BITS = 4;
/** Private subnets start at this slot, so public i and private i never move when AZs are added. */
export const PRIVATE_SUBNET_OFFSET = 8;
export const MAX_AVAILABILITY_ZONES = 6;

/**
 * The S3 gateway endpoint's service name in a region of the aws partition. Terraform deviation: a
 * literal, not data.aws_vpc_endpoint_service (China regions use the prefix cn.com.amazonaws).
 */
export function s3GatewayServiceName(region: string): string {
  return `com.amazonaws.${region}.s3`;
}

export interface SubnetPlan {
  readonly public: string[];
  readonly private: string[];
}

/**
 * Deterministic subnet CIDRs: public AZ i = cidrsubnet(vpc, 4, i), private AZ i =
 * cidrsubnet(vpc, 4, 8 + i). A /16 gives /20s (4,091 usable addresses), a /24 gives /28s (11).
 * Adding an AZ later adds subnets without renumbering the existing ones.
 */
export function planSubnets(vpcCidr: string, azCount: number): SubnetPlan {
  const vpc = parseIpv4Cidr(vpcCidr);
  if (!vpc) throw new Error(`vpc_cidr "${vpcCidr}" is not an IPv4 CIDR`);
  if (azCount < 1 || azCount > MAX_AVAILABILITY_ZONES) {
    throw new Error(`availability zone count ${azCount} is outside 1-${MAX_AVAILABILITY_ZONES}`);
  }
  const slots = Array.from({ length: azCount }, (_, i) => i);
  return {
    public: slots.map((i) => formatCidr(cidrSubnet(vpc, SUBNET_NEW_BITS, i))),
    private: slots.map((i) => formatCidr(cidrSubnet(vpc, SUBNET_NEW_BITS, PRIVATE_SUBNET_OFFSET + i))),
  };
}

export interface NetworkProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly vpcCidr: string;
  /** Exact AZ names; empty = the region's first `availabilityZoneCount` available AZs. */
  readonly availabilityZones: readonly string[];
  readonly availabilityZoneCount: number;
  /** "per-az": one NAT gateway per AZ (survives an AZ loss); "single": one, in the first AZ. */
  readonly natGatewayMode: "per-az" | "single";
  readonly kmsKeyArn: string;
  readonly flowLogGroupName: string;
  readonly logRetentionDays: number;
}

export class Network extends Construct {
  readonly vpc: Vpc;
  readonly publicSubnets: Subnet[] = [];
  readonly privateSubnets: Subnet[] = [];
  readonly natGateways: NatGateway[] = [];
  /** The private subnets' default routes: servers need them (package installs) when they boot. */
  readonly privateEgressRoutes: Route[] = [];
  readonly privateRouteTables: RouteTable[] = [];
  /**
   * S3 gateway endpoint on the private route tables: the servers' first-boot download of the
   * template bundle (and every other request to S3 in this region from the private subnets,
   * including VPN clients' tunnelled traffic) stays inside the VPC and needs no NAT gateway.
   */
  readonly s3Endpoint: VpcEndpoint;
  /** AZ names (literals or tokens), in subnet order. */
  readonly availabilityZones: string[];
  readonly flowLogGroup: EncryptedLogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const name = (suffix: string) => ({ Name: `${props.resourcePrefix}-${suffix}` });
    this.availabilityZones = this.resolveAvailabilityZones(props);
    const plan = planSubnets(props.vpcCidr, this.availabilityZones.length);

    // DNS hostnames + support: the EFS mount target DNS name (fs-xxx.efs.<region>...) needs both.
    this.vpc = new Vpc(this, "Vpc", {
      cidrBlock: props.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: name("vpc"),
    });
    const igw = new InternetGateway(this, "InternetGateway", { vpcId: this.vpc.id, tags: name("igw") });

    const publicRoutes = new RouteTable(this, "PublicRouteTable", { vpcId: this.vpc.id, tags: name("public") });
    new Route(this, "PublicDefaultRoute", {
      routeTableId: publicRoutes.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: igw.id,
    });

    const publicGroup = new Construct(this, "PublicSubnets");
    const privateGroup = new Construct(this, "PrivateSubnets");
    const natGroup = new Construct(this, "NatGateways");
    this.availabilityZones.forEach((az, i) => {
      const suffix = String.fromCharCode(97 + i); // a, b, c: stable per slot, also for token AZs
      const pub = new Subnet(publicGroup, `Subnet${i}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: plan.public[i],
        mapPublicIpOnLaunch: false, // only the NLB and NAT gateways live here, with their own EIPs
        tags: { ...name(`public-${suffix}`), "wg-ha:tier": "public" },
      });
      new RouteTableAssociation(publicGroup, `Association${i}`, { subnetId: pub.id, routeTableId: publicRoutes.id });
      this.publicSubnets.push(pub);

      if (props.natGatewayMode === "per-az" || i === 0) {
        const eip = new Eip(natGroup, `Eip${i}`, { domain: "vpc", tags: name(`nat-${suffix}`) });
        this.natGateways.push(
          new NatGateway(natGroup, `Nat${i}`, {
            allocationId: eip.id,
            subnetId: pub.id,
            tags: name(`nat-${suffix}`),
            dependsOn: [igw],
          }),
        );
      }

      const priv = new Subnet(privateGroup, `Subnet${i}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: plan.private[i],
        tags: { ...name(`private-${suffix}`), "wg-ha:tier": "private" },
      });
      // Each AZ routes through its own NAT gateway, so losing an AZ leaves the others online.
      const routes = new RouteTable(privateGroup, `RouteTable${i}`, { vpcId: this.vpc.id, tags: name(`private-${suffix}`) });
      this.privateEgressRoutes.push(
        new Route(privateGroup, `DefaultRoute${i}`, {
          routeTableId: routes.id,
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: this.natGateways[this.natGateways.length - 1].id,
        }),
      );
      new RouteTableAssociation(privateGroup, `Association${i}`, { subnetId: priv.id, routeTableId: routes.id });
      this.privateRouteTables.push(routes);
      this.privateSubnets.push(priv);
    });

    // Gateway endpoints are free. The default policy (full access) on purpose: the endpoint carries
    // all S3 traffic of the private subnets in this region, also the clients' (masqueraded by the
    // servers), which a policy limited to the template bucket would break.
    this.s3Endpoint = new VpcEndpoint(this, "S3Endpoint", {
      vpcId: this.vpc.id,
      serviceName: s3GatewayServiceName(props.account.region),
      vpcEndpointType: "Gateway",
      routeTableIds: this.privateRouteTables.map((table) => table.id),
      tags: name("s3"),
    });

    this.flowLogGroup = new EncryptedLogGroup(this, "FlowLogGroup", {
      name: props.flowLogGroupName,
      kmsKeyArn: props.kmsKeyArn,
      retentionDays: props.logRetentionDays,
    });
    const role = new IamRole(this, "FlowLogRole", {
      name: `${props.resourcePrefix}-vpc-flow-logs`,
      assumeRolePolicy: serviceTrust(this, "FlowLogTrust", props.account.servicePrincipal("vpc-flow-logs"), props.account.accountId).json,
    });
    const writeLogs = policyDocument(this, "FlowLogPolicyDocument", [
      {
        sid: "WriteThisLogGroupOnly",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        resources: this.flowLogGroup.resourceArns,
      },
    ]);
    new IamRolePolicy(this, "FlowLogPolicy", { name: "write-flow-logs", role: role.id, policy: writeLogs.json });
    new FlowLog(this, "FlowLog", {
      vpcId: this.vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: this.flowLogGroup.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 60,
      tags: name("flow-log"),
    });
  }

  get vpcCidr(): string {
    return this.vpc.cidrBlock;
  }

  private resolveAvailabilityZones(props: NetworkProps): string[] {
    if (props.availabilityZones.length > 0) return [...props.availabilityZones];
    // Regular AZs only (no Local/Wavelength Zones), in the order AWS lists them.
    const zones = new DataAwsAvailabilityZones(this, "AvailableZones", {
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    return Array.from({ length: props.availabilityZoneCount }, (_, i) => Fn.element(zones.names, i));
  }
}
