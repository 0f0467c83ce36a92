/**
 * The CloudWatch dashboard body as a pure function: NLB UDP flows and bytes, healthy hosts (in
 * total and per AZ), ASG size, CPU / NetworkOut with the scaling thresholds drawn in, and the
 * health agents' WireGuard peers. Add panels through `extraWidgets`.
 * Values may be Terraform tokens (arn suffixes); they resolve inside the JSON string.
 */
import { AGENT_METRICS, ASG_METRICS, EC2_METRICS, NLB_METRICS } from "./metrics";
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
  /** Extra metric panels appended after the built-in ones (full width each). */
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

export function dashboardPanels(input: DashboardInput): MetricPanel[] {
  const lb = ["LoadBalancer", input.loadBalancer];
  const tg = ["TargetGroup", input.targetGroup, ...lb];
  const asg = ["AutoScalingGroupName", input.asgName];
  const agent = [AGENT_METRICS.environmentDimension, input.environment];
  const t = input.thresholds;
  const perAz = (metric: string) =>
    `SEARCH('{${NLB_METRICS.namespace},AvailabilityZone,LoadBalancer,TargetGroup} MetricName="${metric}" LoadBalancer="${input.loadBalancer}"', 'Minimum', 60)`;
  return [
    {
      title: "NLB UDP flows",
      metrics: [
        [NLB_METRICS.namespace, NLB_METRICS.activeFlows, ...lb, { stat: "Average", label: "active flows" }],
        [NLB_METRICS.namespace, NLB_METRICS.newFlows, ...lb, { stat: "Sum", label: "new flows / min" }],
      ],
    },
    {
      title: "NLB UDP bytes processed (per minute)",
      metrics: [[NLB_METRICS.namespace, NLB_METRICS.processedBytes, ...lb, { stat: "Sum" }]],
    },
    {
      title: "Healthy / unhealthy servers (total and per AZ)",
      metrics: [
        [NLB_METRICS.namespace, NLB_METRICS.healthyHosts, ...tg, { stat: "Minimum", label: "healthy" }],
        [NLB_METRICS.namespace, NLB_METRICS.unhealthyHosts, ...tg, { stat: "Maximum", label: "unhealthy" }],
        [{ expression: perAz(NLB_METRICS.healthyHosts), id: "healthyPerAz", label: "healthy" }],
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
      title: "WireGuard peers (health agent)",
      metrics: [
        [AGENT_METRICS.namespace, AGENT_METRICS.peers, ...agent, { stat: "Maximum", label: "peers configured" }],
        [AGENT_METRICS.namespace, AGENT_METRICS.activePeers, ...agent, { stat: "Sum", label: "handshake < 3 min" }],
        [AGENT_METRICS.namespace, AGENT_METRICS.healthy, ...agent, { stat: "Sum", label: "healthy servers (agent)" }],
      ],
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
