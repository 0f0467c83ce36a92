/**
 * Alarms for people (the scaling alarms live in scaling.ts): an encrypted SNS topic with an
 * optional e-mail subscription, alarms on unhealthy/too few healthy servers, sustained high CPU,
 * servers whose health agent stops reporting and a stale sync, and the environment's CloudWatch
 * dashboard (stacks/dashboard.ts).
 */
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";
import type { AwsAccount } from "./aws-account";
import { dashboardBody, type MetricPanel } from "./dashboard";
import { policyDocument } from "./iam-policy";
import { AGENT_METRICS, ASG_METRICS, EC2_METRICS, NLB_METRICS } from "./metrics";
import type { ScalingThresholds } from "./scaling";

/** Sustained CPU above this (or the scale-out threshold, if higher) means scaling is not keeping up. */
export const CPU_HIGH_ALARM_PERCENT = 90;
/** Minutes an in-service server may publish no health-agent metrics before the alarm fires. */
export const AGENT_SILENT_MINUTES = 5;
/**
 * SyncAgeSeconds above this, for SYNC_AGE_ALARM_MINUTES, on any server: the shared store has been
 * unreadable (or the sync loop stuck) twice as long as the agent tolerates before failing health
 * (WG_HA_SYNC_STALE_SECONDS, 30 s, stacks/user-data.ts). A healthy server stays under 5 s.
 */
export const SYNC_AGE_ALARM_SECONDS = 60;
export const SYNC_AGE_ALARM_MINUTES = 3;

export interface MonitoringProps {
  readonly account: AwsAccount;
  readonly resourcePrefix: string;
  readonly kmsKeyArn: string;
  /** @default - no subscription; subscribe later in the SNS console */
  readonly alarmEmail?: string;
  /** aws_lb.arn_suffix and aws_lb_target_group.arn_suffix (the metrics' dimension values). */
  readonly loadBalancerArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly asgName: string;
  readonly asgMin: number;
  /**
   * The environment's AZs (names or tokens), for the per-AZ lines of the dashboard.
   * @default - the dashboard finds the AZs with a SEARCH expression
   */
  readonly availabilityZones?: readonly string[];
  /** Environment name: the agents' metric dimension. */
  readonly environment: string;
  readonly thresholds: ScalingThresholds;
  /** Panels added to the dashboard after the built-in ones. */
  readonly extraDashboardPanels?: readonly MetricPanel[];
}

