import { loadConfig } from "../stacks/config/load";

test("the committed example loads with dev, staging and prod", async () => {
  const config = await loadConfig({ allowExample: true, cwd: `${__dirname}/..`, file: "terraform.tfvars.example" });
  expect(config.environments.map((e) => e.name)).toEqual(["dev", "staging", "prod"]);
});
