/**
 * client_to_client (terraform.tfvars) -> WG_HA_CLIENT_TO_CLIENT (the servers' settings file): a
 * boolean, off by default, per environment; anything else is one clear error naming the key.
 */
import { ConfigError, loadConfigText } from "../stacks/config/load";
import { renderSettingsFile } from "../stacks/user-data";
import { settingsInput } from "./fixtures/user-data-input";

async function errorsOf(hcl: string): Promise<readonly string[]> {
  try {
    await loadConfigText(hcl, "terraform.tfvars");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const settingOf = (rendered: string, key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(rendered)?.[1];

test.each([
  ["a string", 'client_to_client = "yes"\nenvironments = { dev = {} }', /^terraform\.tfvars:1: client_to_client: expected true or false, got "yes"$/],
  ["a number", "client_to_client = 1\nenvironments = { dev = {} }", /^terraform\.tfvars:1: client_to_client: expected true or false, got 1$/],
  ["a list, in one environment", "environments = {\n  dev = { client_to_client = [] }\n}", /^terraform\.tfvars:2: environments\.dev\.client_to_client: expected true or false, got a list$/],
])("client_to_client as %s: one clear error", async (_name, hcl, message) => {
  expect(await errorsOf(hcl)).toEqual([expect.stringMatching(message)]);
});

test("off by default; on for the environment that says so; rendered as WG_HA_CLIENT_TO_CLIENT 0/1 next to WG_HA_VPC_CIDR", async () => {
  const config = await loadConfigText("environments = {\n  dev = {}\n  lab = { client_to_client = true }\n}", "terraform.tfvars");
  const [dev, lab] = config.environments;
  expect([dev.settings.client_to_client, lab.settings.client_to_client]).toEqual([false, true]);
  const base = settingsInput("amazon-linux-2023");
  expect(settingOf(renderSettingsFile({ ...base, env: dev }), "WG_HA_CLIENT_TO_CLIENT")).toBe("0");
  expect(settingOf(renderSettingsFile({ ...base, env: lab }), "WG_HA_CLIENT_TO_CLIENT")).toBe("1");
  expect(settingOf(renderSettingsFile({ ...base, env: dev }), "WG_HA_VPC_CIDR")).toBe(dev.settings.vpc_cidr);
});
