/**
 * Every CloudWatch metric name the stack alarms on or charts, in one place. The servers' own
 * metrics (CloudWatch agent + health agent) go to METRICS_NAMESPACE: the instance role may put
 * metric data into that namespace only. Tests check the servers' names against what they publish:
 * AGENT_METRICS against the health agent's `--list-metrics`, CW_AGENT_METRICS against the
 * CloudWatch agent config (templates/cloudwatch/amazon-cloudwatch-agent.jsonc).
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

/**
 * The CloudWatch agent on the servers (templates/cloudwatch/amazon-cloudwatch-agent.jsonc):
 * namespace METRICS_NAMESPACE, dimensions InstanceId + AutoScalingGroupName, rolled up per
 * AutoScalingGroupName (every metric) and per AutoScalingGroupName + pattern (procstat: one series
 * per watched process). A name is `<plugin>_<measurement>`; procstat's pid_count is reported by its
 * lookup as procstat_lookup_pid_count.
 */
export const CW_AGENT_METRICS = {
  namespace: METRICS_NAMESPACE,
  asgDimension: "AutoScalingGroupName",
  instanceDimension: "InstanceId",
  /** procstat's dimension: the regular expression that selects the process (its command line). */
  processDimension: "pattern",
  memUsedPercent: "mem_used_percent",
  diskUsedPercent: "disk_used_percent",
  swapUsedPercent: "swap_used_percent",
  processCount: "procstat_lookup_pid_count",
  processCpuPercent: "procstat_cpu_usage",
  processMemoryBytes: "procstat_memory_rss",
} as const;
