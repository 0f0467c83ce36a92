/**
 * Lays out and draws the architecture of one environment (model.ts) as a standalone SVG:
 *
 *   clients ──UDP──> internet gateway ──> NLB (listener, target group, health check)
 *   VPC: one column per AZ: public subnet (NLB node, NAT gateway) above private subnet
 *        (VPN server of the Auto Scaling group, EFS mount target); the ASG spans the columns
 *   below: EFS, KMS key, S3 templates bucket; right: operator -> MFA admin role -> SSM,
 *        CloudWatch (alarms, dashboard, logs) -> SNS -> e-mail
 *
 * A white background keeps it readable in GitHub's dark theme; <title> and <desc> describe it
 * for screen readers. Same model in, same bytes out.
 */
import type { Topology, Zone } from "./model";
import { COLORS, FONT, STYLES, TEXT, boxHeight, drawArrow, drawBox, drawContainer, escapeXml, markers, text, textWidth, type Line } from "./svg";

const MARGIN = 24;
const COLUMN_GAP = 20;
const VPC_PADDING = 20;
const SIDE_GAP = 96;
const SIDE_WIDTH = 300;
const ARROW_GAP = 56;

interface ZoneLayout {
  readonly zone: Zone;
  readonly x: number;
  readonly w: number;
}

/** How a server's boxes read; shared by every AZ so the rows line up. */
function serverLines(t: Topology): Line[] {
  const s = t.servers.settings;
  const iface = s.WG_INTERFACE ?? "wg0";
  return [
    `${t.servers.instanceType}, ${t.servers.os}, no public IP`,
    `${iface} UDP :${t.targetGroup.port}: same key, same peers`,
    `wg-ha-sync: wg syncconf every ${s.WG_HA_SYNC_INTERVAL_SECONDS ?? "1"} s`,
    `wg-ha-agent :${t.servers.agentPort} /health /metrics`,
    "nftables: forward + MASQUERADE",
  ];
}

function mountTargetLines(t: Topology): Line[] {
  return [`NFS over TLS, TCP ${t.storage.nfsPort}`, ...(t.storage.securityGroup ? [`SG ${t.storage.securityGroup}`] : [])];
}

function natLines(t: Topology, z: Zone): { title: string; lines: Line[] } {
  if (z.natGateway) return { title: "NAT gateway", lines: [z.natGateway, "Elastic IP"] };
  return { title: "No NAT gateway", lines: [`${t.natMode} NAT mode: egress via ${z.egressNat ?? "none"}`] };
}

/** What the admin role may do, in words, from the actions its policy allows. */
function adminLines(actions: readonly string[]): string[] {
  const has = (a: string) => actions.includes(a);
  const words = (pairs: ReadonlyArray<readonly [string, string]>) => pairs.filter(([a]) => has(a)).map(([, w]) => w);
  const scaling = words([["autoscaling:SetDesiredCapacity", "set desired capacity"], ["autoscaling:StartInstanceRefresh", "start instance refresh"]]);
  const operate = words([
    ["autoscaling:CancelInstanceRefresh", "cancel refresh"],
    ["autoscaling:SuspendProcesses", "suspend/resume processes"],
    ["autoscaling:TerminateInstanceInAutoScalingGroup", "terminate a server"],
  ]);
  const read = words([
    ["elasticloadbalancing:DescribeTargetHealth", "target health"],
    ["cloudwatch:DescribeAlarms", "alarms"],
    ["cloudwatch:GetMetricData", "metrics"],
    ["logs:FilterLogEvents", "server logs"],
  ]);
  const ssm = words([["ssm:StartSession", "SSM sessions"], ["ssm:SendCommand", "Run Command"]]);
  return [
    ssm.length ? `${ssm.join(" and ")} to this environment's servers only` : "",
    scaling.length ? scaling.join(", ") : "",
    operate.length ? operate.join(", ") : "",
    read.length ? `read: ${read.join(", ")}` : "",
  ].filter(Boolean);
}

