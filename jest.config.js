/** Two projects: fast unit tests (synth, config, scripts) and real-WireGuard integration tests. */
const transform = { "^.+\\.(t|j)sx?$": ["@swc/jest"] };
const setupFilesAfterEnv = ["<rootDir>/__tests__/setup.ts"];

module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      setupFilesAfterEnv,
      testMatch: ["<rootDir>/__tests__/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/__tests__/integration/"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform,
      setupFilesAfterEnv,
      testMatch: ["<rootDir>/__tests__/integration/**/*.test.ts"],
    },
  ],
};
