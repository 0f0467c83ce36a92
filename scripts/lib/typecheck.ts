/** The type-check gate: `tsc -p . --noEmit` with the project's own compiler (tsx does not type-check). */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DeployError } from "./ui";

/** Resolves when the project type-checks; otherwise prints tsc's report to stderr and throws DeployError. */
export function typecheck(root: string): Promise<void> {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) return Promise.reject(new DeployError(`${tsc} not found: run npm ci first`));
  return new Promise((resolve, reject) => {
    execFile(tsc, ["-p", ".", "--noEmit"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve();
      process.stderr.write(`\n${stdout}${stderr}`);
      reject(new DeployError("type-check failed: fix the errors above (or pass --skip-typecheck)"));
    });
  });
}
