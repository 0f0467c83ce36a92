/**
 * Just enough PromQL and Prometheus YAML reading for the docs tests: the metric names and label
 * names an expression uses, and the `expr:` of every rule in a rule file. Not a parser: strings,
 * label matchers, ranges and grouping clauses are cut out, then the remaining identifiers that are
 * not functions or keywords are metric names.
 */

const KEYWORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan", "atan2",
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const STRINGS = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/** label_values(metric{...}, label): Grafana's variable query. */
const LABEL_VALUES = /\blabel_values\(\s*([a-zA-Z_:][\w:]*)?\s*(\{[^}]*\})?\s*,\s*(\w+)\s*\)/g;

export function metricNames(expr: string): string[] {
  const names: string[] = [];
  let s = expr.replace(LABEL_VALUES, (_m, metric: string | undefined) => {
    if (metric) names.push(metric);
    return " ";
  });
  s = s.replace(/\{[^}]*\}/g, " ").replace(STRINGS, " ").replace(/\[[^\]]*\]/g, " ").replace(GROUPING, " ");
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const after = s.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith("(")) continue; // a function
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

export function labelNames(expr: string): string[] {
  const labels: string[] = [];
  for (const m of expr.matchAll(LABEL_VALUES)) {
    labels.push(m[3]);
    for (const l of (m[2] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.push(l[1]);
  }
  const s = expr.replace(LABEL_VALUES, " ");
  for (const m of s.matchAll(/\{([^}]*)\}/g)) {
    for (const l of m[1].replace(STRINGS, '""').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.push(l[1]);
  }
  for (const m of s.replace(STRINGS, " ").matchAll(GROUPING)) {
    labels.push(...m[2].split(",").map((l) => l.trim()).filter(Boolean));
  }
  return labels;
}

/** The `expr:` of every rule: inline (`expr: a > 1`) or a block scalar (`expr: >-` + indented lines). */
export function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) return;
    if (!/^[|>][-+]?$/.test(m[2])) {
      out.push(m[2].replace(/^(['"])(.*)\1$/, "$2"));
      return;
    }
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && (lines[j].trim() === "" || /^\s*/.exec(lines[j])![0].length > m[1].length); j++) {
      body.push(lines[j].trim());
    }
    out.push(body.join(" ").trim());
  });
  return out;
}

/** The meta label Prometheus's EC2 discovery makes of a tag key: `wg-ha:environment` -> `__meta_ec2_tag_wg_ha_environment`. */
export function prometheusTagLabel(tagKey: string): string {
  return `__meta_ec2_tag_${tagKey.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}
