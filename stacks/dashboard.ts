/**
 * The CloudWatch dashboard body as a pure function, one environment per dashboard: the load
 * balancer (UDP flows and bytes, healthy/unhealthy servers per AZ), the Auto Scaling group (size,
 * CPU and NetworkOut against the scaling thresholds), the health agents' WireGuard metrics (peers
 * configured and active, per environment and per server, traffic, sync age, who reports) and the
 * CloudWatch agent's (memory, disk, swap, processes). Add panels through `extraWidgets`.
 * Values may be Terraform tokens (arn suffixes, AZ names); they resolve inside the JSON string.
 * Every metric name comes from stacks/metrics.ts, whose names tests check against the servers.
 */
import { AGENT_METRICS, ASG_METRICS, CW_AGENT_METRICS, EC2_METRICS, NLB_METRICS } from "./metrics";
import type { ScalingThresholds } from "./scaling";

export interface DashboardInput {
  readonly region: string;
  /** aws_lb.arn_suffix */
  readonly loadBalancer: string;
  /** aws_lb_target_group.arn_suffix */
  readonly targetGroup: string;
  readonly asgName: string;
  /** Environment name: the servers' agent metrics are per environment. */
  readonly environment: string;
  readonly thresholds: ScalingThresholds;
  /**
   * The environment's AZs (names or tokens): one healthy and one unhealthy line each.
   * @default - a SEARCH expression finds the AZs that report
   */
  readonly availabilityZones?: readonly string[];
  /** SyncAgeSeconds above this is the sync-age alarm's bound (drawn on the sync panel). */
  readonly syncAgeAlarmSeconds: number;
  /** Extra metric panels appended after the built-in ones (two per row). */
  readonly extraWidgets?: readonly MetricPanel[];
}

/** One graph: a title, metric rows in CloudWatch's dashboard syntax, optional threshold lines. */
export interface MetricPanel {
  readonly title: string;
  readonly metrics: unknown[][];
  readonly stat?: string;
  readonly annotations?: ReadonlyArray<{ label: string; value: number }>;
  readonly yLabel?: string;
}

const PANEL = { width: 12, height: 6 } as const;

/** A SEARCH expression row: one line per matching series, labelled by CloudWatch. */
function search(id: string, schema: string, metricName: string, filters: Record<string, string>, stat: string): unknown[] {
  const terms = Object.entries(filters).map(([k, v]) => `${k}="${v}"`).join(" ");
  return [{ expression: `SEARCH('{${schema}} MetricName="${metricName}" ${terms}', '${stat}', 60)`, id }];
}

