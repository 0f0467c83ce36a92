/** Monitoring: encrypted SNS topic, alarms on NLB health and CPU, dashboard with scaling thresholds. */
import { dashboardBody, dashboardPanels } from "../../stacks/dashboard";
import { scalingThresholds } from "../../stacks/scaling";
import { DEFAULTS } from "../../stacks/config/schema";
import { byPath, EXAMPLE_ENVIRONMENTS, list, only, policyDocumentOf, ref, synthExamples, synthSettings, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("SNS topic encrypted with the CMK; only this environment's CloudWatch alarms may publish", () => {
    const { tf } = synths[name];
    const topic = only(tf, "aws_sns_topic");
    expect(topic).toEqual({ name: `wg-ha-${name}-alarms`, kms_master_key_id: ref(tf, "aws_kms_key", "EncryptionKey/Key", "arn") });
    const topicPolicy = only(tf, "aws_sns_topic_policy");
    expect(topicPolicy.arn).toBe(ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn"));
    const doc = policyDocumentOf(tf, topicPolicy.policy);
    expect(doc.statement).toEqual([
      expect.objectContaining({
        actions: ["sns:Publish"],
        resources: [ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn")],
        condition: expect.arrayContaining([expect.objectContaining({ test: "ArnLike", variable: "aws:SourceArn" })]),
      }),
    ]);
    expect(doc.statement[0].principals[0].identifiers[0]).toMatch(/^cloudwatch\./);
    expect(list(tf, "aws_sns_topic_subscription")).toEqual([]); // alarm_email unset in the example
  });

  test("UnHealthyHostCount > 0 (2 of 3 min) and HealthyHostCount < asg_min, on the NLB + target group arn suffixes", () => {
    const { tf, env } = synths[name];
    const topic = ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn");
    const dimensions = {
      LoadBalancer: ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn_suffix"),
      TargetGroup: ref(tf, "aws_lb_target_group", "LoadBalancer/TargetGroup", "arn_suffix"),
    };
    expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/UnhealthyHostsAlarm")).toMatchObject({
      namespace: "AWS/NetworkELB", metric_name: "UnHealthyHostCount", dimensions, statistic: "Maximum", period: 60,
      evaluation_periods: 3, datapoints_to_alarm: 2, comparison_operator: "GreaterThanThreshold", threshold: 0,
      alarm_actions: [topic], ok_actions: [topic],
    });
    expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/HealthyHostsBelowMinAlarm")).toMatchObject({
      namespace: "AWS/NetworkELB", metric_name: "HealthyHostCount", dimensions, statistic: "Minimum",
      comparison_operator: "LessThanThreshold", threshold: env.settings.asg_min, treat_missing_data: "breaching",
      alarm_actions: [topic],
    });
  });

  test("CPU high alarm to SNS", () => {
    const { tf } = synths[name];
    expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/CpuHighAlarm")).toMatchObject({
      namespace: "AWS/EC2", metric_name: "CPUUtilization",
      dimensions: { AutoScalingGroupName: ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name") },
      comparison_operator: "GreaterThanThreshold", threshold: 90,
      alarm_actions: [ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn")],
    });
  });

  test("dashboard per environment: NLB UDP flows/bytes, healthy hosts, ASG size, CPU and NetworkOut with thresholds", () => {
    const { tf } = synths[name];
    const dashboard = only(tf, "aws_cloudwatch_dashboard");
    expect(dashboard.dashboard_name).toBe(`wg-ha-${name}`);
    const body = JSON.parse(dashboard.dashboard_body);
    const metrics = JSON.stringify(body.widgets.map((w: any) => w.properties.metrics));
    for (const metric of ["ActiveFlowCount_UDP", "NewFlowCount_UDP", "ProcessedBytes_UDP", "HealthyHostCount", "UnHealthyHostCount",
      "GroupDesiredCapacity", "GroupInServiceInstances", "CPUUtilization", "NetworkOut", "Peers", "ActivePeers"]) {
      expect(metrics).toContain(`"${metric}"`);
    }
    expect(metrics).toContain(ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn_suffix"));
    expect(metrics).toContain(`["WgHa","Peers","Environment","${name}"`);
    const annotations = body.widgets.flatMap((w: any) => w.properties.annotations?.horizontal ?? []).map((a: any) => a.value);
    expect(annotations).toEqual([70, 30, 600_000_000, 120_000_000]);
    expect(body.widgets.every((w: any) => w.properties.region === "eu-west-1")).toBe(true);
  });

  test("outputs: dashboard URL and alarm topic", () => {
    const { tf } = synths[name];
    expect(tf.output.dashboard_url.value).toBe(`https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=wg-ha-${name}`);
    expect(tf.output.alarm_topic_arn.value).toBe(ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn"));
  });
});

test.each(EXAMPLE_ENVIRONMENTS)("%s: alarm when no health agent reports for 10 minutes", async (name) => {
  const { tf } = synths[name];
  expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/AgentSilentAlarm")).toMatchObject({
    namespace: "WgHa", metric_name: "Healthy", dimensions: { Environment: name }, statistic: "SampleCount",
    period: 300, evaluation_periods: 2, comparison_operator: "LessThanThreshold", threshold: 1, treat_missing_data: "breaching",
    alarm_actions: [ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn")],
  });
});

test("alarm_email: an e-mail subscription on the alarm topic", async () => {
  const { tf } = await synthSettings('alarm_email = "ops@example.com"');
  expect(only(tf, "aws_sns_topic_subscription")).toEqual({
    topic_arn: ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn"),
    protocol: "email",
    endpoint: "ops@example.com",
  });
});

test("extra dashboard panels (e.g. WireGuard peers) are appended, two per row", () => {
  const input = { region: "eu-west-1", loadBalancer: "net/x/1", targetGroup: "targetgroup/y/2", asgName: "g", environment: "dev", thresholds: scalingThresholds(DEFAULTS) };
  const extra = { title: "WireGuard peers", metrics: [["WgHa", "peers", "AutoScalingGroupName", "g"]] };
  const panels = dashboardPanels({ ...input, extraWidgets: [extra] });
  expect(panels.at(-1)).toBe(extra);
  const widgets = JSON.parse(dashboardBody({ ...input, extraWidgets: [extra] })).widgets;
  expect(widgets).toHaveLength(8);
  expect(widgets[7]).toMatchObject({ x: 12, y: 18, width: 12, height: 6, properties: { title: "WireGuard peers" } });
});
