/**
 * Temporary directories that the test file removes when it is done: import this module at the top
 * of a test file (its afterAll is registered then) and call tempDir() anywhere in the file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

/** A new directory under the system temp directory, named `wg-ha-<label>-XXXXXX`. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wg-ha-${label}-`));
  made.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
