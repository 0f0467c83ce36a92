/**
 * Plan review: turns `terraform show -json <planfile>` into counts per resource type and a list
 * of destructive changes to stateful or identity resources, and renders both as text.
 * Pure: no I/O, no colour decisions (the caller passes a Paint).
 */
import { PLAIN, type Paint } from "../cli";

/**
 * Resource types whose replacement or deletion loses data, breaks every client or cuts the
 * service, with the reason shown to the user. Extend it when the stack gains such a resource.
 */
export const STATEFUL_RESOURCES: Readonly<Record<string, string>> = {
  aws_efs_file_system:
    "EFS holds the WireGuard server key and every client peer: a new file system starts empty, so every client config stops working",
  aws_efs_mount_target: "servers mount EFS through it: peer sync stops on that AZ's servers until they remount",
  aws_efs_file_system_policy: "it denies non-TLS access to EFS: while it is missing, unencrypted NFS mounts are allowed",
  aws_kms_key:
    "the key encrypts EFS, logs and SNS: deleting it schedules key deletion, after which data encrypted with it is unreadable",
  aws_lb: "the NLB's DNS name is the endpoint in every client config: a new NLB means a new endpoint for every client",
  aws_lb_target_group: "every server is deregistered: the VPN is down until the new target group's health checks pass",
  aws_lb_listener: "the UDP listener carries all client traffic: no traffic flows while it is recreated",
  aws_eip: "Elastic IPs are fixed client endpoints or NAT egress addresses: a new one changes an IP that clients or allowlists use",
  aws_autoscaling_group: "replacing it terminates every VPN server at once: an outage until new servers pass health checks",
  aws_vpc: "everything in the VPC (servers, EFS mount targets, NLB) is replaced with it",
  aws_cloudwatch_log_group: "deleting it deletes the logs it holds (VPC flow logs, server logs)",
};

export const ACTIONS = ["create", "update", "replace", "delete"] as const;
export type Action = (typeof ACTIONS)[number];
export type Counts = Readonly<Record<Action, number>>;

export interface TypeRow {
  readonly type: string;
  readonly counts: Counts;
}

export interface DestructiveChange {
  readonly address: string;
  readonly type: string;
  readonly action: "replace" | "delete";
  readonly reason: string;
  /** Attributes that force the replacement (`change.replace_paths`), when terraform says. */
  readonly forcedBy: readonly string[];
}

export interface PlanSummary {
  /** Resource types with at least one change, sorted by type. */
  readonly rows: readonly TypeRow[];
  readonly totals: Counts;
  readonly unchanged: number;
  readonly destructive: readonly DestructiveChange[];
  /** Resources changed outside terraform (`resource_drift`); what a refresh-only apply records. */
  readonly drift: number;
  /** Outputs that change (`output_changes` with an action other than no-op). */
  readonly outputChanges: number;
  /** Managed resources with actions this review does not count (e.g. forget). */
  readonly other: number;
}

interface ResourceChange {
  readonly address?: string;
  readonly mode?: string;
  readonly type?: string;
  readonly change?: { readonly actions?: readonly string[]; readonly replace_paths?: readonly (readonly unknown[])[] };
}

/** Maps terraform's `change.actions` to one review column; undefined for no-op, read and others. */
export function classifyActions(actions: readonly string[]): Action | "no-op" | undefined {
  switch (actions.join(",")) {
    case "create":
      return "create";
    case "update":
      return "update";
    case "delete,create":
    case "create,delete":
      return "replace";
    case "delete":
      return "delete";
    case "no-op":
      return "no-op";
    default:
      return undefined;
  }
}

