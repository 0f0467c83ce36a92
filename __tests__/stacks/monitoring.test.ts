/** Monitoring: encrypted SNS topic, alarms (NLB health, CPU, silent agents, stale sync), dashboard with thresholds. */
import { dashboardBody, dashboardPanels } from "../../stacks/dashboard";
import { scalingThresholds } from "../../stacks/scaling";
import { DEFAULTS } from "../../stacks/config/schema";
import { AGENT_SILENT_MINUTES, SYNC_AGE_ALARM_SECONDS } from "../../stacks/monitoring";
import { renderSettingsFile } from "../../stacks/user-data";
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

  test("dashboard per environment (details: dashboard.test.ts); thresholds drawn in; one region", () => {
    const { tf } = synths[name];
    const dashboard = only(tf, "aws_cloudwatch_dashboard");
    expect(dashboard.dashboard_name).toBe(`wg-ha-${name}`);
    const body = JSON.parse(dashboard.dashboard_body);
    const metrics = JSON.stringify(body.widgets.map((w: any) => w.properties.metrics));
    for (const metric of ["ActiveFlowCount_UDP", "NewFlowCount_UDP", "ProcessedBytes_UDP", "HealthyHostCount", "UnHealthyHostCount",
      "GroupDesiredCapacity", "GroupInServiceInstances", "CPUUtilization", "NetworkOut", "Peers", "ActivePeers", "SyncAgeSeconds"]) {
      expect(metrics).toContain(`"${metric}"`);
    }
    expect(metrics).toContain(ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn_suffix"));
    expect(metrics).toContain(`["WgHa","Peers","Environment","${name}"`);
    const annotations = body.widgets.flatMap((w: any) => w.properties.annotations?.horizontal ?? []).map((a: any) => a.value);
    expect(annotations).toEqual([70, 30, 600_000_000, 120_000_000, SYNC_AGE_ALARM_SECONDS]);
    expect(body.widgets.every((w: any) => w.properties.region === "eu-west-1")).toBe(true);
  });

  test("outputs: dashboard URL and alarm topic", () => {
    const { tf } = synths[name];
    expect(tf.output.dashboard_url.value).toBe(`https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=wg-ha-${name}`);
    expect(tf.output.alarm_topic_arn.value).toBe(ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn"));
  });
});

test.each(EXAMPLE_ENVIRONMENTS)("%s: alarm when an in-service server's health agent has not reported for 5 minutes", async (name) => {
  const { tf } = synths[name];
  const topic = ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn");
  const alarm = byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/AgentSilentAlarm");
  expect(alarm).toEqual({
    alarm_name: `wg-ha-${name}-agents-silent`,
    alarm_description: expect.stringMatching(/no health-agent metrics for 5 minutes/),
    metric_query: [
      {
        id: "reporting",
        return_data: false,
        metric: { namespace: "WgHa", metric_name: "Healthy", dimensions: { Environment: name }, stat: "SampleCount", period: 60 },
      },
      {
        id: "inservice",
        return_data: false,
        metric: {
          namespace: "AWS/AutoScaling", metric_name: "GroupInServiceInstances", stat: "Minimum", period: 60,
          dimensions: { AutoScalingGroupName: ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name") },
        },
      },
      { id: "silent", expression: "inservice - FILL(reporting, 0)", label: "in-service servers not reporting", return_data: true },
    ],
    evaluation_periods: AGENT_SILENT_MINUTES,
    datapoints_to_alarm: AGENT_SILENT_MINUTES,
    comparison_operator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    treat_missing_data: "breaching",
    alarm_actions: [topic],
    ok_actions: [topic],
  });
  expect(AGENT_SILENT_MINUTES).toBe(5);
});

test.each(EXAMPLE_ENVIRONMENTS)("%s: alarm when a server's sync age stays above 60 s for 3 minutes", async (name) => {
  const { tf } = synths[name];
  const topic = ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn");
  expect(byPath(tf, "aws_cloudwatch_metric_alarm", "Monitoring/SyncAgeAlarm")).toMatchObject({
    alarm_name: `wg-ha-${name}-sync-stale`,
    namespace: "WgHa", metric_name: "SyncAgeSeconds", dimensions: { Environment: name }, statistic: "Maximum", period: 60,
    evaluation_periods: 3, datapoints_to_alarm: 3, comparison_operator: "GreaterThanThreshold", threshold: 60,
    treat_missing_data: "notBreaching", alarm_actions: [topic], ok_actions: [topic],
  });
  // Above what a healthy server shows (heartbeat 5 s) and above the agent's own health limit.
  const settings = renderSettingsFile({ env: synths[name].env, efsFileSystemId: "fs-1", endpoint: "e", asgName: "a", lifecycleHookName: "h", logGroupName: "/l" });
  const stale = Number(/^WG_HA_SYNC_STALE_SECONDS=(\d+)$/m.exec(settings)![1]);
  const heartbeat = Number(/^WG_HA_SYNC_HEARTBEAT_SECONDS=(\d+)$/m.exec(settings)![1]);
  expect(SYNC_AGE_ALARM_SECONDS).toBeGreaterThanOrEqual(2 * stale);
  expect(SYNC_AGE_ALARM_SECONDS).toBeGreaterThan(heartbeat);
});

test.each(EXAMPLE_ENVIRONMENTS)("%s: the alarms are exactly these, all to the topic", async (name) => {
  const { tf } = synths[name];
  const topic = ref(tf, "aws_sns_topic", "Monitoring/AlarmTopic", "arn");
  const mine = list(tf, "aws_cloudwatch_metric_alarm").filter((a) => (a.alarm_actions as string[]).includes(topic));
  expect(mine.map((a) => a.alarm_name.replace(`wg-ha-${name}-`, "")).sort()).toEqual(
    ["agents-silent", "cpu-high", "healthy-servers-below-min", "sync-stale", "unhealthy-servers"],
  );
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
  const input = { region: "eu-west-1", loadBalancer: "net/x/1", targetGroup: "targetgroup/y/2", asgName: "g", environment: "dev", thresholds: scalingThresholds(DEFAULTS), syncAgeAlarmSeconds: 60 };
  const extra = { title: "WireGuard peers", metrics: [["WgHa", "peers", "AutoScalingGroupName", "g"]] };
  const builtIn = dashboardPanels(input).length;
  const panels = dashboardPanels({ ...input, extraWidgets: [extra] });
  expect(panels.at(-1)).toBe(extra);
  const widgets = JSON.parse(dashboardBody({ ...input, extraWidgets: [extra] })).widgets;
  expect(widgets).toHaveLength(builtIn + 1);
  expect(widgets.at(-1)).toMatchObject({ x: (builtIn % 2) * 12, y: Math.floor(builtIn / 2) * 6, width: 12, height: 6, properties: { title: "WireGuard peers" } });
});
