/** The configuration docs cannot drift from the schema. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigurationReference } from "../stacks/config/reference";
import { SETTING_KEYS } from "../stacks/config/schema";

const root = join(__dirname, "..");

test("docs/configuration.md is up to date (run `npm run docs:config`)", () => {
  expect(readFileSync(join(root, "docs", "configuration.md"), "utf8")).toBe(renderConfigurationReference());
});

test.each(SETTING_KEYS)("terraform.tfvars.example documents %s", (key) => {
  const example = readFileSync(join(root, "terraform.tfvars.example"), "utf8");
  expect(example).toMatch(new RegExp(`^#?\\s*${key}\\s+=.*`, "m"));
});