export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${name}`;
}

export class Monitoring extends Construct {
  readonly topic: SnsTopic;
  readonly alarms: CloudwatchMetricAlarm[];
  readonly dashboard: CloudwatchDashboard;
  readonly dashboardName: string;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { account } = props;
    const prefix = props.resourcePrefix;
    this.region = account.region;

    this.topic = new SnsTopic(this, "AlarmTopic", { name: `${prefix}-alarms`, kmsMasterKeyId: props.kmsKeyArn });
    const publish = policyDocument(this, "AlarmTopicPolicyDocument", [
      {
        sid: "CloudWatchAlarmsOfThisEnvironmentPublish",
        effect: "Allow",
        actions: ["sns:Publish"],
        principals: [{ type: "Service", identifiers: [account.servicePrincipal("cloudwatch")] }],
        resources: [this.topic.arn],
        condition: [
          { test: "StringEquals", variable: "aws:SourceAccount", values: [account.accountId] },
          { test: "ArnLike", variable: "aws:SourceArn", values: [account.arn("cloudwatch", `alarm:${prefix}-*`)] },
        ],
      },
    ]);
    new SnsTopicPolicy(this, "AlarmTopicPolicy", { arn: this.topic.arn, policy: publish.json });
    if (props.alarmEmail) {
      new SnsTopicSubscription(this, "AlarmEmail", { topicArn: this.topic.arn, protocol: "email", endpoint: props.alarmEmail });
    }

    const notify = [this.topic.arn];
    const targetGroup = { LoadBalancer: props.loadBalancerArnSuffix, TargetGroup: props.targetGroupArnSuffix };
    const common = { period: 60, alarmActions: notify, okActions: notify };
    const agentDimensions = { [AGENT_METRICS.environmentDimension]: props.environment };
    this.alarms = [
      new CloudwatchMetricAlarm(this, "UnhealthyHostsAlarm", {
        ...common,
        alarmName: `${prefix}-unhealthy-servers`,
        alarmDescription: "A VPN server fails its health check (2 of the last 3 minutes)",
        namespace: NLB_METRICS.namespace,
        metricName: NLB_METRICS.unhealthyHosts,
        dimensions: targetGroup,
        statistic: "Maximum",
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        treatMissingData: "notBreaching",
      }),
      new CloudwatchMetricAlarm(this, "HealthyHostsBelowMinAlarm", {
        ...common,
        alarmName: `${prefix}-healthy-servers-below-min`,
        alarmDescription: `Fewer healthy VPN servers than asg_min (${props.asgMin}) for 2 of the last 3 minutes`,
        namespace: NLB_METRICS.namespace,
        metricName: NLB_METRICS.healthyHosts,
        dimensions: targetGroup,
        statistic: "Minimum",
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: "LessThanThreshold",
        threshold: props.asgMin,
        treatMissingData: "breaching", // no data points = no healthy target reported
      }),
      new CloudwatchMetricAlarm(this, "CpuHighAlarm", {
        ...common,
        alarmName: `${prefix}-cpu-high`,
        alarmDescription: "Average server CPU stays high for 5 minutes: scaling is not keeping up (asg_max?)",
        namespace: EC2_METRICS.namespace,
        metricName: EC2_METRICS.cpu,
        dimensions: { AutoScalingGroupName: props.asgName },
        statistic: "Average",
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        comparisonOperator: "GreaterThanThreshold",
        threshold: Math.max(CPU_HIGH_ALARM_PERCENT, props.thresholds.scaleOutCpuPercent),
        treatMissingData: "missing",
      }),
      // Per server, in metric math: fewer reporting health agents (EMF lines, one per server and
      // minute) than in-service instances. FILL counts a minute without any line as 0; if even
      // the difference is missing (no agent at all), missing data is breaching.
      new CloudwatchMetricAlarm(this, "AgentSilentAlarm", {
        alarmActions: notify,
        okActions: notify,
        alarmName: `${prefix}-agents-silent`,
        alarmDescription: `An in-service server has published no health-agent metrics for ${AGENT_SILENT_MINUTES} minutes (agent, CloudWatch agent or log shipping down)`,
        metricQuery: [
          {
            id: "reporting",
            returnData: false,
            metric: { namespace: AGENT_METRICS.namespace, metricName: AGENT_METRICS.healthy, dimensions: agentDimensions, stat: "SampleCount", period: 60 },
          },
          {
            id: "inservice",
            returnData: false,
            metric: { namespace: ASG_METRICS.namespace, metricName: ASG_METRICS.inService, dimensions: { AutoScalingGroupName: props.asgName }, stat: "Minimum", period: 60 },
          },
          { id: "silent", expression: "inservice - FILL(reporting, 0)", label: "in-service servers not reporting", returnData: true },
        ],
        evaluationPeriods: AGENT_SILENT_MINUTES,
        datapointsToAlarm: AGENT_SILENT_MINUTES,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        treatMissingData: "breaching", // no data is the condition this alarm is for
      }),
      new CloudwatchMetricAlarm(this, "SyncAgeAlarm", {
        ...common,
        alarmName: `${prefix}-sync-stale`,
        alarmDescription: `A server has not synced with the shared store (EFS) for over ${SYNC_AGE_ALARM_SECONDS} s, ${SYNC_AGE_ALARM_MINUTES} minutes in a row: peers added or revoked elsewhere do not reach it`,
        namespace: AGENT_METRICS.namespace,
        metricName: AGENT_METRICS.syncAgeSeconds,
        dimensions: agentDimensions,
        statistic: "Maximum",
        evaluationPeriods: SYNC_AGE_ALARM_MINUTES,
        datapointsToAlarm: SYNC_AGE_ALARM_MINUTES,
        comparisonOperator: "GreaterThanThreshold",
        threshold: SYNC_AGE_ALARM_SECONDS,
        treatMissingData: "notBreaching", // a silent agent is the agents-silent alarm's
      }),
    ];

    this.dashboardName = prefix;
    this.dashboard = new CloudwatchDashboard(this, "Dashboard", {
      dashboardName: this.dashboardName,
      dashboardBody: dashboardBody({
        region: account.region,
        loadBalancer: props.loadBalancerArnSuffix,
        targetGroup: props.targetGroupArnSuffix,
        asgName: props.asgName,
        thresholds: props.thresholds,
        environment: props.environment,
        availabilityZones: props.availabilityZones,
        syncAgeAlarmSeconds: SYNC_AGE_ALARM_SECONDS,
        extraWidgets: props.extraDashboardPanels,
      }),
    });
  }

  get dashboardUrl(): string {
    return dashboardUrl(this.region, this.dashboardName);
  }
}
