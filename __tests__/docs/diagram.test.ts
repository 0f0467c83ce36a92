/**
 * images/architecture.svg is generated (npm run diagram) from a synth of terraform.tfvars.example:
 * GIVEN a fresh synth of the example config, WHEN the diagram is drawn again, THEN it equals the
 * checked-in file byte for byte, and it shows what the stack builds (one box per AZ, NAT per AZ or
 * single, UDP listener, health check, EFS, KMS, alarms, SNS, SSM).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_OUTPUT, renderEnvironment } from "../../scripts/diagram";
import { renderArchitecture } from "../../scripts/lib/diagram/architecture";
import { topologyFromSynth, type SynthJson } from "../../scripts/lib/diagram/model";
import { textWidth, wrapText } from "../../scripts/lib/diagram/svg";
import { loadConfig } from "../../stacks/config/load";
import { synthesize } from "../../stacks/synthesize";
import { ROOT, synthSettings } from "../stacks/synth";

let outdir: string;
let prod: { svg: string; tf: SynthJson };
let dev: { svg: string; tf: SynthJson };

function count(svg: string, className: string): number {
  return svg.split(`class="${className}"`).length - 1;
}

/** Every opening tag has its closing tag, in order (the SVG is well-formed XML). */
function unbalancedTags(svg: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name);
    else if (stack.pop() !== name) problems.push(`</${name}> at ${m.index}`);
  }
  return [...problems, ...stack.map((name) => `<${name}> not closed`)];
}

