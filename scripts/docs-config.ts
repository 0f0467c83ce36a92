#!/usr/bin/env -S node --import tsx
/** Writes docs/configuration.md from the config schema (`npm run docs:config`). */
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigurationReference } from "../stacks/config/reference";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write("Usage: npm run docs:config\n\nRegenerates docs/configuration.md from stacks/config/schema.ts.\n");
} else {
  const target = join(__dirname, "..", "docs", "configuration.md");
  writeFileSync(`${target}.tmp`, renderConfigurationReference());
  renameSync(`${target}.tmp`, target);
  process.stdout.write(`wrote ${target}\n`);
}
