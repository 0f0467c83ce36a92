/** The type-check gate: `tsc -p . --noEmit` with the project's own compiler (tsx does not type-check). */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { Failure } from "../cli";

/** Resolves when the project type-checks; otherwise prints tsc's report to stderr and throws Failure. */
export async function typecheck(root: string): Promise<void> {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) throw new Failure(`${tsc} not found: run npm ci first`);
  const result = await $({ cwd: root, nothrow: true, quiet: true })`${tsc} -p . --noEmit`;
  if (result.exitCode === 0) return;
  process.stderr.write(`\n${result.stdout}${result.stderr}`);
  throw new Failure("type-check failed: fix the errors above (or pass --skip-typecheck)");
}