export function dashboardPanels(input: DashboardInput): MetricPanel[] {
  const lb = ["LoadBalancer", input.loadBalancer];
  const tg = ["TargetGroup", input.targetGroup, ...lb];
  const asg = [CW_AGENT_METRICS.asgDimension, input.asgName];
  const env = [AGENT_METRICS.environmentDimension, input.environment];
  const t = input.thresholds;
  const nlb = NLB_METRICS.namespace;
  const perAz = input.availabilityZones?.length
    ? input.availabilityZones.flatMap((az) => [
        [nlb, NLB_METRICS.healthyHosts, "AvailabilityZone", az, ...tg, { stat: "Minimum", label: `healthy ${az}` }],
        [nlb, NLB_METRICS.unhealthyHosts, "AvailabilityZone", az, ...tg, { stat: "Maximum", label: `unhealthy ${az}` }],
      ])
    : [NLB_METRICS.healthyHosts, NLB_METRICS.unhealthyHosts].map((metric, i) =>
        search(`perAz${i}`, `${nlb},AvailabilityZone,LoadBalancer,TargetGroup`, metric, { LoadBalancer: input.loadBalancer, TargetGroup: input.targetGroup }, i ? "Maximum" : "Minimum"),
      );
  const agent = AGENT_METRICS;
  const cw = CW_AGENT_METRICS;
  return [
    {
      title: "NLB UDP flows",
      metrics: [
        [nlb, NLB_METRICS.activeFlows, ...lb, { stat: "Average", label: "active flows" }],
        [nlb, NLB_METRICS.newFlows, ...lb, { stat: "Sum", label: "new flows / min" }],
      ],
    },
    {
      title: "NLB UDP bytes processed (per minute)",
      metrics: [[nlb, NLB_METRICS.processedBytes, ...lb, { stat: "Sum" }]],
    },
    {
      title: "Healthy / unhealthy servers per AZ",
      metrics: [
        [nlb, NLB_METRICS.healthyHosts, ...tg, { stat: "Minimum", label: "healthy (all AZs)" }],
        [nlb, NLB_METRICS.unhealthyHosts, ...tg, { stat: "Maximum", label: "unhealthy (all AZs)" }],
        ...perAz,
      ],
    },
    {
      title: "Auto Scaling group size",
      stat: "Average",
      metrics: [
        [ASG_METRICS.namespace, ASG_METRICS.desired, ...asg, { label: "desired" }],
        [ASG_METRICS.namespace, ASG_METRICS.inService, ...asg, { label: "in service" }],
      ],
    },
    {
      title: "CPU per server (%)",
      stat: "Average",
      metrics: [[EC2_METRICS.namespace, EC2_METRICS.cpu, ...asg]],
      annotations: [
        { label: `scale out > ${t.scaleOutCpuPercent} %`, value: t.scaleOutCpuPercent },
        { label: `scale in < ${t.scaleInCpuPercent} % (and low network)`, value: t.scaleInCpuPercent },
      ],
    },
    {
      title: `NetworkOut per server (bytes per ${t.periodSeconds} s)`,
      stat: "Average",
      metrics: [[EC2_METRICS.namespace, EC2_METRICS.networkOut, ...asg]],
      annotations: [
        { label: `scale out > ${t.scaleOutNetworkBytesPerPeriod / t.periodSeconds} B/s`, value: t.scaleOutNetworkBytesPerPeriod },
        { label: `scale in < ${t.scaleInNetworkBytesPerPeriod / t.periodSeconds} B/s (and low CPU)`, value: t.scaleInNetworkBytesPerPeriod },
      ],
    },
    {
      title: "WireGuard peers (health agents)",
      metrics: [
        [agent.namespace, agent.peers, ...env, { stat: "Maximum", label: "peers configured" }],
        [agent.namespace, agent.activePeers, ...env, { stat: "Sum", label: "active: handshake < 3 min (all servers)" }],
      ],
    },
    {
      title: "Active peers per server",
      metrics: [search("activePerServer", `${agent.namespace},${agent.environmentDimension},InstanceId`, agent.activePeers, { [agent.environmentDimension]: input.environment }, "Maximum")],
    },
    {
      title: "Sync age (seconds since the last good sync, worst server)",
      metrics: [[agent.namespace, agent.syncAgeSeconds, ...env, { stat: "Maximum", label: "sync age" }]],
      annotations: [{ label: `alarm > ${input.syncAgeAlarmSeconds} s`, value: input.syncAgeAlarmSeconds }],
    },
    {
      title: "Health agents: reporting and healthy servers",
      metrics: [
        [ASG_METRICS.namespace, ASG_METRICS.inService, ...asg, { stat: "Minimum", label: "in service" }],
        [agent.namespace, agent.healthy, ...env, { stat: "SampleCount", label: "reporting" }],
        [agent.namespace, agent.healthy, ...env, { stat: "Sum", label: "healthy (agent)" }],
      ],
    },
    {
      title: "WireGuard traffic (bytes per minute, all servers)",
      stat: "Sum",
      metrics: [
        [agent.namespace, agent.bytesReceived, ...env, { label: "received from clients" }],
        [agent.namespace, agent.bytesSent, ...env, { label: "sent to clients" }],
      ],
    },
    {
      title: "Memory, root disk and swap used (%, worst server)",
      stat: "Maximum",
      metrics: [
        [cw.namespace, cw.memUsedPercent, ...asg, { label: "memory" }],
        [cw.namespace, cw.diskUsedPercent, ...asg, { label: "root disk" }],
        [cw.namespace, cw.swapUsedPercent, ...asg, { label: "swap" }],
      ],
    },
    {
      title: "Watched processes, fewest on any server (wireguard-go: 0 with the kernel module)",
      metrics: [search("processes", `${cw.namespace},${cw.asgDimension},${cw.processDimension}`, cw.processCount, { [cw.asgDimension]: input.asgName }, "Minimum")],
    },
    ...(input.extraWidgets ?? []),
  ];
}

/** The dashboard_body JSON: panels laid out two per row. */
export function dashboardBody(input: DashboardInput): string {
  const widgets = dashboardPanels(input).map((panel, i) => ({
    type: "metric",
    x: (i % 2) * PANEL.width,
    y: Math.floor(i / 2) * PANEL.height,
    width: PANEL.width,
    height: PANEL.height,
    properties: {
      title: panel.title,
      region: input.region,
      view: "timeSeries",
      stacked: false,
      period: 60,
      stat: panel.stat ?? "Average",
      metrics: panel.metrics,
      ...(panel.annotations ? { annotations: { horizontal: panel.annotations } } : {}),
      yAxis: { left: { min: 0 } },
    },
  }));
  return JSON.stringify({ widgets });
}
