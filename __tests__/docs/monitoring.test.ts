/**
 * docs/monitoring/: GIVEN the health agent's own metric list (`wg-ha-agent.py --list-metrics`, run
 * once), THEN every metric named in the alert rules and the Grafana dashboard (PromQL), and every
 * wireguard_* / wg_ha_* name anywhere in docs/monitoring/, is one the agent exports; every label
 * they use exists; the scrape job discovers servers by the tags the stack really puts on them.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS } from "../../stacks/config/schema";
import { ENVIRONMENT_TAG, ROLE_TAG, SERVER_ROLE } from "../../stacks/tags";
import { labelNames, metricNames, prometheusTagLabel, ruleExpressions } from "./promql";

const ROOT = join(__dirname, "..", "..");
const DIR = join(ROOT, "docs", "monitoring");
const read = (f: string) => readFileSync(join(DIR, f), "utf8");

interface AgentMetric {
  name: string;
  type: string;
  labels: string;
}
const agent = JSON.parse(
  execFileSync("python3", [join(ROOT, "templates/agent/wg-ha-agent.py"), "--list-metrics"], { encoding: "utf8" }),
) as { prometheus: AgentMetric[] };
const exported = new Set(agent.prometheus.map((m) => m.name));
/** Series Prometheus itself adds to every scrape job. */
const SCRAPE_SERIES = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"]);

const prometheusYml = read("prometheus.yml");
const alertsYml = read("alerts.yml");
const dashboard = JSON.parse(read("grafana-dashboard.json")) as Record<string, any>;

/** Labels a series can have: the agent's own, the job's relabelled target labels, job and instance. */
const targetLabels = [...prometheusYml.matchAll(/^\s*target_label:\s*(\w+)/gm)].map((m) => m[1]);
const knownLabels = new Set([
  "job", "instance", "__name__",
  ...targetLabels,
  ...agent.prometheus.flatMap((m) => m.labels.split(",").filter(Boolean)),
]);

const alertExpressions = ruleExpressions(alertsYml);
const panels: Array<Record<string, any>> = dashboard.panels;
const dashboardExpressions: string[] = panels.flatMap((p) => (p.targets ?? []).map((t: { expr: string }) => t.expr));
const variableQueries: string[] = dashboard.templating.list
  .filter((v: Record<string, any>) => v.type === "query")
  .map((v: Record<string, any>) => (typeof v.query === "string" ? v.query : v.query.query));

