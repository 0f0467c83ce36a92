/**
 * What must hold before terraform runs: the binary (and a version that supports the backend)
 * and AWS credentials terraform's AWS provider can use. Checked first, so the user gets one
 * clear message in a second instead of a provider error after a minute of work.
 *
 * Method (no AWS SDK): when the `aws` CLI is on PATH, `aws sts get-caller-identity` proves the
 * credentials work. Otherwise look where the provider looks, in its order: environment keys,
 * AWS_PROFILE (must exist in ~/.aws/config or ~/.aws/credentials), web identity (OIDC in CI),
 * container credentials (ECS, CodeBuild), a default profile, and finally the EC2 instance
 * metadata service (one 1 s probe; skipped when AWS_EC2_METADATA_DISABLED=true).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { $, which } from "zx";
import type { EnvironmentConfig } from "../../../stacks/config/environment";
import { Failure } from "../cli";
import type { BinaryName } from "./cli-args";
import { binaryVersion, findBinary, MIN_VERSION_FOR_LOCKFILE, versionAtLeast, type Binary } from "./terraform";

export const CREDENTIALS_HELP = [
  "no AWS credentials found. Set one of:",
  "  AWS_PROFILE=NAME                             a profile in ~/.aws/config (aws configure, or aws configure sso + aws sso login)",
  "  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY    access keys (plus AWS_SESSION_TOKEN for temporary ones)",
  "  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN   OIDC in CI (e.g. GitHub Actions' configure-aws-credentials)",
  "or run on EC2/ECS with an instance or task role.",
].join("\n");

export interface AwsFiles {
  /** Contents of the shared config file (~/.aws/config or AWS_CONFIG_FILE), if any. */
  readonly config?: string;
  /** Contents of the shared credentials file (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE), if any. */
  readonly credentials?: string;
}

/** Profile names defined in the shared files (`[profile x]` in config, `[x]` in credentials). */
export function profileNames(files: AwsFiles): Set<string> {
  const names = new Set<string>();
  for (const [text, isConfig] of [[files.config, true], [files.credentials, false]] as const) {
    for (const match of (text ?? "").matchAll(/^\s*\[\s*([^\]]+?)\s*\]\s*$/gm)) {
      const section = match[1];
      if (!isConfig) names.add(section);
      else if (section === "default") names.add("default");
      else if (section.startsWith("profile ")) names.add(section.slice("profile ".length).trim());
    }
  }
  return names;
}

/**
 * Where the provider would find credentials without any network call: a description such as
 * "environment (AWS_ACCESS_KEY_ID)", or undefined. Throws Failure for a half-set source.
 */
export function staticCredentialSource(env: NodeJS.ProcessEnv, files: AwsFiles): string | undefined {
  if (env.AWS_ACCESS_KEY_ID) {
    if (!env.AWS_SECRET_ACCESS_KEY) throw new Failure("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both (or unset both)");
    return "environment (AWS_ACCESS_KEY_ID)";
  }
  const profiles = profileNames(files);
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE;
  if (profile) {
    if (!profiles.has(profile)) {
      const known = [...profiles].sort().join(", ") || "none";
      throw new Failure(`AWS_PROFILE=${profile}, but ~/.aws/config and ~/.aws/credentials define no such profile (defined: ${known})`);
    }
    return `profile ${profile}`;
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    if (!env.AWS_ROLE_ARN) throw new Failure("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set the role to assume");
    return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
  }
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return "container credentials (ECS/CodeBuild)";
  if (profiles.has("default")) return "profile default";
  return undefined;
}

/** The shared config and credentials files, honouring AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE. */
export function readAwsFiles(env: NodeJS.ProcessEnv, home = env.HOME ?? homedir()): AwsFiles {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  };
  return {
    config: read(env.AWS_CONFIG_FILE ?? join(home, ".aws", "config")),
    credentials: read(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials")),
  };
}

/** True when an EC2 instance metadata service answers (IMDSv2 token request, 1 s budget). */
async function imdsAvailable(env: NodeJS.ProcessEnv): Promise<boolean> {
  if ((env.AWS_EC2_METADATA_DISABLED ?? "").toLowerCase() === "true") return false;
  try {
    const response = await fetch("http://169.254.169.254/latest/api/token", {
      method: "PUT",
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": "60" },
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** `aws sts get-caller-identity`: the caller's ARN, or Failure with what aws said. */
async function callerIdentity(awsCli: string, region: string, env: NodeJS.ProcessEnv): Promise<string> {
  const sts = await $({ env: { ...env, AWS_PAGER: "" }, nothrow: true, quiet: true, timeout: "30s" })`${awsCli} sts get-caller-identity --output json --region ${region}`;
  if (sts.exitCode !== 0) {
    const said = sts.stderr.trim().split("\n").filter(Boolean).slice(-3).join(" ") || `exit ${sts.exitCode ?? sts.signal}`;
    throw new Failure(`AWS credentials do not work: aws sts get-caller-identity failed: ${said}\n${CREDENTIALS_HELP}`);
  }
  try {
    const arn = (JSON.parse(sts.stdout) as { Arn?: string }).Arn;
    return arn ? `aws sts: ${arn}` : "aws sts get-caller-identity";
  } catch {
    return "aws sts get-caller-identity";
  }
}

export interface CredentialCheck {
  readonly env: NodeJS.ProcessEnv;
  /** Region of the environment, for the STS call. */
  readonly region: string;
}

/** Describes the credentials found ("aws sts: arn:...", "profile dev"); Failure when there are none. */
export async function checkAwsCredentials({ env, region }: CredentialCheck): Promise<string> {
  const awsCli = await which("aws", { nothrow: true, path: env.PATH });
  if (awsCli) return callerIdentity(awsCli, region, env);
  const found = staticCredentialSource(env, readAwsFiles(env));
  if (found) return `${found} (not verified: no aws CLI on PATH)`;
  if (await imdsAvailable(env)) return "EC2 instance metadata (instance role)";
  throw new Failure(CREDENTIALS_HELP);
}

/** The binary and its version, AWS credentials, and where the state lives, with notes for the user. */
export async function preflight(options: {
  readonly binary?: BinaryName;
  readonly env: EnvironmentConfig;
  readonly cwd: string;
}): Promise<{ binary: Binary; notes: string[] }> {
  const { env } = options;
  const binary = await findBinary(options.binary);
  const version = await binaryVersion(binary, options.cwd);
  const s3 = env.stateBackend;
  if (s3 && version && !versionAtLeast(version, MIN_VERSION_FOR_LOCKFILE)) {
    throw new Failure(
      `state_backend uses S3 native locking (use_lockfile), which needs ${binary.name} >= ${MIN_VERSION_FOR_LOCKFILE}; ${binary.path} is ${version}`,
    );
  }
  const credentials = await checkAwsCredentials({ env: process.env, region: env.settings.region });
  const state = s3 ? `s3://${s3.bucket}/${s3.key} (${s3.region}, use_lockfile)` : `local file terraform.${env.name}.tfstate`;
  return { binary, notes: [`${binary.name} ${version ?? "(version unknown)"}: ${binary.path}`, `AWS credentials: ${credentials}`, `state: ${state}`] };
}
