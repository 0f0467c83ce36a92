/**
 * Deep provider imports only: `@cdktf/provider-aws/lib/<resource>`. The barrel
 * (`@cdktf/provider-aws`) loads all 2,212 resource modules: synth ~5x slower, ~5x more memory.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./synth";

const BARREL_IMPORT = /(?:from\s+|require\(\s*|import\(\s*)["']@cdktf\/provider-aws(?:\/lib)?\/?["']/;

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return typescriptFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

test("stacks/ and main.ts import the AWS provider only through deep paths", () => {
  const files = [join(ROOT, "main.ts"), ...typescriptFiles(join(ROOT, "stacks"))];
  expect(files.length).toBeGreaterThan(10);
  const offenders = files.filter((file) => BARREL_IMPORT.test(readFileSync(file, "utf8"))).map((file) => relative(ROOT, file));
  expect(offenders).toEqual([]);
  const deep = files.filter((file) => /from "@cdktf\/provider-aws\/lib\/[a-z0-9-]+"/.test(readFileSync(file, "utf8")));
  expect(deep.length).toBeGreaterThan(5);
});

test.each([
  ['import * as aws from "@cdktf/provider-aws";', true],
  ["import { vpc } from '@cdktf/provider-aws'", true],
  ['const aws = require("@cdktf/provider-aws")', true],
  ['import { Vpc } from "@cdktf/provider-aws/lib"', true],
  ['import { Vpc } from "@cdktf/provider-aws/lib/vpc";', false],
])("barrel detector: %s -> %s", (line, barrel) => {
  expect(BARREL_IMPORT.test(line)).toBe(barrel);
});