function ordinalList(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** The long description for screen readers (<desc>). */
export function describe(t: Topology): string {
  const hc = t.targetGroup.healthCheck;
  const zones = t.zones.map((z) => z.letter).join(", ");
  return [
    `wg-ha ${t.environment} in ${t.region}: WireGuard clients on the internet reach ${t.loadBalancer.internetFacing ? "the internet-facing" : "the"} Network Load Balancer ${t.loadBalancer.name} on ${t.listener.protocol} port ${t.listener.port}`,
    `(cross-zone ${t.loadBalancer.crossZone ? "on" : "off"}${t.loadBalancer.elasticIps ? ", one Elastic IP per AZ" : ""}), which forwards to target group ${t.targetGroup.name}`,
    `and health-checks every server over ${hc.protocol} port ${hc.port}${hc.path ?? ""} every ${hc.intervalSeconds} s.`,
    `The VPC ${t.vpc.name} (${t.vpc.cidr}) spans ${t.zones.length} Availability Zones (${zones}); each has a public subnet with an NLB node`,
    `${t.natMode === "per-az" ? "and its own NAT gateway" : t.natMode === "single" ? "(one NAT gateway in total, in the first AZ)" : "(no NAT gateway)"}`,
    `and a private subnet with the VPN servers of Auto Scaling group ${t.servers.autoScalingGroup} (${t.servers.min} to ${t.servers.max} ${t.servers.instanceType}, ${t.servers.os}) and an EFS mount target.`,
    `The servers share EFS ${t.storage.name} (NFS over TLS, port ${t.storage.nfsPort}), encrypted with KMS key ${t.key.alias}, which also encrypts the ${ordinalList(t.key.encrypts.filter((e) => e !== "EFS"))}.`,
    t.templateBucket
      ? `At first boot each server downloads ${t.templateBucket.versioned ? "its version of " : ""}the templates bundle from S3 bucket ${t.templateBucket.name}${t.templateBucket.gatewayEndpoint ? " through the VPC's S3 gateway endpoint" : ""}.`
      : "",
    `CloudWatch alarms (${t.monitoring.alarms.join(", ")}) notify SNS topic ${t.monitoring.topic}${t.monitoring.emailSubscription ? ", which e-mails the alarm address" : " (e-mail when alarm_email is set)"}; dashboard ${t.monitoring.dashboard ?? "none"}.`,
    t.admin ? `Operators assume IAM role ${t.admin.role}${t.admin.mfa ? " with MFA" : ""} and reach the servers through SSM Session Manager; no SSH.` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

export interface RenderOptions {
  /** Where the model came from, printed in the footer (e.g. cdktf.out/stacks/prod/cdk.tf.json). */
  readonly source: string;
}

export function renderArchitecture(t: Topology, options: RenderOptions): string {
  const n = t.zones.length;
  const colW = Math.max(300, Math.floor(940 / n));
  const azAreaW = n * colW + (n - 1) * COLUMN_GAP;
  const vpcX = MARGIN;
  const vpcW = azAreaW + 2 * VPC_PADDING;
  const areaX = vpcX + VPC_PADDING;
  const sideX = vpcX + vpcW + SIDE_GAP;
  const width = sideX + SIDE_WIDTH + MARGIN;
  const hc = t.targetGroup.healthCheck;
  const wgPort = t.listener.port;
  // Layers, bottom to top: container frames, arrows, boxes, container labels (with a halo).
  const frames: string[] = [];
  const arrows: string[] = [];
  const boxes: string[] = [];
  const labels: string[] = [];

  labels.push(text(MARGIN, MARGIN + 18, `wg-ha ${t.environment}: highly available WireGuard on AWS (${t.region}, ${n} Availability Zones)`, { size: 18, bold: true }));
  labels.push(text(MARGIN, MARGIN + 38, `Generated by npm run diagram from ${options.source}; do not edit by hand.`, { color: COLORS.muted }));

  // Row 1: clients (centred over the AZs) and the operator (side column).
  const rowY = 84;
  const clientsW = 400;
  const clientsX = areaX + azAreaW / 2 - clientsW / 2;
  const clients = drawBox({
    x: clientsX,
    y: rowY,
    w: clientsW,
    title: "WireGuard clients (internet)",
    lines: [
      `Endpoint = NLB DNS name:${wgPort}${t.loadBalancer.elasticIps ? " or an Elastic IP" : ""}`,
      `PersistentKeepalive = ${t.servers.settings.WG_HA_KEEPALIVE ?? "25"} s (NLB UDP idle timeout: 120 s)`,
    ],
    style: STYLES.people,
    className: "clients",
  });
  const operator = drawBox({
    x: sideX,
    y: rowY,
    w: SIDE_WIDTH,
    title: "Operator",
    lines: ["IAM principal in admin_principals", "aws CLI + Session Manager plugin"],
    style: STYLES.people,
    className: "operator",
  });
  boxes.push(clients.svg, operator.svg);

  // The VPC, the internet gateway on its top edge, the NLB band across the AZ columns.
  const vpcY = rowY + clients.h + 78;
  const igwW = 320;
  const igw = { w: igwW, title: `Internet gateway ${t.internetGateway ?? ""}`.trim() };
  const igwH = boxHeight(igw);
  const igwX = areaX + azAreaW / 2 - igwW / 2;
  const igwY = vpcY - igwH / 2;
  const nlbY = vpcY + 64;
  const nlb = drawBox({
    x: areaX,
    y: nlbY,
    w: azAreaW,
    title: `Network Load Balancer ${t.loadBalancer.name} (${t.loadBalancer.internetFacing ? "internet-facing" : "internal"})`,
    lines: [
      `Listener ${t.listener.protocol} :${wgPort} -> target group ${t.targetGroup.name} (${t.targetGroup.protocol} :${t.targetGroup.port}, instance targets)`,
      `Health check ${hc.protocol} :${hc.port}${hc.path ?? ""} every ${hc.intervalSeconds} s; unhealthy after ${hc.unhealthyThreshold}, healthy after ${hc.healthyThreshold}`,
      `Cross-zone ${t.loadBalancer.crossZone ? "on" : "off"}; deregistration delay ${t.targetGroup.deregistrationDelaySeconds} s${t.targetGroup.connectionTermination ? ", then connection termination" : " (no connection termination)"}`,
      `One node per AZ${t.loadBalancer.elasticIps ? ", each with an Elastic IP" : ""}${t.loadBalancer.securityGroup ? `; security group ${t.loadBalancer.securityGroup}: UDP ${wgPort} from anywhere` : ""}`,
    ],
    style: STYLES.network,
    className: "load-balancer",
  });

  // AZ columns: every box is measured first so the rows line up across AZs.
  const zones: ZoneLayout[] = t.zones.map((zone, i) => ({ zone, x: areaX + i * (colW + COLUMN_GAP), w: colW }));
  const subnetW = colW - 20;
  const innerW = subnetW - 20;
  const halfW = Math.floor((innerW - 16) / 2);
  const nodeLines = (z: Zone): Line[] => [z.elasticIp ? "Elastic IP (fixed endpoint)" : "AWS-assigned public IP"];
  const publicInnerH = Math.max(
    ...t.zones.map((z) => boxHeight({ w: halfW, title: "NLB node", lines: nodeLines(z) })),
    ...t.zones.map((z) => boxHeight({ w: halfW, ...natLines(t, z) })),
  );
  const subnetHeader = 44;
  const publicH = subnetHeader + publicInnerH + 12;
  const servers = serverLines(t);
  const serverH = boxHeight({ w: innerW, title: "VPN server", lines: servers });
  const mountW = Math.floor(innerW * 0.62);
  const mountH = boxHeight({ w: mountW, title: "EFS mount target", lines: mountTargetLines(t) });
  const privateHeader = 58;
  const tabH = 34;

  const azY = nlbY + nlb.h + 30;
  const publicY = azY + 48;
  const privateY = publicY + publicH + ARROW_GAP + 8;
  const bandY = privateY + privateHeader + 14;
  const serverY = bandY + tabH - 4;
  const bandH = serverY + serverH + 10 - bandY;
  const mountY = bandY + bandH + ARROW_GAP - 12;
  const privateH = mountY + mountH + 14 - privateY;
  const azH = privateY + privateH + 12 - azY;
  const vpcH = azY + azH + 16 - vpcY;
  const band = { x: areaX + 10, y: bandY, w: azAreaW - 20, h: bandH };

  const vpc = drawContainer(vpcX, vpcY, vpcW, vpcH, STYLES.vpc, `VPC ${t.vpc.name}  ${t.vpc.cidr}`, ...(t.vpc.flowLogGroup ? [`flow logs -> ${t.vpc.flowLogGroup}`] : []));
  frames.push(`<g class="vpc">${vpc.frame}</g>`);
  labels.push(vpc.label);
  boxes.push(drawBox({ x: igwX, y: igwY, ...igw, style: STYLES.network, className: "internet-gateway" }).svg);
  boxes.push(nlb.svg);
  arrows.push(drawArrow({ points: [[clientsX + clientsW / 2, rowY + clients.h], [igwX + igwW / 2, igwY]], label: `${t.listener.protocol} ${wgPort}` }));
  arrows.push(drawArrow({ points: [[igwX + igwW / 2, igwY + igwH], [igwX + igwW / 2, nlbY]] }));

  for (const { zone: z, x, w } of zones) {
    const sx = x + 10;
    const innerX = sx + 10;
    const innerY = publicY + subnetHeader;
    const natX = innerX + halfW + 16;
    const zoneFrame = drawContainer(x, azY, w, azH, STYLES.zone, `Availability Zone ${z.letter}`, z.label);
    const pub = drawContainer(sx, publicY, subnetW, publicH, STYLES.publicSubnet, `Public subnet ${z.publicSubnet.name}`, z.publicSubnet.cidr);
    const priv = drawContainer(sx, privateY, subnetW, privateH, STYLES.privateSubnet, `Private subnet ${z.privateSubnet.name}`, z.privateSubnet.cidr, z.egressNat ? `0.0.0.0/0 -> ${z.egressNat}` : "no default route");
    frames.push(`<g class="az" id="az-${z.letter}">${zoneFrame.frame}<g class="public-subnet">${pub.frame}</g><g class="private-subnet">${priv.frame}</g></g>`);
    labels.push(zoneFrame.label, pub.label, priv.label);

    if (z.loadBalancerNode) {
      boxes.push(drawBox({ x: innerX, y: innerY, w: halfW, h: publicInnerH, title: "NLB node", lines: nodeLines(z), style: STYLES.network, className: "nlb-node" }).svg);
      const cx = innerX + halfW / 2;
      arrows.push(drawArrow({ points: [[cx, nlbY + nlb.h], [cx, innerY]] }));
      if (z.servers) {
        arrows.push(drawArrow({ points: [[cx, innerY + publicInnerH], [cx, serverY]], label: `UDP ${wgPort}\n${hc.protocol} :${hc.port}`, labelAt: [cx + 6, publicY + publicH + ARROW_GAP / 2] }));
      }
    }
    const nat = natLines(t, z);
    boxes.push(
      drawBox({ x: natX, y: innerY, w: halfW, h: publicInnerH, ...nat, style: z.natGateway ? STYLES.network : { ...STYLES.network, fill: "none", dashed: true }, className: z.natGateway ? "nat-gateway" : "no-nat-gateway" }).svg,
    );
    if (z.servers && z.natGateway && z.egressNat === z.natGateway) {
      const nx = natX + halfW / 2;
      arrows.push(drawArrow({ points: [[nx, serverY], [nx, innerY + publicInnerH]], label: "egress\n(NAT)", labelAt: [nx + 6, publicY + publicH + ARROW_GAP / 2] }));
    }
    if (z.servers) {
      boxes.push(drawBox({ x: innerX, y: serverY, w: innerW, h: serverH, title: "VPN server", lines: servers, style: STYLES.compute, className: "vpn-server" }).svg);
    }
    if (z.mountTarget) {
      boxes.push(drawBox({ x: innerX, y: mountY, w: mountW, h: mountH, title: "EFS mount target", lines: mountTargetLines(t), style: STYLES.storage, className: "mount-target" }).svg);
      if (z.servers) {
        const mx = innerX + mountW / 2;
        arrows.push(drawArrow({ points: [[mx, serverY + serverH], [mx, mountY]], label: `NFS TLS :${t.storage.nfsPort}`, labelAt: [mx + 6, serverY + serverH + (mountY - serverY - serverH) / 2 + 8] }));
      }
    }
  }

  // The Auto Scaling group spans the servers of every AZ; its name sits in a tab.
  const asgTitle = `Auto Scaling group ${t.servers.autoScalingGroup}: ${t.servers.min}-${t.servers.max} servers`;
  const asgDetails = [
    `${t.servers.healthCheckType} health checks${t.servers.gracePeriodSeconds !== undefined ? ` (grace ${t.servers.gracePeriodSeconds} s)` : ""}`,
    t.servers.instanceRefresh ? "instance refresh" : "",
    t.servers.lifecycleHook ? `drain hook ${t.servers.lifecycleHook}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  const asg = drawBand(band, asgTitle, asgDetails);
  frames.push(`<g class="auto-scaling-group">${asg.frame}</g>`);
  boxes.push(asg.tab);

  // Below the VPC: KMS key, EFS (centred), S3 templates bucket.
  const bottomY = vpcY + vpcH + 64;
  const efsW = Math.min(380, colW + 40);
  const efsX = areaX + azAreaW / 2 - efsW / 2;
  const sideBoxW = Math.floor((azAreaW - efsW) / 2) - 24;
  const efs = drawBox({
    x: efsX,
    y: bottomY,
    w: efsW,
    title: `EFS ${t.storage.name}`,
    lines: [
      `${t.storage.encrypted ? "encrypted with the KMS key" : "NOT encrypted"}; ${t.storage.throughputMode ?? "bursting"} throughput`,
      `${t.storage.tlsOnly ? "file-system policy: TLS only" : "no TLS-only policy"}; ${t.storage.backups ? "AWS Backup on" : "no backups"}`,
      `server key + one file per client, at ${t.servers.settings.WG_HA_STATE_DIR ?? "/mnt/wg-ha"} on every server`,
    ],
    style: STYLES.storage,
    className: "efs",
  });
  const kms = drawBox({
    x: areaX,
    y: bottomY,
    w: sideBoxW,
    title: `KMS key ${t.key.alias}`,
    lines: [`customer managed${t.key.rotation ? ", yearly rotation" : ""}`, `encrypts ${ordinalList(t.key.encrypts)}`],
    style: STYLES.security,
    className: "kms-key",
  });
  boxes.push(efs.svg, kms.svg);
  arrows.push(drawArrow({ points: [[areaX + sideBoxW, bottomY + 24], [efsX, bottomY + 24]], dashed: true }));
  for (const { zone: z, x } of zones) {
    if (!z.mountTarget) continue;
    const mx = x + 20 + mountW / 2;
    arrows.push(drawArrow({ points: [[mx, mountY + mountH], [Math.min(Math.max(mx, efsX + 30), efsX + efsW - 30), bottomY]] }));
  }
  let s3H = 0;
  if (t.templateBucket) {
    const s3 = drawBox({
      x: areaX + azAreaW - sideBoxW,
      y: bottomY,
      w: sideBoxW,
      title: `S3 bucket ${t.templateBucket.name}`,
      lines: [
        t.templateBucket.key,
        t.templateBucket.versioned
          ? `versioned${t.templateBucket.noncurrentDays ? `, old versions kept ${t.templateBucket.noncurrentDays} days` : ""}`
          : "",
        "KMS-encrypted, TLS only, private",
        t.templateBucket.versioned ? "fetched at first boot, by its version id" : "each server downloads it at first boot",
        t.templateBucket.gatewayEndpoint ? "via the VPC's S3 gateway endpoint (no NAT)" : "",
      ].filter(Boolean),
      style: STYLES.storage,
      className: "s3-bucket",
    });
    boxes.push(s3.svg);
    s3H = s3.h;
    const last = zones[zones.length - 1];
    const lane = last.x + 20 + mountW + (innerW - mountW) / 2;
    arrows.push(drawArrow({ points: [[lane, bottomY], [lane, serverY + serverH]], label: "templates bundle, first boot", labelAt: [lane - 6, bottomY - 12], labelAnchor: "end", dashed: true }));
  }

  // Side column: operator -> admin role -> SSM -> servers; servers -> CloudWatch -> SNS -> e-mail.
  const mid = sideX + SIDE_WIDTH / 2;
  let above = rowY + operator.h;
  if (t.admin) {
    const role = drawBox({
      x: sideX,
      y: nlbY,
      w: SIDE_WIDTH,
      title: `IAM role ${t.admin.role}`,
      lines: [
        t.admin.mfa ? `assume with MFA${t.admin.mfaMaxAgeSeconds ? ` (signed in < ${t.admin.mfaMaxAgeSeconds} s ago)` : ""}` : "assume (no MFA condition)",
        ...adminLines(t.admin.actions),
      ],
      style: STYLES.security,
      className: "admin-role",
    });
    boxes.push(role.svg);
    arrows.push(drawArrow({ points: [[mid, above], [mid, nlbY]], label: "sts:AssumeRole + MFA" }));
    above = nlbY + role.h;
  }
  const ssmLinkY = serverY + 16;
  const ssmY = ssmLinkY - 30;
  const ssm = drawBox({
    x: sideX,
    y: ssmY,
    w: SIDE_WIDTH,
    title: "SSM Session Manager",
    lines: ["shell or one command on a server", "no SSH: no port 22 anywhere"],
    style: STYLES.management,
    className: "ssm",
  });
  boxes.push(ssm.svg);
  arrows.push(drawArrow({ points: [[mid, above], [mid, ssmY]], label: "aws ssm start-session" }));
  arrows.push(drawArrow({ points: [[sideX, ssmLinkY], [band.x + band.w, ssmLinkY]], dashed: true, label: "session", labelAt: [sideX - SIDE_GAP / 2 + 4, ssmLinkY - 6], labelAnchor: "middle" }));

  const cwLines: Line[] = [
    { text: "alarms -> SNS:", bold: true },
    ...t.monitoring.alarms.map((a) => ({ text: a, indent: 10 })),
    { text: "scaling alarms -> ASG policies:", bold: true },
    ...t.monitoring.scalingAlarms.map((a) => ({ text: a, indent: 10 })),
    ...(t.monitoring.dashboard ? [{ text: `dashboard ${t.monitoring.dashboard}`, bold: true }] : []),
    { text: "log groups (KMS):", bold: true },
    ...t.monitoring.logGroups.map((g) => ({ text: g, indent: 10 })),
  ];
  const cwY = ssmY + ssm.h + 28;
  const cw = drawBox({ x: sideX, y: cwY, w: SIDE_WIDTH, title: "CloudWatch", lines: cwLines, style: STYLES.management, className: "cloudwatch" });
  boxes.push(cw.svg);
  const cwLinkY = Math.min(Math.max(serverY + serverH - 16, cwY + 16), cwY + cw.h - 16);
  arrows.push(drawArrow({ points: [[band.x + band.w, cwLinkY], [sideX, cwLinkY]], dashed: true, label: "metrics, logs", labelAt: [sideX - SIDE_GAP / 2 + 4, cwLinkY - 6], labelAnchor: "middle" }));
  const snsY = cwY + cw.h + 40;
  const sns = drawBox({ x: sideX, y: snsY, w: SIDE_WIDTH, title: `SNS topic ${t.monitoring.topic}`, lines: ["KMS-encrypted; only this environment's alarms publish"], style: STYLES.management, className: "sns-topic" });
  boxes.push(sns.svg);
  arrows.push(drawArrow({ points: [[mid, cwY + cw.h], [mid, snsY]], label: "ALARM / OK" }));
  const mailY = snsY + sns.h + 40;
  const mail = drawBox({
    x: sideX,
    y: mailY,
    w: SIDE_WIDTH,
    title: "E-mail (alarm_email)",
    lines: [t.monitoring.emailSubscription ? "subscribed: confirm the e-mail AWS sends" : "not set: no subscription in this environment"],
    style: STYLES.people,
    className: "email",
  });
  boxes.push(mail.svg);
  arrows.push(drawArrow({ points: [[mid, snsY + sns.h], [mid, mailY]] }));

  // Legend.
  const legendY = Math.max(bottomY + Math.max(efs.h, kms.h, s3H), mailY + mail.h) + 36;
  labels.push(
    `<g class="legend">${[
      drawArrow({ points: [[MARGIN, legendY], [MARGIN + 40, legendY]] }),
      text(MARGIN + 48, legendY + 4, "client traffic and data", { color: COLORS.muted }),
      drawArrow({ points: [[MARGIN + 220, legendY], [MARGIN + 260, legendY]], dashed: true }),
      text(MARGIN + 268, legendY + 4, "administration, monitoring, boot, encryption", { color: COLORS.muted }),
    ].join("")}</g>`,
  );
  const height = legendY + MARGIN;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="diagram-title diagram-desc" font-family="${FONT}">`,
    `<title id="diagram-title">${escapeXml(`wg-ha ${t.environment} architecture`)}</title>`,
    `<desc id="diagram-desc">${escapeXml(describe(t))}</desc>`,
    markers(),
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="${COLORS.background}"/>`,
    ...frames,
    ...arrows,
    ...boxes,
    ...labels,
    "</svg>",
    "",
  ].join("\n");
}

/** The ASG: a dashed band around the servers of every AZ (frame), its name in a white tab. */
function drawBand(band: { x: number; y: number; w: number; h: number }, title: string, details: string): { frame: string; tab: string } {
  const tabW = Math.min(band.w - 20, Math.max(textWidth(title, TEXT.body, true), textWidth(details, TEXT.body)) + 20);
  return {
    frame: `<rect x="${Math.round(band.x)}" y="${Math.round(band.y)}" width="${Math.round(band.w)}" height="${Math.round(band.h)}" rx="8" fill="none" stroke="${STYLES.group.stroke}" stroke-width="2" stroke-dasharray="8 5"/>`,
    tab: [
      `<g class="auto-scaling-group-label">`,
      `<rect x="${Math.round(band.x + 10)}" y="${Math.round(band.y - 10)}" width="${Math.round(tabW)}" height="34" rx="4" fill="${COLORS.background}" stroke="${STYLES.group.stroke}" stroke-width="1.5"/>`,
      text(band.x + 20, band.y + 4, title, { bold: true }),
      text(band.x + 20, band.y + 18, details, { color: COLORS.muted }),
      "</g>",
    ].join(""),
  };
}