describe("metric names", () => {
  test("the agent lists its metrics (else the checks below prove nothing)", () => {
    expect(exported.has("wg_ha_healthy")).toBe(true);
    expect(exported.size).toBeGreaterThanOrEqual(10);
  });

  test("every metric in alerts.yml is exported by the agent (or is up)", () => {
    expect(alertExpressions.length).toBeGreaterThanOrEqual(8);
    const names = alertExpressions.flatMap(metricNames);
    expect(names).toEqual(expect.arrayContaining(["wg_ha_healthy", "wg_ha_sync_age_seconds", "up"]));
    expect(names.filter((n) => !exported.has(n) && !SCRAPE_SERIES.has(n))).toEqual([]);
  });

  test("every metric in grafana-dashboard.json (panels and variables) is exported by the agent", () => {
    expect(dashboardExpressions.length).toBeGreaterThanOrEqual(10);
    const names = [...dashboardExpressions, ...variableQueries].flatMap(metricNames);
    expect(names).toEqual(expect.arrayContaining(["wireguard_peers_active", "wireguard_received_bytes_total", "wg_ha_check_ok"]));
    expect(names.filter((n) => !exported.has(n) && !SCRAPE_SERIES.has(n))).toEqual([]);
  });

  test("every wireguard_* / wg_ha_* name anywhere in docs/monitoring/ is exported (prose, comments, relabel regexes)", () => {
    const bad: string[] = [];
    for (const file of readdirSync(DIR)) {
      const text = read(file);
      // Alternations in regexes, e.g. wireguard_(sent_bytes_total|received_bytes_total), expanded.
      const expanded = text.replace(/\b(wireguard|wg_ha)_\(([\w|]+)\)/g, (_m, p: string, alts: string) => alts.split("|").map((a) => `${p}_${a}`).join(" "));
      for (const m of expanded.matchAll(/(?<![\w$])(?:wireguard|wg_ha)_[a-z0-9_]*[a-z0-9]\b/g)) {
        if (!exported.has(m[0])) bad.push(`${file}: ${m[0]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe("labels", () => {
  test("every label used in alerts.yml and the dashboard exists on the series", () => {
    const used = [...alertExpressions, ...dashboardExpressions, ...variableQueries].flatMap(labelNames);
    const legends = panels.flatMap((p) => (p.targets ?? []).flatMap((t: { legendFormat?: string }) => [...(t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1])));
    const annotations = [...alertsYml.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]);
    expect(used).toEqual(expect.arrayContaining(["environment", "instance", "check"]));
    expect([...used, ...legends, ...annotations].filter((l) => !knownLabels.has(l))).toEqual([]);
  });
});

describe("prometheus.yml discovers the servers the stack tags", () => {
  test("EC2 filters on the stack's role and environment tags, on the agent's default port", () => {
    expect(prometheusYml).toContain(`- name: tag:${ROLE_TAG}\n            values: [${SERVER_ROLE}]`);
    expect(prometheusYml).toContain(`- name: tag:${ENVIRONMENT_TAG}\n`);
    expect(prometheusYml).toMatch(new RegExp(`^\\s+port: ${DEFAULTS.agent_port}\\b`, "m"));
    expect(prometheusYml).toMatch(/^\s+metrics_path: \/metrics$/m);
  });

  test("relabelling reads the tag labels Prometheus really creates, and sets instance, az and environment", () => {
    expect(prometheusTagLabel(ENVIRONMENT_TAG)).toBe("__meta_ec2_tag_wg_ha_environment");
    for (const tag of [...prometheusYml.matchAll(/__meta_ec2_tag_(\w+)/g)].map((m) => m[1])) {
      expect(["wg_ha_environment", "wg_ha_role", "aws_autoscaling_groupName"]).toContain(tag);
    }
    expect(prometheusYml).toContain(`source_labels: [${prometheusTagLabel(ENVIRONMENT_TAG)}]\n        target_label: environment`);
    expect(targetLabels).toEqual(expect.arrayContaining(["instance", "az", "environment"]));
  });

  test("the rule file it loads is alerts.yml", () => {
    expect(prometheusYml).toMatch(/^rule_files:\n\s+- alerts\.yml$/m);
  });
});

describe("alerts.yml and the dashboard are usable as they are", () => {
  test("every alert has a unique name, a severity, a summary and a description", () => {
    const alerts = alertsYml.split(/\n\s+- alert: /).slice(1);
    const names = alerts.map((a) => a.split("\n")[0].trim());
    expect(new Set(names).size).toBe(names.length);
    for (const a of alerts) {
      expect(a).toMatch(/severity: (critical|warning)/);
      expect(a).toMatch(/summary: /);
      expect(a).toMatch(/description: /);
    }
  });

  test("the dashboard imports anywhere: its own data source variable, unique panel ids, a uid", () => {
    expect(dashboard.uid).toBe("wg-ha-servers");
    expect(dashboard.templating.list[0]).toMatchObject({ name: "datasource", type: "datasource", query: "prometheus" });
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const t of p.targets) expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
    }
  });
});

describe("the PromQL reader itself", () => {
  test("finds metric names inside functions and aggregations, not labels, keywords, durations or strings", () => {
    expect(metricNames('sum by (instance) (rate(wireguard_bogus_total{check="up"}[5m] offset 1h)) > 1e3 and on (az) up == 0')).toEqual(["wireguard_bogus_total", "up"]);
    expect(metricNames('label_values(wg_ha_healthy{environment="$environment"}, az)')).toEqual(["wg_ha_healthy"]);
    expect(labelNames('label_values(wg_ha_healthy{environment="$environment"}, az)')).toEqual(["az", "environment"]);
    expect(ruleExpressions("      - alert: A\n        expr: >-\n          a > 1\n          and b\n        for: 1m\n      - alert: B\n        expr: c == 0\n")).toEqual(["a > 1 and b", "c == 0"]);
  });
});
