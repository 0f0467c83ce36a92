/**
 * What `npm run synth` writes: one snapshot per example environment, byte-identical across runs,
 * machine-independent (no absolute path, account ID or timestamp), and free of secrets.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { findSecrets } from "./secret-patterns";
import { EXAMPLE_ENVIRONMENTS, ROOT, synthExamples, type Synthesized } from "./synth";
import { tempDir } from "../temp-dir";

/** A machine path starts a value or follows a separator (".../cloudwatch/home?..." in a URL is not one). */
const ABSOLUTE_PATH = /(?<![\w.-])\/(?:work|home|root|tmp|Users|var\/folders)\b|(?<![\w])[A-Z]:\\\\(?:Users|Windows)\b/g;

let synths: Synthesized[];
/** Two separate `npm run synth` processes (same snapshot of the app) into two output directories. */
let runs: Array<Map<string, string>>;

function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return files;
}

/** `npm run synth` in `appDir` into a fresh output directory. */
function synthProcess(appDir: string): Map<string, string> {
  const outdir = join(tempDir("synth"), "cdktf.out");
  const tsx = join(ROOT, "node_modules", ".bin", "tsx");
  const result = spawnSync(tsx, ["main.ts", "--var-file", "terraform.tfvars.example", "--outdir", outdir, "--quiet"], {
    cwd: appDir, encoding: "utf8", timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`synth failed: ${result.stderr}`);
  return filesUnder(outdir);
}

/** A snapshot of the app, so that edits to the work tree between the two runs cannot differ them. */
function appSnapshot(): string {
  const dir = join(tempDir("app"), "app");
  const copy = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "bench", "copy-app.ts"), dir], { encoding: "utf8" });
  if (copy.status !== 0) throw new Error(`copy-app failed: ${copy.stderr}`);
  return dir;
}

beforeAll(async () => {
  synths = await synthExamples();
  const app = appSnapshot();
  runs = [synthProcess(app), synthProcess(app)];
}, 240_000);

/**
 * The template bundle (templates/ as a tar) stands in as a placeholder: templates/ has its own
 * tests, and the template-store test checks the object. Its key is stable (wg-ha/templates-<os>.tar)
 * and stays in the snapshot.
 */
function withoutTemplateBundle({ tf, text }: Synthesized): string {
  const bundle = Object.values<{ content_base64: string }>(tf.resource.aws_s3_object)[0];
  return text.split(bundle.content_base64).join("<template bundle>");
}

test.each(EXAMPLE_ENVIRONMENTS)("%s: snapshot", (name) => {
  const synth = synths.find((s) => s.env.name === name)!;
  expect(withoutTemplateBundle(synth)).toMatchSnapshot();
});

test("synth writes cdktf.out/stacks/<env>/cdk.tf.json for every environment, byte-identical in two runs", () => {
  const [first, second] = runs;
  for (const env of EXAMPLE_ENVIRONMENTS) expect(first.has(`stacks/${env}/cdk.tf.json`)).toBe(true);
  expect([...second.keys()]).toEqual([...first.keys()]);
  for (const [file, text] of first) expect({ file, same: second.get(file) === text }).toEqual({ file, same: true });
});

test("no absolute path, account ID or timestamp in any synthesized file", () => {
  for (const [file, text] of runs[0]) {
    expect({ file, paths: text.match(ABSOLUTE_PATH) }).toEqual({ file, paths: null });
    expect({ file, accountIds: text.match(/(?<![\d.])\d{12}(?![\d.])/g) }).toEqual({ file, accountIds: null });
    expect({ file, timestamps: text.match(/\b20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d|\b1[6-9]\d{8}(?:\d{3})?\b/g) }).toEqual({ file, timestamps: null });
  }
});

test("the absolute-path check catches CDKTF's default local backend path", () => {
  expect('{"local": {"path": "/work/main/terraform.dev.tfstate"}}'.match(ABSOLUTE_PATH)).toEqual(["/work"]);
  expect('"C:\\\\Users\\\\me\\\\terraform.tfstate"'.match(ABSOLUTE_PATH)).toEqual(["C:\\\\Users"]);
  expect('"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=x" "WG_HA_SYNC_SECONDS:\\\\n"'.match(ABSOLUTE_PATH)).toBeNull();
});

test("the local backend keeps state at a relative path", () => {
  for (const env of EXAMPLE_ENVIRONMENTS) {
    const tf = JSON.parse(runs[0].get(`stacks/${env}/cdk.tf.json`)!);
    expect(tf.terraform.backend).toEqual({ local: { path: `../../../terraform.${env}.tfstate` } });
  }
});

test("no secret-looking value in any synthesized file", () => {
  for (const [file, text] of runs[0]) expect({ file, secrets: findSecrets(text) }).toEqual({ file, secrets: [] });
});

describe("the secret scanner itself", () => {
  const wireguardKey = randomBytes(32).toString("base64");
  const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const accessKeyId = `AKIA${randomBytes(10).toString("hex").toUpperCase().slice(0, 16)}`;
  const secretKey = `${randomBytes(30).toString("base64").slice(0, 37)}Ab1`;
  test.each([
    ["a WireGuard key", `PrivateKey = ${wireguardKey}`, "WireGuard key"],
    ["a PEM block", pem, "PEM block"],
    ["an AWS access key ID", `"access_key": "${accessKeyId}"`, "AWS access key ID"],
    ["an AWS secret access key", `"secret_key": "${secretKey}"`, "AWS secret access key"],
  ])("finds %s", (_name, text, kind) => {
    expect(findSecrets(text)).toContainEqual(expect.stringMatching(new RegExp(`^${kind}: `)));
  });
  test("ignores ARNs, logical IDs, construct paths, AWS's documented example keys, base64 of other lengths", () => {
    expect(findSecrets('sigv4(m, u, h, b, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")')).toEqual([]);
    expect(findSecrets('"path": "dev/LoadBalancer/EgressHealthCheckToServers0"')).toEqual([]);
    expect(findSecrets('"${aws_efs_file_system.SharedStorage_FileSystem_F5BC6D69.arn}" arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore')).toEqual([]);
    expect(findSecrets(randomBytes(48).toString("base64"))).toEqual([]);
  });
});
