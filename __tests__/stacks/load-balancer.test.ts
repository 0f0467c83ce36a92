/** NLB: UDP listener and target group, HTTP health check on the agent, termination, cross-zone, EIPs. */
import { checkLoadBalancerProps, HEALTH_CHECK_PATH, type LoadBalancerProps } from "../../stacks/load-balancer";
import { NAME_LIMITS, resourceName } from "../../stacks/naming";
import { byPath, EXAMPLE_ENVIRONMENTS, list, only, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("internet-facing network load balancer, cross-zone on, with a security group, public subnets", () => {
    const { tf, env } = synths[name];
    const lb = only(tf, "aws_lb");
    expect(lb).toMatchObject({
      load_balancer_type: "network",
      internal: false,
      enable_cross_zone_load_balancing: true,
      name: `${env.resourcePrefix}-nlb`,
    });
    expect(lb.security_groups).toEqual([ref(tf, "aws_security_group", "LoadBalancer/SecurityGroup", "id")]);
    const azs = env.settings.availability_zones.length || env.settings.availability_zone_count;
    expect(lb.subnets).toHaveLength(azs);
    expect(lb.subnets).toEqual(
      Array.from({ length: azs }, (_, i) => ref(tf, "aws_subnet", `Network/PublicSubnets/Subnet${i}`, "id")),
    );
    expect(lb.subnet_mapping).toBeUndefined();
  });

  test("UDP listener on the WireGuard port forwards to the target group", () => {
    const { tf, env } = synths[name];
    expect(only(tf, "aws_lb_listener")).toMatchObject({
      load_balancer_arn: ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn"),
      port: env.settings.wireguard_port,
      protocol: "UDP",
      default_action: [{ type: "forward", target_group_arn: ref(tf, "aws_lb_target_group", "LoadBalancer/TargetGroup", "arn") }],
    });
    expect(env.settings.wireguard_port).toBe(51820);
  });

  test("UDP target group: instance targets, HTTP health check on the agent port, 5 s x 2, termination on", () => {
    const { tf, env } = synths[name];
    const tg = only(tf, "aws_lb_target_group");
    expect(tg).toMatchObject({ port: 51820, protocol: "UDP", target_type: "instance", connection_termination: true });
    expect(tg.deregistration_delay).toBe(String(env.settings.deregistration_delay_seconds));
    expect(tg.deregistration_delay).toBe("30");
    expect(tg.health_check).toEqual({
      enabled: true,
      protocol: "HTTP",
      port: "8080",
      path: HEALTH_CHECK_PATH,
      matcher: "200",
      interval: 5,
      timeout: 4,
      healthy_threshold: 2,
      unhealthy_threshold: 2,
    });
    expect(HEALTH_CHECK_PATH).toBe("/health");
  });

  test("NLB security group: UDP WireGuard in from anywhere; out only to the servers on UDP and the agent port", () => {
    const { tf } = synths[name];
    const sg = ref(tf, "aws_security_group", "LoadBalancer/SecurityGroup", "id");
    const servers = ref(tf, "aws_security_group", "VpnServers/SecurityGroup", "id");
    const ingress = list(tf, "aws_vpc_security_group_ingress_rule").filter((r) => r.security_group_id === sg);
    const egress = list(tf, "aws_vpc_security_group_egress_rule").filter((r) => r.security_group_id === sg);
    expect(ingress).toEqual([expect.objectContaining({ ip_protocol: "udp", from_port: 51820, to_port: 51820, cidr_ipv4: "0.0.0.0/0" })]);
    const rules = egress.map(({ ip_protocol, from_port, to_port, referenced_security_group_id }) => ({ ip_protocol, from_port, to_port, referenced_security_group_id }));
    expect(rules.sort((a, b) => a.from_port - b.from_port)).toEqual([
      { ip_protocol: "tcp", from_port: 8080, to_port: 8080, referenced_security_group_id: servers },
      { ip_protocol: "udp", from_port: 51820, to_port: 51820, referenced_security_group_id: servers },
    ]);
    expect(byPath(tf, "aws_security_group", "LoadBalancer/SecurityGroup").egress).toBeUndefined();
  });
});

