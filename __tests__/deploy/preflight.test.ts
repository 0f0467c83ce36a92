/** scripts/lib/deploy/preflight.ts (the offline part) and scripts/lib/deploy/terraform.ts binary and version checks. */
import { profileNames, staticCredentialSource } from "../../scripts/lib/deploy/preflight";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findBinary, versionAtLeast } from "../../scripts/lib/deploy/terraform";
import { tempDir } from "../temp-dir";

const CONFIG = "[default]\nregion = eu-west-1\n\n[profile dev-admin]\nsso_session = corp\n[sso-session corp]\n";
const CREDENTIALS = "[ci]\naws_access_key_id = AKIA...\n";

test("profile names from the shared config and credentials files", () => {
  expect([...profileNames({ config: CONFIG, credentials: CREDENTIALS })].sort()).toEqual(["ci", "default", "dev-admin"]);
  expect(profileNames({})).toEqual(new Set());
});

test.each([
  [{ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s" }, {}, "environment (AWS_ACCESS_KEY_ID)"],
  [{ AWS_PROFILE: "dev-admin" }, { config: CONFIG }, "profile dev-admin"],
  [{ AWS_PROFILE: "ci" }, { credentials: CREDENTIALS }, "profile ci"],
  [{ AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_ROLE_ARN: "arn:aws:iam::1:role/ci" }, {}, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"],
  [{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/creds" }, {}, "container credentials (ECS/CodeBuild)"],
  [{}, { config: CONFIG }, "profile default"],
  [{}, {}, undefined],
  [{}, { credentials: CREDENTIALS }, undefined],
])("env %j, files %j: %s", (env, files, expected) => {
  expect(staticCredentialSource(env, files)).toBe(expected);
});

test.each([
  [{ AWS_ACCESS_KEY_ID: "AKIA" }, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"],
  [{ AWS_PROFILE: "prod" }, "AWS_PROFILE=prod, but ~/.aws/config and ~/.aws/credentials define no such profile (defined: default, dev-admin)"],
  [{ AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"],
])("half-set credentials are an error: %j", (env, message) => {
  expect(() => staticCredentialSource(env, { config: CONFIG })).toThrow(message);
});

test.each([
  ["1.11.4", "1.10.0", true],
  ["1.10.0", "1.10.0", true],
  ["v1.10.0-rc1", "1.10.0", true],
  ["1.9.8", "1.10.0", false],
  ["0.15.5", "1.10.0", false],
  ["2.0.0", "1.10.0", true],
])("version %s >= %s: %s", (version, minimum, expected) => {
  expect(versionAtLeast(version, minimum)).toBe(expected);
});

describe("findBinary: terraform first, then tofu, from PATH", () => {
  const path = process.env.PATH;
  const dirWith = (...names: string[]) => {
    const dir = tempDir("bin");
    for (const name of names) {
      writeFileSync(join(dir, name), "#!/bin/sh\n");
      chmodSync(join(dir, name), 0o755);
    }
    return dir;
  };
  afterEach(() => (process.env.PATH = path));

  test.each([
    [["terraform", "tofu"], undefined, "terraform"],
    [["tofu"], undefined, "tofu"],
    [["terraform", "tofu"], "tofu", "tofu"],
  ] as const)("on PATH %j, requested %s: %s", async (names, requested, expected) => {
    const dir = dirWith(...names);
    process.env.PATH = dir;
    expect(await findBinary(requested)).toEqual({ name: expected, path: join(dir, expected) });
  });

  test.each([
    [[], undefined, "neither terraform nor tofu found on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install) or OpenTofu >= 1.10"],
    [["terraform"], "tofu", "tofu not found on PATH: install Terraform >= 1.10"],
    [["tofu"], "terraform", "terraform not found on PATH"],
  ] as const)("on PATH %j, requested %s: Failure", async (names, requested, message) => {
    process.env.PATH = dirWith(...names);
    await expect(findBinary(requested)).rejects.toThrow(message);
  });
});
