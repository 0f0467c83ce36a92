/**
 * Scaling on CPU and network per instance. Scale out fast (+1 after 3 busy minutes on either
 * signal); scale in slowly, because removing a server drops its clients' flows: one alarm that
 * needs CPU *and* network to be low for scale_in_evaluation_minutes, removing one server, then
 * a cool-down as long again.
 *
 * Network thresholds are bytes per alarm period, not per second: EC2's NetworkOut is the bytes
 * sent during the period, and with 1-minute detailed monitoring, statistic Average over the
 * AutoScalingGroupName dimension is the per-instance bytes per minute. So
 *   10 MB/s x 60 s = 600,000,000 bytes per minute (scale out)
 *    2 MB/s x 60 s = 120,000,000 bytes per minute (scale in)
 */
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Construct } from "constructs";
import type { Settings } from "./config/schema";
import { EC2_METRICS } from "./metrics";

/** Every scaling alarm evaluates one-minute periods (detailed monitoring is on). */
export const SCALING_PERIOD_SECONDS = 60;
/** Busy minutes (out of as many) before a scale-out. */
export const SCALE_OUT_EVALUATION_MINUTES = 3;

/** A rate in bytes per second as the bytes one period of NetworkOut holds. */
export function bytesPerPeriod(bytesPerSecond: number, periodSeconds = SCALING_PERIOD_SECONDS): number {
  return bytesPerSecond * periodSeconds;
}

export interface ScalingThresholds {
  readonly scaleOutCpuPercent: number;
  readonly scaleInCpuPercent: number;
  /** NetworkOut bytes per period, per instance. */
  readonly scaleOutNetworkBytesPerPeriod: number;
  readonly scaleInNetworkBytesPerPeriod: number;
  readonly periodSeconds: number;
}

export function scalingThresholds(s: Settings, periodSeconds = SCALING_PERIOD_SECONDS): ScalingThresholds {
  return {
    scaleOutCpuPercent: s.scale_out_cpu_percent,
    scaleInCpuPercent: s.scale_in_cpu_percent,
    scaleOutNetworkBytesPerPeriod: bytesPerPeriod(s.scale_out_network_bytes_per_second, periodSeconds),
    scaleInNetworkBytesPerPeriod: bytesPerPeriod(s.scale_in_network_bytes_per_second, periodSeconds),
    periodSeconds,
  };
}

/** The scale-in condition as CloudWatch metric math: 1 when the fleet is quiet, else 0. */
export function quietExpression(t: ScalingThresholds): string {
  return `IF(cpu < ${t.scaleInCpuPercent} AND net < ${t.scaleInNetworkBytesPerPeriod}, 1, 0)`;
}

export interface ScalingProps {
  readonly resourcePrefix: string;
  /** The ASG's name (policy target and alarm dimension). */
  readonly asgName: string;
  readonly settings: Settings;
}

export class Scaling extends Construct {
  readonly thresholds: ScalingThresholds;
  readonly scaleOutPolicy: AutoscalingPolicy;
  readonly scaleInPolicy: AutoscalingPolicy;
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: ScalingProps) {
    super(scope, id);
    const s = props.settings;
    const t = (this.thresholds = scalingThresholds(s));
    const prefix = props.resourcePrefix;
    const dimensions = { AutoScalingGroupName: props.asgName };

    // Step scaling: +1 while an alarm is breached; warmup keeps new servers from counting twice.
    this.scaleOutPolicy = new AutoscalingPolicy(this, "ScaleOutPolicy", {
      name: `${prefix}-scale-out`,
      autoscalingGroupName: props.asgName,
      policyType: "StepScaling",
      adjustmentType: "ChangeInCapacity",
      metricAggregationType: "Average",
      estimatedInstanceWarmup: s.instance_warmup_seconds,
      stepAdjustment: [{ scalingAdjustment: 1, metricIntervalLowerBound: "0" }],
    });
    // Terraform deviation: scale-in is SimpleScaling, not StepScaling. An alarm re-invokes its
    // Auto Scaling action every minute while in ALARM and step policies have no cool-down, so a
    // step policy would remove a server a minute down to asg_min. Simple scaling waits for the
    // cool-down (as long as the quiet window) before it removes the next one.
    this.scaleInPolicy = new AutoscalingPolicy(this, "ScaleInPolicy", {
      name: `${prefix}-scale-in`,
      autoscalingGroupName: props.asgName,
      policyType: "SimpleScaling",
      adjustmentType: "ChangeInCapacity",
      scalingAdjustment: -1,
      cooldown: s.scale_in_evaluation_minutes * 60,
    });

    const scaleOut = (id: string, what: string, metricName: string, threshold: number, unit: string) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `${prefix}-scale-out-${what}`,
        alarmDescription: `Add a server: average ${metricName} per instance > ${threshold} ${unit} for ${SCALE_OUT_EVALUATION_MINUTES} of ${SCALE_OUT_EVALUATION_MINUTES} minutes`,
        namespace: EC2_METRICS.namespace,
        metricName,
        dimensions,
        statistic: "Average",
        period: t.periodSeconds,
        evaluationPeriods: SCALE_OUT_EVALUATION_MINUTES,
        datapointsToAlarm: SCALE_OUT_EVALUATION_MINUTES,
        comparisonOperator: "GreaterThanThreshold",
        threshold,
        treatMissingData: "missing",
        alarmActions: [this.scaleOutPolicy.arn],
      });
    this.alarms.push(
      scaleOut("ScaleOutCpuAlarm", "cpu", EC2_METRICS.cpu, t.scaleOutCpuPercent, "percent"),
      scaleOut("ScaleOutNetworkAlarm", "network", EC2_METRICS.networkOut, t.scaleOutNetworkBytesPerPeriod, `bytes per ${t.periodSeconds} s`),
    );

    const metric = (id: string, metricName: string) => ({
      id,
      returnData: false,
      metric: { namespace: EC2_METRICS.namespace, metricName, dimensions, stat: "Average", period: t.periodSeconds },
    });
    this.alarms.push(
      new CloudwatchMetricAlarm(this, "ScaleInAlarm", {
        alarmName: `${prefix}-scale-in-quiet`,
        alarmDescription: `Remove a server: CPU < ${t.scaleInCpuPercent} % and NetworkOut < ${t.scaleInNetworkBytesPerPeriod} bytes per ${t.periodSeconds} s per instance for ${s.scale_in_evaluation_minutes} minutes`,
        metricQuery: [
          metric("cpu", EC2_METRICS.cpu),
          metric("net", EC2_METRICS.networkOut),
          { id: "quiet", expression: quietExpression(t), label: "fleet is quiet (1) or busy (0)", returnData: true },
        ],
        evaluationPeriods: s.scale_in_evaluation_minutes,
        datapointsToAlarm: s.scale_in_evaluation_minutes,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        treatMissingData: "notBreaching", // no data is no evidence of quiet
        alarmActions: [this.scaleInPolicy.arn],
      }),
    );
  }
}
