/**
 * The local-cluster harness: wg-ha's real server templates in network namespaces behind an
 * nftables load balancer. One harness for the integration tests, the benchmarks and
 * scripts/local-cluster.ts. Start with LocalCluster (cluster.ts).
 */
export { LocalCluster, type ClusterOptions, type ClusterStatus, type ServerStatus, type SyncStatus } from "./cluster";
export { destroyCluster, findLeftovers, type Leftovers, type TeardownOptions, type TeardownReport } from "./teardown";
export { scanLeftovers, isClean, type DeepLeftovers } from "./leftovers";
export {
  assertPrerequisites, describePrerequisites, installCommand, missingPrerequisites, prerequisiteError, prerequisiteReport, REQUIRED_PROGRAMS,
  type PrerequisiteReport,
} from "./prerequisites";
export { chooseTarget, recordProbe, renderLbRuleset, type TargetHealth } from "./lb";
export type { LbStatus } from "./lb-poller";
export { readState, type ClientRecord, type ClusterState, type ServerRecord } from "./state";
export { inspectStateDir, removeLeftovers, upRefusal, type StateDirContents } from "./state-dir";
export {
  clientConfigFile, configAddress, configPrivateKey, publicKeyOf, readClientConfig, removeClientConfig, saveClientConfig, savedClientConfigs,
} from "./client-configs";
export { renderStatus, statusJson, statusJsonSchema, STATUS_SCHEMA_VERSION, type StatusJson } from "./status-json";
export { logFiles, loggedServers, tailFile, type LogSource } from "./logs";
export { formatFailoverEvent, formatFailoverSummary, parseLbEvent, watchFailover, type FailoverWatchOptions, type FailoverWatchResult } from "./failover-watch";
export { run, check, waitFor, sleep, type RunResult, type RunOptions } from "./exec";
export * as topology from "./topology";
export { startPinger, type Pinger } from "./pinger";
