/**
 * Teardown after a crash: a process brings a cluster up and is SIGKILLed; destroyCluster() then
 * removes every namespace, process and socket from the state directory alone, and a second call
 * is a no-op.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { destroyCluster, findLeftovers, LocalCluster, readState, waitFor } from "../../scripts/lib/cluster";
import { isAlive } from "../../scripts/lib/cluster/exec";
import { clusterStateDir, describeIntegration, runPrefix } from "./helpers";

const PREFIX = runPrefix("itcr");
const REPO = join(__dirname, "..", "..");

describeIntegration("teardown after a crash", () => {
  const stateDir = clusterStateDir(PREFIX);

  afterAll(() => {
    destroyCluster(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test("removes everything recorded, idempotently", async () => {
    const script = `
      const { LocalCluster } = require("./scripts/lib/cluster");
      LocalCluster.up({ stateDir: ${JSON.stringify(stateDir)}, prefix: ${JSON.stringify(PREFIX)}, servers: 1, healthIntervalSeconds: 1,
        ${process.env.WG_HA_TEST_AGENT ? `agentPath: ${JSON.stringify(process.env.WG_HA_TEST_AGENT)},` : ""} })
        .then(() => { process.stdout.write("UP\\n"); setInterval(() => {}, 1000); })
        .catch((e) => { process.stdout.write("FAILED " + e.message + "\\n"); process.exit(1); });`;
    const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("close", () => resolve(out.trim()));
    });
    expect(line).toBe("UP");
    child.kill("SIGKILL"); // the creator dies: no cleanup of its own

    const state = readState(stateDir);
    const recorded = [...state.processes, ...state.servers.flatMap((s) => s.processes)];
    expect(recorded.length).toBeGreaterThanOrEqual(4); // poller, wireguard-go, sync, agent
    expect(findLeftovers(PREFIX).namespaces.sort()).toEqual([`${PREFIX}-lb`, `${PREFIX}-s1`, `${PREFIX}-vpc`]);

    const report = destroyCluster(stateDir);
    expect(report.namespaces.sort()).toEqual([`${PREFIX}-lb`, `${PREFIX}-s1`, `${PREFIX}-vpc`]);
    expect(findLeftovers(PREFIX)).toEqual({ namespaces: [], sockets: [] });
    expect(recorded.filter(isAlive)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
    expect(destroyCluster(stateDir)).toEqual({ namespaces: [], processes: 0, sockets: [] });
  }, 60_000);

  test("a cluster past its lifetime tears itself down (the LB poller does it)", async () => {
    const cluster = await LocalCluster.up({
      stateDir,
      prefix: PREFIX,
      servers: 1,
      healthIntervalSeconds: 1,
      lifetimeSeconds: 4,
      ...(process.env.WG_HA_TEST_AGENT ? { agentPath: process.env.WG_HA_TEST_AGENT } : {}),
    });
    const recorded = [...cluster.state.processes, ...cluster.state.servers.flatMap((s) => s.processes)];
    await waitFor("the self-teardown", () => findLeftovers(PREFIX).namespaces.length === 0 && recorded.every((p) => !isAlive(p)), 20_000, 200);
    expect(findLeftovers(PREFIX)).toEqual({ namespaces: [], sockets: [] });
    expect(existsSync(join(stateDir, "state.json"))).toBe(false); // logs kept, cluster gone
    destroyCluster(stateDir);
  }, 60_000);
});
