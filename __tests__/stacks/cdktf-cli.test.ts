/** `cdktf synth` (the CLI, running cdktf.json's app) writes the same stacks as `npm run synth`. */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EXAMPLE_ENVIRONMENTS, ROOT } from "./synth";
import { tempDir } from "../temp-dir";

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const outdir = () => join(tempDir("cli"), "cdktf.out");

test("cdktf synth produces cdktf.out/stacks/<env>/cdk.tf.json for every environment, identical to npm run synth", () => {
  // CHECKPOINT_DISABLE: no version check against HashiCorp's servers; CI: no spinner.
  const env = { ...process.env, CHECKPOINT_DISABLE: "1", CI: "true" };
  const cliOut = outdir();
  const cli = spawnSync(bin("cdktf"), ["synth", "--output", cliOut], { cwd: ROOT, env, encoding: "utf8", timeout: 150_000 });
  expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  expect(cli.stdout).toMatch(/Generated Terraform code for the stacks: (\w+, ){2}\w+/);

  const npmOut = outdir();
  const direct = spawnSync(bin("tsx"), ["main.ts", "--outdir", npmOut, "--quiet"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  expect(direct.status).toBe(0);

  // Both read terraform.tfvars, or the example (dev, staging, prod) when there is none.
  const stacks = readdirSync(join(cliOut, "stacks")).sort();
  expect(stacks).toEqual(readdirSync(join(npmOut, "stacks")).sort());
  if (!existsSync(join(ROOT, "terraform.tfvars"))) expect(stacks).toEqual([...EXAMPLE_ENVIRONMENTS].sort());
  for (const name of stacks) {
    const file = join("stacks", name, "cdk.tf.json");
    expect({ name, same: readFileSync(join(cliOut, file), "utf8") === readFileSync(join(npmOut, file), "utf8") }).toEqual({ name, same: true });
  }
}, 240_000);