/** Summarizes the parsed output of `terraform show -json <planfile>` (same format for tofu). */
export function summarizePlan(plan: unknown): PlanSummary {
  if (plan === null || typeof plan !== "object") throw new Error("plan JSON is not an object");
  const json = plan as {
    resource_changes?: readonly ResourceChange[];
    resource_drift?: readonly unknown[];
    output_changes?: Readonly<Record<string, { actions?: readonly string[] }>>;
  };
  const byType = new Map<string, Record<Action, number>>();
  const totals: Record<Action, number> = { create: 0, update: 0, replace: 0, delete: 0 };
  const destructive: DestructiveChange[] = [];
  let unchanged = 0;
  let other = 0;

  for (const rc of json.resource_changes ?? []) {
    if (rc.mode === "data") continue;
    const type = rc.type ?? "unknown";
    const action = classifyActions(rc.change?.actions ?? []);
    if (action === "no-op") {
      unchanged++;
      continue;
    }
    if (action === undefined) {
      other++;
      continue;
    }
    const counts = byType.get(type) ?? { create: 0, update: 0, replace: 0, delete: 0 };
    counts[action]++;
    totals[action]++;
    byType.set(type, counts);
    const reason = STATEFUL_RESOURCES[type];
    if (reason && (action === "replace" || action === "delete")) {
      const forcedBy = (rc.change?.replace_paths ?? []).map((path) => path.map(String).join("."));
      destructive.push({ address: rc.address ?? type, type, action, reason, forcedBy });
    }
  }
  const outputChanges = Object.values(json.output_changes ?? {}).filter(
    (o) => (o.actions ?? []).join(",") !== "no-op",
  ).length;
  return {
    rows: [...byType].sort(([a], [b]) => a.localeCompare(b)).map(([type, counts]) => ({ type, counts })),
    totals,
    unchanged,
    destructive: destructive.sort((a, b) => a.address.localeCompare(b.address)),
    drift: (json.resource_drift ?? []).length,
    outputChanges,
    other,
  };
}

/** Aligned table: one row per type, one column per action, `-` for zero, a total row. */
export function renderCountsTable(rows: readonly TypeRow[], columns: readonly Action[] = ACTIONS, paint: Paint = PLAIN): string {
  const width = Math.max("resource type".length, "total".length, ...rows.map((r) => r.type.length));
  const cell = (n: number, column: Action) => (n === 0 ? "-" : String(n)).padStart(Math.max(column.length, 3));
  const line = (label: string, counts: Counts) => `  ${label.padEnd(width)}  ${columns.map((c) => cell(counts[c], c)).join("  ")}`;
  const header = `  ${"resource type".padEnd(width)}  ${columns.map((c) => c.padStart(Math.max(c.length, 3))).join("  ")}`;
  const totals = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const row of rows) for (const a of ACTIONS) totals[a] += row.counts[a];
  return [paint.heading(header), ...rows.map((r) => line(r.type, r.counts)), paint.dim(line("total", totals))].join("\n") + "\n";
}

/** `3 to create, 1 to replace`: the non-zero totals, or "no resource changes". */
export function describeTotals(totals: Counts): string {
  const parts = ACTIONS.filter((a) => totals[a] > 0).map((a) => `${totals[a]} to ${a}`);
  return parts.length ? parts.join(", ") : "no resource changes";
}

/** The WARNING block for destructive changes; empty when there are none. Every line starts with WARNING. */
export function renderWarnings(environment: string, destructive: readonly DestructiveChange[], paint: Paint = PLAIN): string {
  if (destructive.length === 0) return "";
  const noun = destructive.length === 1 ? "change" : "changes";
  const lines = [`WARNING: ${destructive.length} destructive ${noun} to stateful resources in ${environment}:`];
  const width = Math.max(...destructive.map((d) => d.action.length));
  for (const d of destructive) {
    const forced = d.forcedBy.length ? ` (forced by ${d.forcedBy.join(", ")})` : "";
    lines.push(`WARNING:   ${d.action.padEnd(width)}  ${d.address}${forced}`);
    lines.push(`WARNING:   ${" ".repeat(width)}  ${d.reason}`);
  }
  return lines.map((l) => paint.warning(l)).join("\n") + "\n";
}

