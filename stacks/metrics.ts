/**
 * Every CloudWatch metric name the stack alarms on or charts, in one place. The servers' own
 * metrics (CloudWatch agent + health agent) go to METRICS_NAMESPACE: the instance role may put
 * metric data into that namespace only.
 */

/** Namespace of the servers' custom metrics (memory, disk, WireGuard peers, bytes). */
export const METRICS_NAMESPACE = "WgHa";

/** EC2 and Auto Scaling metrics, dimension AutoScalingGroupName (needs 1-minute detailed monitoring). */
export const EC2_METRICS = {
  namespace: "AWS/EC2",
  cpu: "CPUUtilization",
  networkOut: "NetworkOut",
  networkIn: "NetworkIn",
} as const;

export const ASG_METRICS = {
  namespace: "AWS/AutoScaling",
  desired: "GroupDesiredCapacity",
  inService: "GroupInServiceInstances",
  pending: "GroupPendingInstances",
  terminating: "GroupTerminatingInstances",
  min: "GroupMinSize",
  max: "GroupMaxSize",
  total: "GroupTotalInstances",
} as const;

/** The Group* metrics the ASG publishes every minute (enabled_metrics). */
export const ASG_ENABLED_METRICS: string[] = [
  ASG_METRICS.min, ASG_METRICS.max, ASG_METRICS.desired, ASG_METRICS.inService,
  ASG_METRICS.pending, ASG_METRICS.terminating, ASG_METRICS.total,
];

/** NLB metrics; dimension values are arn_suffix (LoadBalancer, TargetGroup), not names. */
export const NLB_METRICS = {
  namespace: "AWS/NetworkELB",
  activeFlows: "ActiveFlowCount_UDP",
  newFlows: "NewFlowCount_UDP",
  processedBytes: "ProcessedBytes_UDP",
  healthyHosts: "HealthyHostCount",
  unhealthyHosts: "UnHealthyHostCount",
} as const;

/**
 * The servers' health agent (templates/agent/wg-ha-agent.py, CloudWatch EMF via the CloudWatch
 * agent): namespace METRICS_NAMESPACE, dimension sets [Environment] and [Environment, InstanceId].
 */
export const AGENT_METRICS = {
  namespace: METRICS_NAMESPACE,
  environmentDimension: "Environment",
  /** Count, Maximum across servers (every server has the same peers). */
  peers: "Peers",
  /** Count, Sum across servers (a client is on one server). */
  activePeers: "ActivePeers",
  /** 1 per healthy server each minute: Sum = healthy servers, SampleCount = reporting servers. */
  healthy: "Healthy",
  bytesReceived: "BytesReceived",
  bytesSent: "BytesSent",
  syncAgeSeconds: "SyncAgeSeconds",
} as const;
