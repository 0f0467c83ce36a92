/**
 * One source of truth for metric names: every metric the dashboards and alarms of every example
 * environment use (plain rows, SEARCH expressions, metric-math queries) is one the servers publish
 * with those dimensions: the health agent's metrics as its `--list-metrics` prints them (EMF), the
 * CloudWatch agent's as its config (templates/cloudwatch/) produces them, and AWS's own (NLB, EC2,
 * Auto Scaling) only through the constants in stacks/metrics.ts.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_METRICS, ASG_METRICS, CW_AGENT_METRICS, EC2_METRICS, METRICS_NAMESPACE, NLB_METRICS } from "../../stacks/metrics";
import { TEMPLATES_DIR } from "../../stacks/user-data";
import { list, synthExamples, type Synthesized } from "../stacks/synth";

interface Use {
  readonly where: string;
  readonly namespace: string;
  readonly name: string;
  /** Dimension names, sorted. */
  readonly dimensions: string[];
}

/** The health agent's CloudWatch table, as `python3 templates/agent/wg-ha-agent.py --list-metrics` prints it. */
function agentTable(): { namespace: string; dimensions: string[][]; metrics: { name: string; unit: string; statistic: string }[] } {
  const r = spawnSync("python3", [join(TEMPLATES_DIR, "agent", "wg-ha-agent.py"), "--list-metrics"], { encoding: "utf8", timeout: 15_000 });
  if (r.status !== 0) throw new Error(`--list-metrics failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout).cloudwatch;
}

/** The CloudWatch agent config template as JSON (comment lines dropped, placeholders left in strings). */
function cloudWatchAgentConfig(): any {
  const text = readFileSync(join(TEMPLATES_DIR, "cloudwatch", "amazon-cloudwatch-agent.jsonc"), "utf8");
  return JSON.parse(text.split("\n").filter((l) => !/^\s*\/\//.test(l)).join("\n"));
}

/**
 * The metric names the CloudWatch agent publishes for a config: `<plugin>_<measurement>` (a
 * measurement may already carry the prefix), and procstat's pid_count from its lookup as
 * procstat_lookup_pid_count (CloudWatch user guide, "Metrics collected by procstat").
 */
function cloudWatchAgentNames(config: any): Map<string, string> {
  const names = new Map<string, string>(); // name -> plugin
  for (const [plugin, section] of Object.entries<any>(config.metrics.metrics_collected)) {
    const entries: any[] = Array.isArray(section) ? section : [section];
    for (const entry of entries) {
      for (const m of entry.measurement as string[]) {
        const name = plugin === "procstat" && m === "pid_count" ? "procstat_lookup_pid_count" : m.startsWith(`${plugin}_`) ? m : `${plugin}_${m}`;
        names.set(name, plugin);
      }
    }
  }
  return names;
}

/** SEARCH('{Namespace,Dim1,Dim2} MetricName="X" ...', ...) -> namespace, name, dimensions. */
function parseSearch(expression: string): Omit<Use, "where"> {
  const m = /^SEARCH\('\{([^}]+)\} MetricName="([^"]+)"/.exec(expression);
  if (!m) throw new Error(`not a SEARCH expression this test understands: ${expression}`);
  const [namespace, ...dimensions] = m[1].split(",");
  return { namespace, name: m[2], dimensions: dimensions.sort() };
}

function uses(s: Synthesized): Use[] {
  const out: Use[] = [];
  for (const dashboard of list(s.tf, "aws_cloudwatch_dashboard")) {
    for (const widget of JSON.parse(dashboard.dashboard_body).widgets) {
      const where = `${s.env.name} dashboard "${widget.properties.title}"`;
      for (const row of widget.properties.metrics as unknown[][]) {
        if (typeof row[0] === "object") {
          out.push({ where, ...parseSearch((row[0] as { expression: string }).expression) });
          continue;
        }
        const plain = row.filter((x) => typeof x === "string") as string[];
        const [namespace, name, ...pairs] = plain;
        out.push({ where, namespace, name, dimensions: pairs.filter((_, i) => i % 2 === 0).sort() });
      }
    }
  }
  for (const alarm of list(s.tf, "aws_cloudwatch_metric_alarm")) {
    const where = `${s.env.name} alarm ${alarm.alarm_name}`;
    if (alarm.metric_name) out.push({ where, namespace: alarm.namespace, name: alarm.metric_name, dimensions: Object.keys(alarm.dimensions ?? {}).sort() });
    for (const q of alarm.metric_query ?? []) {
      if (q.metric) out.push({ where, namespace: q.metric.namespace, name: q.metric.metric_name, dimensions: Object.keys(q.metric.dimensions ?? {}).sort() });
    }
  }
  return out;
}

let synths: Synthesized[];
beforeAll(async () => {
  synths = await synthExamples();
});

test("the health agent publishes every AGENT_METRICS name, in METRICS_NAMESPACE, per environment and per instance", () => {
  const table = agentTable();
  expect(table.namespace).toBe(METRICS_NAMESPACE);
  expect(table.dimensions).toEqual([[AGENT_METRICS.environmentDimension], [AGENT_METRICS.environmentDimension, "InstanceId"]]);
  const published = table.metrics.map((m) => m.name);
  const { namespace, environmentDimension, ...names } = AGENT_METRICS;
  expect(namespace).toBe(METRICS_NAMESPACE);
  expect(environmentDimension).toBe("Environment");
  expect(published.sort()).toEqual(Object.values(names).sort());
});

test("the CloudWatch agent config publishes every CW_AGENT_METRICS name, in METRICS_NAMESPACE, with its dimensions", () => {
  const config = cloudWatchAgentConfig();
  expect(config.metrics.namespace).toBe(METRICS_NAMESPACE);
  const published = cloudWatchAgentNames(config);
  const { namespace, asgDimension, instanceDimension, processDimension, ...names } = CW_AGENT_METRICS;
  expect(namespace).toBe(METRICS_NAMESPACE);
  expect([...published.keys()].sort()).toEqual(Object.values(names).sort());
  expect(Object.keys(config.metrics.append_dimensions).sort()).toEqual([asgDimension, instanceDimension].sort());
  expect(config.metrics.aggregation_dimensions).toEqual([[asgDimension], [asgDimension, processDimension]]);
  for (const p of config.metrics.metrics_collected.procstat) expect(Object.keys(p)).toContain(processDimension);
});

test("every metric of every dashboard and alarm is published, with dimensions its publisher sets", () => {
  const agent = agentTable();
  const agentNames = new Set(agent.metrics.map((m) => m.name));
  const agentDimensionSets = agent.dimensions.map((d) => [...d].sort().join(","));
  const cw = cloudWatchAgentNames(cloudWatchAgentConfig());
  const { asgDimension: asg, processDimension: pattern } = CW_AGENT_METRICS;
  const aws: Record<string, Set<string>> = Object.fromEntries(
    [NLB_METRICS, EC2_METRICS, ASG_METRICS].map(({ namespace, ...names }) => [namespace, new Set(Object.values(names))]),
  );
  const problems: string[] = [];
  const all = synths.flatMap(uses);
  for (const u of all) {
    const label = `${u.where}: ${u.namespace} ${u.name} [${u.dimensions.join(",")}]`;
    if (u.namespace === METRICS_NAMESPACE) {
      if (agentNames.has(u.name)) {
        if (!agentDimensionSets.includes(u.dimensions.join(","))) problems.push(`${label}: the health agent publishes [${agentDimensionSets.join("] [")}]`);
      } else if (cw.has(u.name)) {
        const rollups = [[asg], ...(cw.get(u.name) === "procstat" ? [[asg, pattern]] : [])].map((d) => d.sort().join(","));
        if (!rollups.includes(u.dimensions.join(","))) problems.push(`${label}: the CloudWatch agent rolls it up as [${rollups.join("] [")}]`);
      } else {
        problems.push(`${label}: no server publishes it`);
      }
    } else if (!aws[u.namespace]?.has(u.name)) {
      problems.push(`${label}: not a name from stacks/metrics.ts`);
    }
  }
  expect(problems).toEqual([]);
  // The check saw the servers' metrics of both publishers, in dashboards and in alarms.
  expect(all.some((u) => u.where.includes("alarm") && agentNames.has(u.name))).toBe(true);
  expect(all.some((u) => u.where.includes("dashboard") && cw.has(u.name))).toBe(true);
});
