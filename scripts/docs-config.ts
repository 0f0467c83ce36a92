#!/usr/bin/env -S node --import tsx
/** Writes docs/configuration.md from the config schema (`npm run docs:config`). */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags, runMain } from "./lib/cli";

const USAGE = "Usage: npm run docs:config\n\nRegenerates docs/configuration.md from stacks/config/schema.ts.\n";

runMain("npm run docs:config --", async (argv) => {
  if (parseFlags(argv, { help: { type: "boolean", short: "h" } }).values.help) return void process.stdout.write(USAGE);
  const { renderConfigurationReference } = await import("../stacks/config/reference.js");
  const target = join(__dirname, "..", "docs", "configuration.md");
  writeFileSync(`${target}.tmp`, renderConfigurationReference());
  renameSync(`${target}.tmp`, target);
  process.stdout.write(`wrote ${target}\n`);
});