beforeAll(async () => {
  const config = await loadConfig({ file: "terraform.tfvars.example", cwd: ROOT });
  outdir = mkdtempSync(join(tmpdir(), "wg-ha-diagram-"));
  synthesize(config.environments.filter((e) => e.name === "prod" || e.name === "dev"), outdir);
  const read = (env: string) => ({
    svg: renderEnvironment(outdir, env).svg,
    tf: JSON.parse(readFileSync(join(outdir, "stacks", env, "cdk.tf.json"), "utf8")) as SynthJson,
  });
  prod = read("prod");
  dev = read("dev");
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("images/architecture.svg", () => {
  test("is up to date with a fresh synth of terraform.tfvars.example (else: npm run diagram)", () => {
    const checkedIn = readFileSync(join(ROOT, DEFAULT_OUTPUT), "utf8");
    // Not toEqual: a 100 KB diff helps nobody. The message says what to do.
    if (checkedIn !== prod.svg) throw new Error(`${DEFAULT_OUTPUT} is stale: run npm run diagram and commit the result`);
  });

  test("drawing is deterministic", () => {
    const again = renderArchitecture(topologyFromSynth(prod.tf), { source: "cdktf.out/stacks/prod/cdk.tf.json" });
    expect(again).toBe(prod.svg);
  });

  test("is well-formed, accessible and has its own background (GitHub dark theme)", () => {
    expect(unbalancedTags(prod.svg)).toEqual([]);
    expect(prod.svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+" role="img" aria-labelledby="diagram-title diagram-desc"/);
    expect(prod.svg).toContain('<title id="diagram-title">wg-ha prod architecture</title>');
    expect(prod.svg).toMatch(/<desc id="diagram-desc">[^<]*3 Availability Zones \(a, b, c\)[^<]*<\/desc>/);
    expect(prod.svg).toMatch(/<rect class="background" x="0" y="0" width="\d+" height="\d+" fill="#ffffff"\/>/);
    expect(prod.svg).not.toMatch(/\$\{|NaN|undefined|\/work\/|\/home\//); // no unresolved token, no machine path
  });
});

describe("prod (3 AZs, NAT per AZ)", () => {
  test("one AZ box per AZ, each with both subnets, an NLB node, a NAT gateway, a server and a mount target", () => {
    for (const cls of ["az", "public-subnet", "private-subnet", "nlb-node", "nat-gateway", "vpn-server", "mount-target"]) {
      expect([cls, count(prod.svg, cls)]).toEqual([cls, 3]);
    }
    expect(count(prod.svg, "no-nat-gateway")).toBe(0);
    for (const letter of ["a", "b", "c"]) expect(prod.svg).toContain(`id="az-${letter}"`);
    expect(prod.svg).toContain("Public subnet wg-ha-prod-public-c");
    expect(prod.svg).toContain("0.0.0.0/0 -&gt; wg-ha-prod-nat-b");
  });

  test("the load balancer: UDP 51820 listener, target group, HTTP health check on the agent", () => {
    expect(prod.svg).toContain("Network Load Balancer wg-ha-prod-nlb (internet-facing)");
    expect(prod.svg).toContain("Listener UDP :51820 -&gt; target group wg-ha-prod-udp (UDP :51820, instance targets)");
    expect(prod.svg).toContain("Health check HTTP :8080/health every 5 s; unhealthy after 2, healthy after 2");
    expect(prod.svg).toContain("deregistration delay 30 s, then connection termination");
    expect(prod.svg).toContain(">UDP 51820<");
  });

  test("servers, storage, encryption, monitoring and administration", () => {
    for (const text of [
      "Auto Scaling group wg-ha-prod-servers: 3-9 servers",
      "drain hook wg-ha-prod-drain",
      "c6in.large, Amazon Linux 2023, no public IP",
      "EFS wg-ha-prod-efs",
      "NFS over TLS, TCP 2049",
      "file-system policy: TLS only; AWS Backup on",
      "KMS key alias/wg-ha-prod",
      "S3 bucket wg-ha-prod-templates-&lt;account&gt;",
      "SNS topic wg-ha-prod-alarms",
      "dashboard wg-ha-prod",
      "SSM Session Manager",
      "IAM role wg-ha-prod-admin",
      "assume with MFA",
      "Internet gateway wg-ha-prod-igw",
      "VPC wg-ha-prod-vpc  10.40.0.0/16",
    ]) {
      expect(prod.svg).toContain(text);
    }
    expect(topologyFromSynth(prod.tf).admin?.actions).toEqual(
      expect.arrayContaining(["ssm:StartSession", "autoscaling:SetDesiredCapacity", "autoscaling:StartInstanceRefresh"]),
    );
    // The OS comes from the launch template's image_id (resolve:ssm:<parameter>): no data source any more.
    expect(prod.tf.data?.aws_ssm_parameter).toBeUndefined();
    expect(topologyFromSynth(prod.tf).servers.os).toBe("Amazon Linux 2023");
    expect(prod.svg).toContain("set desired capacity, start instance refresh");
    expect(prod.svg).toContain("read: target health, alarms, metrics, server logs");
    const alarms = Object.values(prod.tf.resource?.aws_cloudwatch_metric_alarm ?? {}).map((a) => String(a.alarm_name));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(prod.svg).toContain(`>${alarm}<`);
  });

  test("the templates bundle: its stable key, versioned, fetched through the S3 gateway endpoint (a template edit does not make the diagram stale)", () => {
    expect(prod.svg).toContain(">wg-ha/templates-amazon-linux-2023.tar<");
    expect(prod.svg).toContain("versioned, old versions kept 90 days");
    expect(prod.svg).toContain("fetched at first boot, by its version id");
    expect(prod.svg).toContain("via the VPC's S3 gateway endpoint (no NAT)");
  });
});

describe("dev (2 AZs, single NAT gateway)", () => {
  test("two AZ boxes, one NAT gateway, the other AZ routes through it", () => {
    expect(count(dev.svg, "az")).toBe(2);
    expect(count(dev.svg, "nat-gateway")).toBe(1);
    expect(count(dev.svg, "no-nat-gateway")).toBe(1);
    expect(topologyFromSynth(dev.tf).zones.map((z) => [z.natGateway, z.egressNat])).toEqual([
      ["wg-ha-dev-nat-a", "wg-ha-dev-nat-a"],
      [undefined, "wg-ha-dev-nat-a"],
    ]);
    expect(dev.svg).toContain("No NAT gateway");
    expect(dev.svg).toContain("0.0.0.0/0 -&gt; wg-ha-dev-nat-a");
    expect(dev.svg).toContain("t3.micro");
  });
});

describe("model", () => {
  test("named AZs and Elastic IPs come from the synthesized subnets and subnet mappings", async () => {
    const { tf } = await synthSettings('availability_zones = ["eu-west-1b", "eu-west-1c"]\nelastic_ips = true\nalarm_email = "ops@example.com"');
    const t = topologyFromSynth(tf as SynthJson);
    expect(t.zones.map((z) => [z.letter, z.label, z.elasticIp, z.natGateway !== undefined])).toEqual([
      ["a", "eu-west-1b", true, true],
      ["b", "eu-west-1c", true, true],
    ]);
    expect(t.loadBalancer.elasticIps).toBe(true);
    expect(t.monitoring.emailSubscription).toBe(true);
    const svg = renderArchitecture(t, { source: "test" });
    expect(svg).toContain("Elastic IP (fixed endpoint)");
    expect(svg).toContain("subscribed: confirm the e-mail AWS sends");
  });

  test("a stack without the parts of wg-ha is refused with the missing part named", () => {
    expect(() => topologyFromSynth({ resource: { aws_vpc: { v: { cidr_block: "10.0.0.0/16" } } } })).toThrow(/one public and one private subnet per AZ/);
  });

  test("text wraps at spaces, and long names after '-'", () => {
    expect(wrapText("aaaa bbbb cccc", 60, 11.5)).toEqual(["aaaa bbbb", "cccc"]);
    const lines = wrapText("wg-ha-prod-healthy-servers-below-min", 90, 11.5);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join("")).toBe("wg-ha-prod-healthy-servers-below-min");
    for (const line of lines) expect(textWidth(line, 11.5)).toBeLessThanOrEqual(90);
  });
});
