/**
 * The dashboard of every example environment (issue 8): NLB UDP flows and bytes, healthy/unhealthy
 * servers per AZ (AvailabilityZone + LoadBalancer + TargetGroup, one line each per AZ), ASG desired
 * and in service, CPU and NetworkOut against the scaling thresholds, peers configured and active
 * (per environment and per server), sync age against its alarm bound, the servers' memory, disk,
 * swap and processes. Metric names are checked against the servers in __tests__/cloudwatch/.
 */
import { dashboardBody, dashboardPanels, type DashboardInput } from "../../stacks/dashboard";
import { SYNC_AGE_ALARM_SECONDS } from "../../stacks/monitoring";
import { scalingThresholds } from "../../stacks/scaling";
import { DEFAULTS } from "../../stacks/config/schema";
import { EXAMPLE_ENVIRONMENTS, only, ref, synthExamples, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

const TITLES = [
  "NLB UDP flows",
  "NLB UDP bytes processed (per minute)",
  "Healthy / unhealthy servers per AZ",
  "Auto Scaling group size",
  "CPU per server (%)",
  "NetworkOut per server (bytes per 60 s)",
  "WireGuard peers (health agents)",
  "Active peers per server",
  "Sync age (seconds since the last good sync, worst server)",
  "Health agents: reporting and healthy servers",
  "WireGuard traffic (bytes per minute, all servers)",
  "Memory, root disk and swap used (%, worst server)",
  "Watched processes, fewest on any server (wireguard-go: 0 with the kernel module)",
];

interface Widget {
  x: number;
  y: number;
  properties: { title: string; metrics: any[][]; stat: string; annotations?: { horizontal: { label: string; value: number }[] } };
}

function widgets(name: string): Record<string, Widget> {
  const body = JSON.parse(only(synths[name].tf, "aws_cloudwatch_dashboard").dashboard_body);
  return Object.fromEntries(body.widgets.map((w: Widget) => [w.properties.title, w]));
}

/** A metric row without its options object. */
const plain = (row: any[]) => row.filter((x) => typeof x !== "object");
const options = (row: any[]) => row.find((x) => typeof x === "object") ?? {};

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("the widgets, in order, two per row", () => {
    const body = JSON.parse(only(synths[name].tf, "aws_cloudwatch_dashboard").dashboard_body);
    expect(body.widgets.map((w: Widget) => w.properties.title)).toEqual(TITLES);
    body.widgets.forEach((w: Widget, i: number) => expect([w.x, w.y]).toEqual([(i % 2) * 12, Math.floor(i / 2) * 6]));
  });

  test("NLB: active UDP flows and processed UDP bytes of this load balancer", () => {
    const { tf } = synths[name];
    const lb = ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn_suffix");
    const w = widgets(name);
    expect(w["NLB UDP flows"].properties.metrics[0]).toEqual(["AWS/NetworkELB", "ActiveFlowCount_UDP", "LoadBalancer", lb, { stat: "Average", label: "active flows" }]);
    expect(w["NLB UDP bytes processed (per minute)"].properties.metrics).toEqual([["AWS/NetworkELB", "ProcessedBytes_UDP", "LoadBalancer", lb, { stat: "Sum" }]]);
  });

  test("healthy and unhealthy servers: one line each per AZ of the environment (AZ + load balancer + target group)", () => {
    const { tf, env } = synths[name];
    const lb = ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn_suffix");
    const tg = ref(tf, "aws_lb_target_group", "LoadBalancer/TargetGroup", "arn_suffix");
    const rows = widgets(name)["Healthy / unhealthy servers per AZ"].properties.metrics;
    const perAz = rows.filter((r) => plain(r).includes("AvailabilityZone"));
    const azs = perAz.map((r) => plain(r)[3]);
    const azCount = env.settings.availability_zones.length || env.settings.availability_zone_count;
    expect(new Set(azs).size).toBe(azCount);
    // AZ names come from the network's AZ list (a data source when none are configured).
    for (const az of azs) expect(az).toMatch(/^\$\{element\(data\.aws_availability_zones\.[\w]+\.names, \d\)\}$|^[a-z]{2}-[a-z]+-\d[a-z]$/);
    for (const az of new Set(azs)) {
      expect(perAz.filter((r) => plain(r)[3] === az).map((r) => [plain(r), options(r).stat])).toEqual([
        [["AWS/NetworkELB", "HealthyHostCount", "AvailabilityZone", az, "TargetGroup", tg, "LoadBalancer", lb], "Minimum"],
        [["AWS/NetworkELB", "UnHealthyHostCount", "AvailabilityZone", az, "TargetGroup", tg, "LoadBalancer", lb], "Maximum"],
      ]);
    }
    expect(rows).toHaveLength(2 + 2 * azCount); // + the totals over all AZs
  });

  test("ASG desired and in service; CPU and NetworkOut with the scaling thresholds as horizontal annotations", () => {
    const { tf, env } = synths[name];
    const asg = ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name");
    const w = widgets(name);
    expect(w["Auto Scaling group size"].properties.metrics.map(plain)).toEqual([
      ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", asg],
      ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", asg],
    ]);
    const t = scalingThresholds(env.settings);
    expect(w["CPU per server (%)"].properties.annotations!.horizontal.map((a) => a.value)).toEqual([t.scaleOutCpuPercent, t.scaleInCpuPercent]);
    expect(w["NetworkOut per server (bytes per 60 s)"].properties.annotations!.horizontal.map((a) => a.value)).toEqual([
      t.scaleOutNetworkBytesPerPeriod, t.scaleInNetworkBytesPerPeriod,
    ]);
    expect(w["NetworkOut per server (bytes per 60 s)"].properties.metrics.map(plain)).toEqual([["AWS/EC2", "NetworkOut", "AutoScalingGroupName", asg]]);
  });

  test("peers configured (Maximum) and active (Sum) per environment, active per server, sync age with its alarm bound", () => {
    const w = widgets(name);
    expect(w["WireGuard peers (health agents)"].properties.metrics.map((r) => [plain(r), options(r).stat])).toEqual([
      [["WgHa", "Peers", "Environment", name], "Maximum"],
      [["WgHa", "ActivePeers", "Environment", name], "Sum"],
    ]);
    expect(w["Active peers per server"].properties.metrics).toEqual([
      [{ id: "activePerServer", expression: `SEARCH('{WgHa,Environment,InstanceId} MetricName="ActivePeers" Environment="${name}"', 'Maximum', 60)` }],
    ]);
    const sync = w["Sync age (seconds since the last good sync, worst server)"].properties;
    expect(sync.metrics.map((r) => [plain(r), options(r).stat])).toEqual([[["WgHa", "SyncAgeSeconds", "Environment", name], "Maximum"]]);
    expect(sync.annotations!.horizontal).toEqual([{ label: `alarm > ${SYNC_AGE_ALARM_SECONDS} s`, value: SYNC_AGE_ALARM_SECONDS }]);
  });

  test("the CloudWatch agent's metrics: memory, root disk, swap, and processes per watched pattern", () => {
    const { tf } = synths[name];
    const asg = ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name");
    const w = widgets(name);
    expect(w["Memory, root disk and swap used (%, worst server)"].properties.metrics.map(plain)).toEqual(
      ["mem_used_percent", "disk_used_percent", "swap_used_percent"].map((m) => ["WgHa", m, "AutoScalingGroupName", asg]),
    );
    expect(JSON.stringify(w["Watched processes, fewest on any server (wireguard-go: 0 with the kernel module)"].properties.metrics)).toContain(
      `{WgHa,AutoScalingGroupName,pattern} MetricName=\\"procstat_lookup_pid_count\\" AutoScalingGroupName=\\"${asg}\\"', 'Minimum', 60)`,
    );
  });
});

