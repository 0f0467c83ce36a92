/**
 * Configuration: the committed example loads, overrides merge, and every kind of bad input
 * gives exactly the clear error lines the user sees (file:line, key, what is allowed).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeEnvironment } from "../stacks/config/environment";
import { ConfigError, loadConfig, loadConfigText, selectEnvironment } from "../stacks/config/load";
import { tempDir } from "./temp-dir";

const root = join(__dirname, "..");

async function errorsOf(hcl: string): Promise<readonly string[]> {
  try {
    await loadConfigText(hcl, "terraform.tfvars");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("the committed example", () => {
  test("defines dev, staging and prod, all highly available", async () => {
    const config = await loadConfig({ cwd: root, file: "terraform.tfvars.example" });
    expect(config.environments.map((e) => e.name)).toEqual(["dev", "staging", "prod"]);
    for (const env of config.environments) {
      expect(env.settings.high_availability).toBe(true);
      expect(env.settings.asg_min).toBeGreaterThanOrEqual(2);
      expect(env.settings.availability_zones.length || env.settings.availability_zone_count).toBeGreaterThanOrEqual(2);
    }
  });

  test("dev saves money with a single NAT gateway and a small instance, prod spreads over 3 AZs", async () => {
    const config = await loadConfig({ cwd: root, file: "terraform.tfvars.example" });
    const [dev, staging, prod] = config.environments;
    expect(dev.settings.nat_gateway_mode).toBe("single");
    expect(dev.settings.instance_type).toBe("t3.micro");
    expect(staging.settings.nat_gateway_mode).toBe("per-az");
    expect(prod.settings.availability_zone_count).toBe(3);
    expect(prod.settings.asg_min).toBe(3);
  });
});

describe("loading", () => {
  test("falls back to the example with one notice when terraform.tfvars is missing (offline commands)", async () => {
    const config = await loadConfig({ cwd: root, allowExample: true });
    expect(config.usedExample).toBe(true);
    expect(config.file).toBe("terraform.tfvars.example");
    expect(config.warnings).toEqual([expect.stringMatching(/^No terraform\.tfvars: using terraform\.tfvars\.example/)]);
  });

  test("refuses without terraform.tfvars for real plans and says to copy the example", async () => {
    const empty = tempDir("config");
    await expect(loadConfig({ cwd: empty })).rejects.toThrow(/terraform\.tfvars: file not found; copy terraform\.tfvars\.example to terraform\.tfvars/);
  });

  test("an explicit --var-file that does not exist is named", async () => {
    await expect(loadConfig({ cwd: root, file: "nope.tfvars" })).rejects.toThrow("nope.tfvars: file not found");
  });

  test("reads a real file from disk", async () => {
    const dir = tempDir("config");
    writeFileSync(join(dir, "terraform.tfvars"), 'region = "us-east-2"\nenvironments = { qa = {} }\n');
    const config = await loadConfig({ cwd: dir });
    expect(config.usedExample).toBe(false);
    expect(config.environments[0].settings.region).toBe("us-east-2");
  });
});

describe("merging", () => {
  test("environment keys override top-level keys, which override defaults; tags merge", async () => {
    const config = await loadConfigText(`
      asg_max = 6
      tags = { team = "net", owner = "a" }
      environments = {
        dev  = { asg_max = 3, tags = { owner = "b" } }
        prod = {}
      }`);
    const dev = selectEnvironment(config, "dev");
    const prod = selectEnvironment(config, "prod");
    expect(dev.settings.asg_max).toBe(3);
    expect(prod.settings.asg_max).toBe(6);
    expect(prod.settings.asg_min).toBe(2);
    expect(dev.settings.tags).toEqual({ team: "net", owner: "b" });
  });

  test("derived values: VPC resolver as DNS, first tunnel host for servers, arm64 for Graviton, desired = min", async () => {
    const config = await loadConfigText(`
      vpc_cidr = "10.8.0.0/20"
      client_cidr = "172.16.4.0/24"
      environments = { dev = { instance_type = "c7gn.large" }, prod = { asg_desired = 3, client_dns = ["1.1.1.1"] } }`);
    const dev = selectEnvironment(config, "dev");
    expect(dev.clientDns).toEqual(["10.8.0.2"]);
    expect(dev.serverTunnelAddress).toBe("172.16.4.1/24");
    expect(dev.architecture).toBe("arm64");
    expect(dev.asgDesired).toBe(2);
    const prod = selectEnvironment(config, "prod");
    expect(prod.architecture).toBe("x86_64");
    expect(prod.asgDesired).toBe(3);
    expect(prod.clientDns).toEqual(["1.1.1.1"]);
  });

  test("state backend: one key per environment under the prefix, or an explicit key", async () => {
    const config = await loadConfigText(`
      state_backend = { bucket = "tf", region = "eu-west-1" }
      environments = { dev = {}, prod = { state_backend = { bucket = "tf-prod", region = "eu-west-1", key = "vpn/prod.tfstate" } } }`);
    expect(selectEnvironment(config, "dev").stateBackend).toEqual({ bucket: "tf", region: "eu-west-1", key: "wg-ha/dev.tfstate" });
    expect(selectEnvironment(config, "prod").stateBackend?.key).toBe("vpn/prod.tfstate");
  });

  test("amazon-linux-2 is accepted with an end-of-life warning", async () => {
    const config = await loadConfigText('os = "amazon-linux-2"\nenvironments = { dev = {} }');
    expect(config.warnings).toEqual([expect.stringContaining("reached end of life on 2026-06-30")]);
  });

  test("null means the default", async () => {
    const config = await loadConfigText("alarm_email = null\nasg_desired = null\nenvironments = { dev = {} }");
    expect(config.environments[0].settings.alarm_email).toBeUndefined();
  });
});

// Each row: a kind of bad input, the HCL, and the exact error lines expected (regexes).
const BAD_INPUT: ReadonlyArray<[string, string, RegExp[]]> = [
  ["wrong type: string for a number", 'asg_min = "two"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: asg_min: expected a number, got "two"$/]],
  ["wrong type: instance type not a string", "instance_type = 5\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: instance_type: expected a string in quotes, got 5$/]],
  ["wrong type: list expected", 'client_dns = "1.1.1.1"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: client_dns: expected a list such as \["a", "b"\], got "1\.1\.1\.1"$/]],
  ["wrong type: fraction for a whole number", "asg_max = 2.5\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: asg_max: expected a whole number, got 2\.5$/]],
  ["unknown key with a suggestion", 'regoin = "eu-west-1"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: regoin: unknown setting \(did you mean "region"\?\); see terraform\.tfvars\.example/]],
  ["unknown key inside an environment", "environments = {\n  dev = { nat_mode = 1 }\n}",
    [/^terraform\.tfvars:2: environments\.dev\.nat_mode: unknown setting/]],
  ["overlapping VPC and client CIDRs", 'vpc_cidr = "10.100.0.0/16"\nclient_cidr = "10.100.4.0/22"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:2: client_cidr: 10\.100\.4\.0\/22 overlaps vpc_cidr 10\.100\.0\.0\/16; give the tunnel a range outside the VPC \(environment dev\)$/]],
  ["invalid CIDR (host bits set)", 'vpc_cidr = "10.40.0.1/16"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: vpc_cidr: "10\.40\.0\.1\/16" is not an IPv4 CIDR with host bits cleared/]],
  ["invalid CIDR (garbage)", 'client_cidr = "banana"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: client_cidr: "banana" is not an IPv4 CIDR/]],
  ["VPC too large", 'vpc_cidr = "10.0.0.0/8"\nclient_cidr = "172.16.0.0/22"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: vpc_cidr: prefix \/8 is outside \/16 to \/24/]],
  ["min > max", "environments = {\n  dev = { asg_min = 3, asg_max = 2 }\n}",
    [/^terraform\.tfvars:2: environments\.dev\.asg_min: 3 is greater than asg_max \(2\); asg_min must be <= asg_max$/]],
  ["desired outside [min, max]", "asg_desired = 9\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: asg_desired: 9 is outside \[asg_min, asg_max\] = \[2, 4\] \(environment dev\)$/]],
  ["HA environment with fewer than 2 AZs", "environments = {\n  prod = { availability_zone_count = 1 }\n}",
    [/^terraform\.tfvars:2: environments\.prod\.availability_zone_count: 1 AZ is not highly available; use at least 2/]],
  ["HA environment with one server", "asg_min = 1\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: asg_min: 1 server cannot survive losing one; use at least 2/]],
  ["port out of range", "wireguard_port = 70000\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: wireguard_port: 70000 is out of range; allowed: 1 to 65535$/]],
  ["agent port equals WireGuard port", "agent_port = 51820\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: agent_port: 51820 must differ from wireguard_port \(51820\)/]],
  ["unknown OS", 'os = "windows"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: os: "windows" is not allowed; use one of "ubuntu-22\.04", "amazon-linux-2023", "amazon-linux-2"$/]],
  ["CPU thresholds inverted", "scale_in_cpu_percent = 80\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: scale_in_cpu_percent: 80 must be below scale_out_cpu_percent \(70\), or the fleet flaps/]],
  ["network thresholds inverted", "scale_out_network_bytes_per_second = 1000\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: scale_out_network_bytes_per_second \(scale_in_network_bytes_per_second\): 2000000 must be below scale_out_network_bytes_per_second \(1000\)/]],
  ["health check timeout above interval", "health_check_timeout_seconds = 9\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: health_check_timeout_seconds: 9 must not exceed health_check_interval_seconds \(5\)/]],
  ["AZ in another region", 'availability_zones = ["us-east-1a", "us-east-1b"]\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: availability_zones: every AZ must be in region eu-west-1/]],
  ["invalid e-mail", 'alarm_email = "ops"\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: alarm_email: "ops" is not valid; expected an e-mail address/]],
  ["invalid admin principal", 'admin_principals = ["bob"]\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:1: admin_principals\[0\]: "bob" is not valid; expected an IAM user, role or account root ARN$/]],
  ["log retention CloudWatch does not offer", "log_retention_days = 31\nenvironments = { dev = {} }",
    [/^terraform\.tfvars:1: log_retention_days: 31 is not valid; expected one of 1, 3, 5, 7, 14, 30,/]],
  ["bad environment name", "environments = { Dev = {} }",
    [/^terraform\.tfvars:1: environments\.Dev: environment names must be 1-16 lower-case letters/]],
  ["no environments", "environments = {}",
    [/^terraform\.tfvars:1: environments: define at least one environment/]],
  ["two environments sharing one state object",
    'state_backend = { bucket = "b", region = "eu-west-1", key = "same" }\nenvironments = { dev = {}, prod = {} }',
    [/^terraform\.tfvars: state_backend\.key: environments dev and prod would share the state s3:\/\/b\/same/]],
  ["malformed HCL reports the line", 'region = "eu-west-1"\nasg_min = = 2\nenvironments = { dev = {} }',
    [/^terraform\.tfvars:2:\d+: /]],
];

describe.each(BAD_INPUT)("bad input: %s", (_kind, hcl, expected) => {
  test("gives exactly the expected error lines", async () => {
    const errors = await errorsOf(hcl);
    expect(errors).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(errors[i]).toMatch(pattern));
  });
});

test("every problem is reported at once, not just the first", async () => {
  const errors = await errorsOf('asg_min = "x"\nwireguard_port = 0\nfoo = 1\nenvironments = { dev = {} }');
  expect(errors).toHaveLength(3);
});

test("a problem shared by several environments is reported once, naming them", async () => {
  const errors = await errorsOf("scale_in_cpu_percent = 90\nenvironments = { dev = {}, staging = {}, prod = {} }");
  expect(errors).toEqual([expect.stringMatching(/\(environment dev, staging, prod\)$/)]);
});

test("selecting an unknown environment lists the valid ones", async () => {
  const config = await loadConfigText("environments = { dev = {}, prod = {} }");
  expect(() => selectEnvironment(config, "nope")).toThrow('terraform.tfvars: unknown environment "nope"; environments defined there: dev, prod');
});

test("describeEnvironment: the one-line profile deploy.ts --dry-run prints", async () => {
  const config = await loadConfig({ cwd: root, file: "terraform.tfvars.example" });
  expect(config.environments.map(describeEnvironment)).toEqual([
    "eu-west-1, 2 AZs, 1 NAT gateway, 2-3 x t3.micro (x86_64), amazon-linux-2023 (EFS mount TLS + IAM), UDP 51820",
    "eu-west-1, 2 AZs, NAT per AZ, 2-4 x t3.small (x86_64), amazon-linux-2023 (EFS mount TLS + IAM), UDP 51820",
    "eu-west-1, 3 AZs, NAT per AZ, 3-9 x c6in.large (x86_64), amazon-linux-2023 (EFS mount TLS + IAM), UDP 51820",
  ]);
  const ubuntu = await loadConfigText('os = "ubuntu-22.04"\nenvironments = { dev = {} }');
  expect(describeEnvironment(ubuntu.environments[0])).toMatch(/, ubuntu-22\.04 \(EFS mount TLS, anonymous \(no IAM\)\),/);
});
