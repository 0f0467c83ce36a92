/**
 * Shared by the integration tests: prerequisites (fail under CI=true, skip with a visible message
 * elsewhere), one cluster per test file under a prefix unique to the run (two suites on one
 * machine never share or tear down each other's cluster; an abandoned cluster tears itself down
 * after its lifetime), and measured numbers printed at the end.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCluster, missingPrerequisites, type ClusterOptions } from "../../scripts/lib/cluster";

const problems = missingPrerequisites();
const inCi = process.env.CI === "true";

/**
 * `describe` when the machine can run real-WireGuard tests; under CI=true a missing prerequisite
 * is a failing test naming the package; elsewhere the block is skipped with a message.
 */
export function describeIntegration(name: string, fn: () => void): void {
  if (problems.length === 0) {
    describe(name, fn);
  } else if (inCi) {
    describe(name, () => {
      test("prerequisites", () => {
        throw new Error(`integration prerequisites missing (CI=true: not skipping):\n  - ${problems.join("\n  - ")}`);
      });
    });
  } else {
    process.stderr.write(`\n[integration] SKIPPED "${name}":\n  - ${problems.join("\n  - ")}\n`);
    describe.skip(name, fn);
  }
}

/**
 * A cluster prefix unique to this run: the file's short name (at most 4 characters) plus 4 random
 * hex digits, 8 in all, the most a prefix may have (interface names are limited to 15).
 */
export function runPrefix(name: string): string {
  if (!/^[a-z][a-z0-9]{1,3}$/.test(name)) throw new Error(`runPrefix: '${name}' must be 2-4 lower-case letters or digits`);
  return `${name}${randomBytes(2).toString("hex")}`;
}

export function clusterStateDir(prefix: string): string {
  return join(tmpdir(), `wg-ha-it-${prefix}`);
}

/**
 * A cluster for one test file. WG_HA_TEST_AGENT may point at another build of the health agent;
 * by default the checkout's templates/agent/wg-ha-agent.py runs (up() fails clearly without it).
 */
export async function startCluster(prefix: string, opts: Omit<ClusterOptions, "stateDir" | "prefix"> = {}): Promise<LocalCluster> {
  return LocalCluster.up({
    stateDir: clusterStateDir(prefix),
    prefix,
    healthIntervalSeconds: 1,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    lifetimeSeconds: 900, // self-destructs if this test process dies without cleaning up
    ...(process.env.WG_HA_TEST_AGENT ? { agentPath: process.env.WG_HA_TEST_AGENT } : {}),
    ...opts,
  });
}

/** Tears the cluster down; keeps its logs when a test failed (WG_HA_TEST_KEEP=1 keeps them always). */
export function stopCluster(cluster: LocalCluster | undefined, failed: boolean): void {
  if (!cluster) return;
  const keep = failed || process.env.WG_HA_TEST_KEEP === "1";
  cluster.down({ keepFiles: keep });
  if (keep) process.stderr.write(`[integration] logs of cluster ${cluster.prefix} kept in ${cluster.stateDir}\n`);
}

const measurements: string[] = [];

/** Records a measured number; all are printed once the file's tests are done. */
export function measure(what: string, value: number, unit = "s"): void {
  measurements.push(`${what}: ${unit === "s" ? value.toFixed(2) : value} ${unit}`);
}

export function printMeasurements(file: string): void {
  if (measurements.length) process.stdout.write(`\n[integration] ${file}\n  ${measurements.join("\n  ")}\n`);
}

/** Tracks whether any test in the file failed (jest has no public API for it). */
export function failureTracker(): { readonly failed: boolean; wrap<T>(fn: () => Promise<T>): () => Promise<T> } {
  const t = {
    failed: false,
    wrap<T>(fn: () => Promise<T>) {
      return async () => {
        try {
          return await fn();
        } catch (err) {
          t.failed = true;
          throw err;
        }
      };
    },
  };
  return t;
}

export const nowSeconds = () => Date.now() / 1000;
