/** VPC, subnets per AZ, NAT per AZ or single, routes, the S3 gateway endpoint, flow logs to an encrypted log group. */
import { planSubnets, s3GatewayServiceName } from "../../stacks/network";
import { all, byPath, EXAMPLE_ENVIRONMENTS, list, only, policyDocumentOf, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

test("planSubnets: deterministic cidrsubnet(vpc, 4, i) / (vpc, 4, 8 + i); adding an AZ renumbers nothing", () => {
  expect(planSubnets("10.40.0.0/16", 2)).toEqual({ public: ["10.40.0.0/20", "10.40.16.0/20"], private: ["10.40.128.0/20", "10.40.144.0/20"] });
  const three = planSubnets("10.40.0.0/16", 3);
  expect(three.public.slice(0, 2)).toEqual(planSubnets("10.40.0.0/16", 2).public);
  expect(three.private[2]).toBe("10.40.160.0/20");
  expect(planSubnets("192.168.7.0/24", 6).private[5]).toBe("192.168.7.208/28");
  expect(() => planSubnets("10.40.0.0/16", 7)).toThrow(/outside 1-6/);
  expect(() => planSubnets("nope", 2)).toThrow(/not an IPv4 CIDR/);
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  const azCount = () => synths[name].env.settings.availability_zone_count;

  test("VPC with DNS hostnames and support (EFS mount target names need both)", () => {
    const { tf, env } = synths[name];
    expect(only(tf, "aws_vpc")).toMatchObject({ cidr_block: env.settings.vpc_cidr, enable_dns_hostnames: true, enable_dns_support: true });
    expect(only(tf, "aws_internet_gateway").vpc_id).toBe(ref(tf, "aws_vpc", "Network/Vpc", "id"));
  });

  test("one public and one private subnet per AZ, CIDRs from planSubnets, AZs from the data source", () => {
    const { tf, env } = synths[name];
    const plan = planSubnets(env.settings.vpc_cidr, azCount());
    const zones = ref(tf, "aws_availability_zones", "Network/AvailableZones", "names", "data");
    expect(only(tf, "aws_availability_zones", "data")).toMatchObject({ state: "available" });
    for (let i = 0; i < azCount(); i++) {
      const pub = byPath(tf, "aws_subnet", `Network/PublicSubnets/Subnet${i}`);
      const priv = byPath(tf, "aws_subnet", `Network/PrivateSubnets/Subnet${i}`);
      expect(pub).toMatchObject({ cidr_block: plan.public[i], map_public_ip_on_launch: false });
      expect(priv).toMatchObject({ cidr_block: plan.private[i] });
      expect(pub.availability_zone).toBe(`\${element(${zones.slice(2, -1)}, ${i})}`);
      expect(priv.availability_zone).toBe(pub.availability_zone);
    }
    expect(list(tf, "aws_subnet")).toHaveLength(2 * azCount());
  });

  test("S3 gateway endpoint on every private route table (not the public one): the bundle download needs no NAT", () => {
    const { tf } = synths[name];
    expect(only(tf, "aws_vpc_endpoint")).toEqual({
      vpc_id: ref(tf, "aws_vpc", "Network/Vpc", "id"),
      service_name: "com.amazonaws.eu-west-1.s3",
      vpc_endpoint_type: "Gateway",
      route_table_ids: Array.from({ length: azCount() }, (_, i) => ref(tf, "aws_route_table", `Network/PrivateSubnets/RouteTable${i}`, "id")),
      tags: { Name: `wg-ha-${name}-s3` },
    });
    // No endpoint policy: the default (full access), as the clients' S3 traffic goes through it too.
    expect(only(tf, "aws_vpc_endpoint").policy).toBeUndefined();
    expect(list(tf, "aws_route_table")).toHaveLength(azCount() + 1);
  });

  test("public route table: default route to the internet gateway, associated with every public subnet", () => {
    const { tf } = synths[name];
    const table = ref(tf, "aws_route_table", "Network/PublicRouteTable", "id");
    expect(byPath(tf, "aws_route", "Network/PublicDefaultRoute")).toMatchObject({
      route_table_id: table,
      destination_cidr_block: "0.0.0.0/0",
      gateway_id: ref(tf, "aws_internet_gateway", "Network/InternetGateway", "id"),
    });
    for (let i = 0; i < azCount(); i++) {
      expect(byPath(tf, "aws_route_table_association", `Network/PublicSubnets/Association${i}`)).toEqual({
        subnet_id: ref(tf, "aws_subnet", `Network/PublicSubnets/Subnet${i}`, "id"),
        route_table_id: table,
      });
    }
  });

  test("NAT: single in dev, one per AZ elsewhere; each private subnet routes through its NAT", () => {
    const { tf, env } = synths[name];
    const perAz = env.settings.nat_gateway_mode === "per-az";
    expect(env.settings.nat_gateway_mode).toBe(name === "dev" ? "single" : "per-az");
    const nats = list(tf, "aws_nat_gateway");
    expect(nats).toHaveLength(perAz ? azCount() : 1);
    for (let i = 0; i < azCount(); i++) {
      const nat = perAz ? i : 0;
      expect(byPath(tf, "aws_nat_gateway", `Network/NatGateways/Nat${nat}`).subnet_id).toBe(ref(tf, "aws_subnet", `Network/PublicSubnets/Subnet${nat}`, "id"));
      expect(byPath(tf, "aws_route", `Network/PrivateSubnets/DefaultRoute${i}`)).toMatchObject({
        route_table_id: ref(tf, "aws_route_table", `Network/PrivateSubnets/RouteTable${i}`, "id"),
        destination_cidr_block: "0.0.0.0/0",
        nat_gateway_id: ref(tf, "aws_nat_gateway", `Network/NatGateways/Nat${nat}`, "id"),
      });
    }
  });

  test("flow logs (ALL traffic) to a KMS-encrypted log group with retention, through a role scoped to that group", () => {
    const { tf, env } = synths[name];
    const group = byPath(tf, "aws_cloudwatch_log_group", "Network/FlowLogGroup/LogGroup");
    expect(group).toEqual({
      name: `/wg-ha/${name}/vpc-flow-logs`,
      kms_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn"),
      retention_in_days: env.settings.log_retention_days,
    });
    const groupArn = ref(tf, "aws_cloudwatch_log_group", "Network/FlowLogGroup/LogGroup", "arn");
    expect(only(tf, "aws_flow_log")).toMatchObject({
      vpc_id: ref(tf, "aws_vpc", "Network/Vpc", "id"),
      traffic_type: "ALL",
      log_destination_type: "cloud-watch-logs",
      log_destination: groupArn,
      iam_role_arn: ref(tf, "aws_iam_role", "Network/FlowLogRole", "arn"),
    });
    const role = byPath(tf, "aws_iam_role", "Network/FlowLogRole");
    const trust = policyDocumentOf(tf, role.assume_role_policy);
    expect(trust.statement[0].principals).toEqual([{ type: "Service", identifiers: ["vpc-flow-logs.${data.aws_partition.Account_Partition_C6C7AA7F.dns_suffix}"] }]);
    const policy = policyDocumentOf(tf, byPath(tf, "aws_iam_role_policy", "Network/FlowLogPolicy").policy);
    expect(policy.statement).toEqual([
      expect.objectContaining({ actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [groupArn, `${groupArn}:*`] }),
    ]);
  });
});

test("prod spans 3 AZs, dev and staging 2", () => {
  expect(Object.values(synths).map((s) => [s.env.name, list(s.tf, "aws_subnet").length / 2])).toEqual([["dev", 2], ["staging", 2], ["prod", 3]]);
});

test("availability_zones named: literal AZs, no data source lookup", async () => {
  const { tf } = await synthSettings('availability_zones = ["eu-west-1b", "eu-west-1c"]');
  expect(all(tf, "aws_availability_zones", "data")).toEqual({});
  expect(list(tf, "aws_subnet").map((s) => s.availability_zone).sort()).toEqual(["eu-west-1b", "eu-west-1b", "eu-west-1c", "eu-west-1c"]);
});

test("the S3 gateway endpoint's service name follows the region", async () => {
  expect(s3GatewayServiceName("us-east-2")).toBe("com.amazonaws.us-east-2.s3");
  const { tf } = await synthSettings('region = "ap-southeast-2"');
  expect(only(tf, "aws_vpc_endpoint").service_name).toBe("com.amazonaws.ap-southeast-2.s3");
});