test("elastic_ips = true: one Elastic IP per AZ through subnet_mapping, and an elastic_ips output", async () => {
  const { tf } = await synthSettings("elastic_ips = true\navailability_zone_count = 3");
  const lb = only(tf, "aws_lb");
  expect(lb.subnets).toBeUndefined();
  expect(lb.subnet_mapping).toEqual(
    [0, 1, 2].map((i) => ({
      subnet_id: ref(tf, "aws_subnet", `Network/PublicSubnets/Subnet${i}`, "id"),
      allocation_id: ref(tf, "aws_eip", `LoadBalancer/ElasticIp${i}`, "id"),
    })),
  );
  expect(list(tf, "aws_eip").filter((e) => e.domain === "vpc")).toHaveLength(3 + 3); // 3 for the NLB, 3 NAT
  expect(tf.output.elastic_ips.value).toEqual([0, 1, 2].map((i) => ref(tf, "aws_eip", `LoadBalancer/ElasticIp${i}`, "public_ip")));
});

test("custom ports and timings flow through", async () => {
  const { tf } = await synthSettings(
    "wireguard_port = 443\nagent_port = 9100\nhealth_check_interval_seconds = 10\nhealth_check_timeout_seconds = 6\nhealth_check_unhealthy_threshold = 3\nderegistration_delay_seconds = 120",
  );
  expect(only(tf, "aws_lb_listener")).toMatchObject({ port: 443, protocol: "UDP" });
  const tg = only(tf, "aws_lb_target_group");
  expect(tg).toMatchObject({ port: 443, deregistration_delay: "120" });
  expect(tg.health_check).toMatchObject({ port: "9100", interval: 10, timeout: 6, unhealthy_threshold: 3 });
});

test("long prefixes are shortened to AWS's 32-character limit, deterministically", () => {
  const prefix = "a-very-long-name-prefix-staging-environment";
  const name = resourceName(prefix, "nlb", NAME_LIMITS.loadBalancer);
  expect(name.length).toBeLessThanOrEqual(32);
  expect(name).toMatch(/^a-very-long-name-prefix-[0-9a-f]{6}-nlb$|^a-very-long-name-[0-9a-f]{6}-nlb$|-[0-9a-f]{6}-nlb$/);
  expect(resourceName(prefix, "nlb", 32)).toBe(name);
  expect(resourceName(`${prefix}x`, "nlb", 32)).not.toBe(name);
  expect(resourceName("wg-ha-dev", "nlb", 32)).toBe("wg-ha-dev-nlb");
});

describe("checkLoadBalancerProps (backstop validation)", () => {
  const good: LoadBalancerProps = {
    resourcePrefix: "p", vpcId: "vpc", publicSubnetIds: ["a", "b"], wireguardPort: 51820, agentPort: 8080,
    healthCheckIntervalSec: 5, healthCheckTimeoutSec: 4, healthyThreshold: 2, unhealthyThreshold: 2, deregistrationDelaySec: 30,
  };
  test("valid props: no problem", () => expect(checkLoadBalancerProps(good)).toEqual([]));
  test.each([
    ["interval below 5", { healthCheckIntervalSec: 4, healthCheckTimeoutSec: 2 }, /healthCheckIntervalSec \(4\) must be 5-300/],
    ["timeout above interval", { healthCheckTimeoutSec: 6 }, /healthCheckTimeoutSec \(6\) must be 2-5/],
    ["unhealthy threshold 1", { unhealthyThreshold: 1 }, /unhealthyThreshold \(1\) must be 2-10/],
    ["same ports", { agentPort: 51820 }, /must differ/],
    ["no subnet", { publicSubnetIds: [] }, /at least one subnet/],
  ])("%s", (_name, change, message) => {
    expect(checkLoadBalancerProps({ ...good, ...change })).toEqual([expect.stringMatching(message)]);
  });
});