test("without AZ names the per-AZ lines come from a SEARCH over AvailabilityZone + LoadBalancer + TargetGroup", () => {
  const input: DashboardInput = { region: "eu-west-1", loadBalancer: "net/x/1", targetGroup: "targetgroup/y/2", asgName: "g", environment: "dev", thresholds: scalingThresholds(DEFAULTS), syncAgeAlarmSeconds: 60 };
  const rows = dashboardPanels(input).find((p) => p.title === "Healthy / unhealthy servers per AZ")!.metrics;
  expect(rows.slice(2)).toEqual([
    [{ id: "perAz0", expression: `SEARCH('{AWS/NetworkELB,AvailabilityZone,LoadBalancer,TargetGroup} MetricName="HealthyHostCount" LoadBalancer="net/x/1" TargetGroup="targetgroup/y/2"', 'Minimum', 60)` }],
    [{ id: "perAz1", expression: `SEARCH('{AWS/NetworkELB,AvailabilityZone,LoadBalancer,TargetGroup} MetricName="UnHealthyHostCount" LoadBalancer="net/x/1" TargetGroup="targetgroup/y/2"', 'Maximum', 60)` }],
  ]);
  const withAzs = JSON.parse(dashboardBody({ ...input, availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] })).widgets[2].properties.metrics;
  expect(withAzs.slice(2).map((r: any[]) => `${r[1]} ${r[3]}`)).toEqual(
    ["eu-west-1a", "eu-west-1b", "eu-west-1c"].flatMap((az) => [`HealthyHostCount ${az}`, `UnHealthyHostCount ${az}`]),
  );
});