/** The whole review as printed by deploy.ts after `terraform plan`. */
export function renderPlanReview(environment: string, summary: PlanSummary, paint: Paint = PLAIN): string {
  const notes = [
    summary.unchanged ? `${summary.unchanged} unchanged` : "",
    summary.outputChanges ? `${summary.outputChanges} output${summary.outputChanges === 1 ? "" : "s"} changing` : "",
  ].filter(Boolean);
  const parts = [paint.heading(`Plan for ${environment}: ${describeTotals(summary.totals)}`) + (notes.length ? ` (${notes.join(", ")})` : ""), ""];
  if (summary.rows.length) parts.push(renderCountsTable(summary.rows, ACTIONS, paint));
  if (summary.drift) {
    parts.push(`${summary.drift} resource${summary.drift === 1 ? "" : "s"} changed outside terraform (a refresh-only apply records this in the state)\n`);
  }
  if (summary.other) parts.push(`${summary.other} resource${summary.other === 1 ? "" : "s"} with other actions (e.g. forget): see terraform's plan output above\n`);
  const warnings = renderWarnings(environment, summary.destructive, paint);
  if (warnings) parts.push(warnings);
  return parts.join("\n");
}

/** What --dry-run knows offline: the resources in the synthesized stack, all as creates. */
export interface DryRunStack {
  readonly environment: string;
  /** Resource type to count (stacks/synth-summary.ts). */
  readonly resources: Readonly<Record<string, number>>;
  readonly dataSources: number;
  readonly outputs: number;
  /** The synthesized file, for the user to read. */
  readonly file: string;
}

/** The --dry-run review of one environment: the plan-review table with the create column only. */
export function renderDryRun(stack: DryRunStack, paint: Paint = PLAIN): string {
  const rows = Object.entries(stack.resources).map(([type, create]) => ({ type, counts: { create, update: 0, replace: 0, delete: 0 } }));
  const total = rows.reduce((sum, row) => sum + row.counts.create, 0);
  const heading = `Dry run for ${stack.environment}: ${total} resources to create in a new environment`;
  const detail = `(${stack.dataSources} data sources, ${stack.outputs} outputs; ${stack.file})`;
  return `${paint.heading(heading)} ${paint.dim(detail)}\n\n${renderCountsTable(rows, ["create"], paint)}`;
}

/**
 * --dry-run of several environments side by side: one row per resource type, one column per
 * environment, so differences (NAT gateways, subnets per AZ, ...) stand out.
 */
export function renderDryRunComparison(stacks: readonly DryRunStack[], paint: Paint = PLAIN): string {
  const types = [...new Set(stacks.flatMap((s) => Object.keys(s.resources)))].sort();
  const footer = "data sources / outputs";
  const width = Math.max(footer.length, ...types.map((t) => t.length));
  const columns = stacks.map((s) => Math.max(s.environment.length, 5));
  const row = (label: string, cells: readonly string[]) =>
    `  ${label.padEnd(width)}  ${cells.map((c, i) => c.padStart(columns[i])).join("  ")}`;
  const count = (s: DryRunStack, type: string) => s.resources[type] ?? 0;
  const totals = stacks.map((s) => types.reduce((sum, t) => sum + count(s, t), 0));
  const heading = `Dry run: resources each environment would create (${stacks.map((s, i) => `${s.environment} ${totals[i]}`).join(", ")})`;
  return [
    paint.heading(heading),
    "",
    paint.heading(row("resource type", stacks.map((s) => s.environment))),
    ...types.map((t) => row(t, stacks.map((s) => (count(s, t) ? String(count(s, t)) : "-")))),
    paint.dim(row("total", totals.map(String))),
    paint.dim(row(footer, stacks.map((s) => `${s.dataSources}/${s.outputs}`))),
    "",
  ].join("\n");
}
