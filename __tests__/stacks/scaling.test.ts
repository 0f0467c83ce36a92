/** Scaling: thresholds in bytes per period, step scale-out on CPU and network, one conservative scale-in. */
import { bytesPerPeriod, quietExpression, scalingThresholds } from "../../stacks/scaling";
import { DEFAULTS } from "../../stacks/config/schema";
import { byPath, EXAMPLE_ENVIRONMENTS, list, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

test("bytes per period: 10 MB/s = 600,000,000 and 2 MB/s = 120,000,000 bytes per minute", () => {
  expect(bytesPerPeriod(10_000_000)).toBe(600_000_000);
  expect(bytesPerPeriod(2_000_000)).toBe(120_000_000);
  expect(bytesPerPeriod(10_000_000, 300)).toBe(3_000_000_000);
  expect(scalingThresholds(DEFAULTS)).toEqual({
    scaleOutCpuPercent: 70,
    scaleInCpuPercent: 30,
    scaleOutNetworkBytesPerPeriod: 600_000_000,
    scaleInNetworkBytesPerPeriod: 120_000_000,
    periodSeconds: 60,
  });
  expect(quietExpression(scalingThresholds(DEFAULTS))).toBe("IF(cpu < 30 AND net < 120000000, 1, 0)");
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  const asgName = (tf: Record<string, any>) => ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name");

  test("scale out: step policy +1 with warmup", () => {
    const { tf } = synths[name];
    expect(byPath(tf, "aws_autoscaling_policy", "Scaling/ScaleOutPolicy")).toEqual({
      name: `wg-ha-${name}-scale-out`,
      autoscaling_group_name: asgName(tf),
      policy_type: "StepScaling",
      adjustment_type: "ChangeInCapacity",
      metric_aggregation_type: "Average",
      estimated_instance_warmup: 180,
      step_adjustment: [{ scaling_adjustment: 1, metric_interval_lower_bound: "0" }],
    });
  });

  test.each([
    ["ScaleOutCpuAlarm", "CPUUtilization", 70],
    ["ScaleOutNetworkAlarm", "NetworkOut", 600_000_000],
  ])("%s: average %s per instance > %d for 3 of 3 one-minute periods", (id, metric, threshold) => {
    const { tf } = synths[name];
    expect(byPath(tf, "aws_cloudwatch_metric_alarm", `Scaling/${id}`)).toMatchObject({
      namespace: "AWS/EC2",
      metric_name: metric,
      dimensions: { AutoScalingGroupName: asgName(tf) },
      statistic: "Average",
      period: 60,
      evaluation_periods: 3,
      datapoints_to_alarm: 3,
      comparison_operator: "GreaterThanThreshold",
      threshold,
      alarm_actions: [ref(tf, "aws_autoscaling_policy", "Scaling/ScaleOutPolicy", "arn")],
    });
  });

  test("scale in: one metric-math alarm (CPU and network both low for 15 minutes) removes one server, then cools down", () => {
    const { tf } = synths[name];
    const alarm = byPath(tf, "aws_cloudwatch_metric_alarm", "Scaling/ScaleInAlarm");
    expect(alarm).toMatchObject({
      evaluation_periods: 15,
      datapoints_to_alarm: 15,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      treat_missing_data: "notBreaching",
      alarm_actions: [ref(tf, "aws_autoscaling_policy", "Scaling/ScaleInPolicy", "arn")],
    });
    const metric = (metric_name: string) => ({ namespace: "AWS/EC2", metric_name, dimensions: { AutoScalingGroupName: asgName(tf) }, stat: "Average", period: 60 });
    expect(alarm.metric_query).toEqual([
      { id: "cpu", return_data: false, metric: metric("CPUUtilization") },
      { id: "net", return_data: false, metric: metric("NetworkOut") },
      { id: "quiet", expression: "IF(cpu < 30 AND net < 120000000, 1, 0)", label: expect.any(String), return_data: true },
    ]);
    expect(alarm.metric_name).toBeUndefined();
    expect(byPath(tf, "aws_autoscaling_policy", "Scaling/ScaleInPolicy")).toMatchObject({
      autoscaling_group_name: asgName(tf),
      adjustment_type: "ChangeInCapacity",
      scaling_adjustment: -1,
      cooldown: 15 * 60,
    });
    // Exactly one scale-in path: no alarm on CPU or network alone removes servers.
    const scaleIn = ref(tf, "aws_autoscaling_policy", "Scaling/ScaleInPolicy", "arn");
    expect(list(tf, "aws_cloudwatch_metric_alarm").filter((a) => (a.alarm_actions ?? []).includes(scaleIn))).toHaveLength(1);
  });
});

test("custom thresholds are converted to bytes per minute", async () => {
  const { tf } = await synthSettings("scale_out_network_bytes_per_second = 25000000\nscale_in_network_bytes_per_second = 5000000\nscale_in_cpu_percent = 20\nscale_in_evaluation_minutes = 30");
  expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Scaling/ScaleOutNetworkAlarm").threshold).toBe(1_500_000_000);
  const scaleIn = byPath(tf, "aws_cloudwatch_metric_alarm", "Scaling/ScaleInAlarm");
  expect(scaleIn.metric_query[2].expression).toBe("IF(cpu < 20 AND net < 300000000, 1, 0)");
  expect(scaleIn.evaluation_periods).toBe(30);
  expect(byPath(tf, "aws_autoscaling_policy", "Scaling/ScaleInPolicy").cooldown).toBe(1800);
});
