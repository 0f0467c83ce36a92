/**
 * The CloudWatch agent config each OS renders at first boot (os/common.sh from the OS's template
 * bundle, with the settings stacks/user-data.ts writes): plain JSON, valid against the agent's own
 * schema, namespace WgHa as the IAM condition requires, the dimensions, the metrics and the log
 * files of issue 8; the procstat patterns match the units' command lines; the agent is started
 * the documented way; a bad setting fails the CloudWatch step only.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OPERATING_SYSTEMS } from "../../stacks/config/schema";
import { METRICS_NAMESPACE } from "../../stacks/metrics";
import { EMF_FILE, LOG_DIR, TEMPLATES_DIR, UNITS, userDataFiles } from "../../stacks/user-data";
import { validate } from "./json-schema";
import { tempDir } from "../temp-dir";
import { LOG_GROUP, renderedConfigText, unpackServer } from "./harness";

const SCHEMA = JSON.parse(readFileSync(join(__dirname, "fixtures", "amazon-cloudwatch-agent-schema.json"), "utf8"));
const CONFIG_PATH = "/usr/local/lib/wg-ha/cloudwatch/amazon-cloudwatch-agent.jsonc";

/**
 * The file each unit's journal lines land in: its SyslogIdentifier= (templates/systemd), matched by
 * the rsyslog rule (templates/cloudwatch/rsyslog.conf), which writes /var/log/<programname>.log.
 */
function unitLogFiles(): Record<string, string> {
  const rule = readFileSync(join(TEMPLATES_DIR, "cloudwatch", "rsyslog.conf"), "utf8");
  expect(rule).toContain('template(name="WgHaUnitFile" type="string" string="/var/log/%programname%.log")');
  const tags = [...rule.matchAll(/\$programname == "([^"]+)"/g)].map((m) => m[1]);
  return Object.fromEntries(
    UNITS.map((u) => {
      const id = /^SyslogIdentifier=(\S+)$/m.exec(readFileSync(join(TEMPLATES_DIR, "systemd", u), "utf8"))?.[1];
      expect({ unit: u, id }).toEqual({ unit: u, id: u.replace(".service", "") });
      expect(tags).toContain(id);
      return [u, `/var/log/${id}.log`];
    }),
  );
}

/** The command lines the kernel shows for the units' processes (/proc/<pid>/cmdline, space-joined). */
function unitCommandLines(): Record<string, string> {
  const exec = (u: string) => /^ExecStart=(.+)$/m.exec(readFileSync(join(TEMPLATES_DIR, "systemd", u), "utf8"))![1];
  const shebang = (path: string) => readFileSync(join(TEMPLATES_DIR, "bin", path.split("/").pop()!), "utf8").split("\n")[0];
  // `#!/usr/bin/env bash`: env execs bash with argv ["bash", <script>].
  expect(shebang(exec("wg-ha-sync.service"))).toBe("#!/usr/bin/env bash");
  return {
    sync: `bash ${exec("wg-ha-sync.service")}`,
    agent: exec("wg-ha-agent.service"),
    // Bootstrap's userspace fallback: `wireguard-go <iface>`; the daemon it forks keeps argv.
    wireguardGo: "wireguard-go wg0",
  };
}

describe.each(OPERATING_SYSTEMS)("%s", (os) => {
  const server = unpackServer(os);
  const text = renderedConfigText(server);
  const config = JSON.parse(text);

  test("the bundle ships the config template, the rsyslog rule and logrotate's rule for the units' files", () => {
    expect(userDataFiles(os).map((f) => f.path)).toEqual(
      expect.arrayContaining([CONFIG_PATH, "/etc/rsyslog.d/30-wg-ha.conf", "/etc/logrotate.d/wg-ha"]),
    );
    expect(readFileSync(join(server.root, "etc/rsyslog.d/30-wg-ha.conf"), "utf8")).toBe(readFileSync(join(TEMPLATES_DIR, "cloudwatch", "rsyslog.conf"), "utf8"));
    const rotate = readFileSync(join(server.root, "etc/logrotate.d/wg-ha"), "utf8");
    const rotated = /^(\/var\/log\/\S+(?: \/var\/log\/\S+)*) \{[^}]*copytruncate[^}]*\}/m.exec(rotate)![1].split(" ");
    expect(rotated.sort()).toEqual([...Object.values(unitLogFiles()), "/var/log/wg-client.log"].sort());
  });

  test("the OS script installs the agent from its documented source, then starts it, before the EFS mount", () => {
    const script = readFileSync(join(TEMPLATES_DIR, "os", `${os}.sh`), "utf8");
    expect(script).toMatch(/^install_cloudwatch_agent\(\) \{/m);
    const start = script.indexOf("\nstart_cloudwatch_agent\n");
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThan(script.indexOf("\nmount_store "));
    const source = { "amazon-linux-2023": /dnf install -y -q amazon-cloudwatch-agent/, "amazon-linux-2": /yum install -y -q amazon-cloudwatch-agent/, "ubuntu-22.04": /dpkg -i -E "\$dir\/agent\.deb"/ }[os];
    expect(script).toMatch(source);
  });

  test("renders plain JSON, valid against the CloudWatch agent's own schema, every placeholder filled", () => {
    expect(text).not.toMatch(/^\s*\/\//m);
    expect(text).not.toContain("@WG_HA_");
    expect(validate(SCHEMA, config)).toEqual([]);
    expect(Object.keys(config)).toEqual(["agent", "metrics", "logs"]);
    expect(config.agent).toEqual({ metrics_collection_interval: 60, run_as_user: "root", omit_hostname: true });
  });

  test("metrics: namespace WgHa (the IAM condition), InstanceId + AutoScalingGroupName, rolled up per group", () => {
    expect(config.metrics.namespace).toBe(METRICS_NAMESPACE);
    expect(config.metrics.append_dimensions).toEqual({ InstanceId: "${aws:InstanceId}", AutoScalingGroupName: "${aws:AutoScalingGroupName}" });
    expect(config.metrics.aggregation_dimensions).toEqual([["AutoScalingGroupName"], ["AutoScalingGroupName", "pattern"]]);
    const m = config.metrics.metrics_collected;
    expect(Object.keys(m).sort()).toEqual(["disk", "mem", "procstat", "swap"]);
    expect(m.mem).toEqual({ measurement: ["mem_used_percent"] });
    expect(m.swap).toEqual({ measurement: ["swap_used_percent"] });
    expect(m.disk).toMatchObject({ resources: ["/"], measurement: ["used_percent"], drop_device: true });
    expect(m.disk.ignore_file_system_types).toEqual(expect.arrayContaining(["nfs4", "tmpfs"]));
    for (const p of m.procstat) expect(p.measurement).toEqual(["pid_count", "cpu_usage", "memory_rss"]);
  });

  test("procstat patterns select exactly the units' processes (sync loop, health agent, wireguard-go)", () => {
    const patterns: string[] = config.metrics.metrics_collected.procstat.map((p: { pattern: string }) => p.pattern);
    expect(patterns).toHaveLength(3);
    const cmd = unitCommandLines();
    // Go's RE2 and JavaScript agree on these constructs (^ $ \S ( ) ? * \.).
    const [sync, agent, wgGo] = patterns.map((p) => new RegExp(p));
    expect([sync.test(cmd.sync), agent.test(cmd.agent), wgGo.test(cmd.wireguardGo)]).toEqual([true, true, true]);
    const others = [
      cmd.agent, cmd.wireguardGo, "bash /usr/local/bin/wg-ha-bootstrap", "bash /usr/local/bin/wg-client add alice",
      "journalctl -u wg-ha-sync", "tail -f /var/log/wg-ha-sync.log", "grep wg-ha-agent.py /var/log/wg-ha-agent.log",
      "sudo wg-client list", "/usr/bin/python3 /usr/local/lib/wg-ha/wg-ha-agent.py --check", "wg show wg0 dump",
    ];
    for (const [re, own] of [[sync, cmd.sync], [agent, cmd.agent], [wgGo, cmd.wireguardGo]] as const) {
      expect(others.filter((c) => c !== own && re.test(c))).toEqual([]);
    }
  });

  test("logs: every unit's file, the EMF file and cloud-init's output, a stream each, into WG_HA_LOG_GROUP; no retention", () => {
    const list = config.logs.logs_collected.files.collect_list;
    const byFile = Object.fromEntries(list.map((e: { file_path: string }) => [e.file_path, e]));
    const units = unitLogFiles();
    const expected = [...Object.values(units), "/var/log/wg-client.log", EMF_FILE, "/var/log/cloud-init-output.log"];
    expect(Object.keys(byFile).sort()).toEqual([...expected].sort());
    for (const e of list) {
      expect(e.log_group_name).toBe(LOG_GROUP);
      expect(e.log_stream_name).toMatch(/^\{instance_id\}\/[a-z-]+$/);
      expect(e).not.toHaveProperty("retention_in_days");
    }
    expect(byFile[EMF_FILE].log_stream_name).toBe("{instance_id}/metrics");
    expect(EMF_FILE.startsWith(`${LOG_DIR}/`)).toBe(true); // the agent unit's LogsDirectory=
    expect(new Set(list.map((e: { log_stream_name: string }) => e.log_stream_name)).size).toBe(list.length);
    expect(text).not.toContain("retention_in_days");
  });

  test("configure_cloudwatch_agent: log directory, rsyslog (re)started, config file, then amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:... -s", () => {
    const s = unpackServer(os);
    const agentDir = tempDir("cw"); // stands in for /opt/aws/amazon-cloudwatch-agent
    const logDir = join(tempDir("cw"), "wg-ha");
    const calls = join(agentDir, "calls");
    mkdirSync(join(agentDir, "bin"));
    mkdirSync(join(agentDir, "etc"));
    const ctl = join(agentDir, "bin", "amazon-cloudwatch-agent-ctl");
    writeFileSync(ctl, '#!/usr/bin/env bash\nprintf "ctl %s\\n" "$*" >>"$CALLS"\n');
    chmodSync(ctl, 0o755);
    s.stub("systemctl", 'printf "systemctl %s\\n" "$*" >>"$CALLS"');
    const r = s.run("configure_cloudwatch_agent && configure_cloudwatch_agent", { WG_HA_CW_AGENT_DIR: agentDir, WG_HA_LOG_DIR: logDir, CALLS: calls });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const file = join(agentDir, "etc", "wg-ha.json");
    expect(readFileSync(calls, "utf8")).toBe(
      ["systemctl enable rsyslog.service", "systemctl restart rsyslog.service", `ctl -a fetch-config -m ec2 -c file:${file} -s`, ""].join("\n").repeat(2),
    );
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(config);
    expect(statSync(logDir).mode & 0o777).toBe(0o750);
  });
});

test("the schema check catches what the agent would refuse", () => {
  const config = JSON.parse(renderedConfigText(unpackServer("amazon-linux-2023")));
  const broken = structuredClone(config);
  broken.metrics.metrics_collected.procstat.push({ measurement: ["cpu_usage"] }); // no pattern/exe/pid_file
  broken.logs.retention = 30; // not a logs option
  broken.metrics.aggregation_dimensions.push("AutoScalingGroupName"); // not a list of lists
  expect(validate(SCHEMA, broken)).toEqual([
    "$.metrics.aggregation_dimensions[2]: is string, not array",
    "$.metrics.metrics_collected.procstat[3]: matches none of anyOf",
    "$.logs.retention: not allowed",
  ]);
});

describe("a bad setting fails the CloudWatch step, not first boot", () => {
  test.each([
    ["WG_HA_LOG_GROUP", '/wg-ha/"dev"', /WG_HA_LOG_GROUP .* is not a log group name/],
    ["WG_HA_LOG_GROUP", "", /WG_HA_LOG_GROUP '' is not a log group name/],
    ["WG_HA_EMF_FILE", "metrics.emf", /WG_HA_EMF_FILE 'metrics.emf' is not an absolute file path/],
  ])("%s=%s", (key, value, message) => {
    const s = unpackServer("amazon-linux-2023", { [key]: value });
    s.stub("systemctl", "true");
    const render = s.run('render_cloudwatch_config "$WG_HA_LIB/cloudwatch/amazon-cloudwatch-agent.jsonc"');
    expect(render.status).toBe(1);
    expect(render.stdout).toBe("");
    expect(render.stderr).toMatch(message);
    // start_cloudwatch_agent only warns: the OS script goes on to mount EFS.
    const start = s.run('install_cloudwatch_agent() { :; }\nstart_cloudwatch_agent\necho "first boot goes on"', { WG_HA_CW_AGENT_DIR: tempDir("cw"), WG_HA_LOG_DIR: join(tempDir("cw"), "l") });
    expect(start.status).toBe(0);
    expect(start.stdout).toBe("first boot goes on\n");
    expect(start.stderr).toMatch(/warning: the CloudWatch agent is not running/);
  });

  test("a failed install warns and first boot goes on", () => {
    const s = unpackServer("ubuntu-22.04");
    const r = s.run('install_cloudwatch_agent() { false; }\nstart_cloudwatch_agent\necho ok');
    expect([r.status, r.stdout]).toEqual([0, "ok\n"]);
    expect(r.stderr).toMatch(/warning: the CloudWatch agent is not running/);
  });
});

const rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"].find(existsSync);
(rsyslogd ? describe : describe.skip)("the rsyslog rule, run by a real rsyslogd (skipped without rsyslog)", () => {
  test("copies exactly the wg-ha units' lines to /var/log/<tag>.log (here: a temp dir)", async () => {
    const dir = tempDir("rsyslog");
    const rule = readFileSync(join(TEMPLATES_DIR, "cloudwatch", "rsyslog.conf"), "utf8").replace('string="/var/log/', `string="${dir}/`);
    writeFileSync(join(dir, "30-wg-ha.conf"), rule);
    writeFileSync(
      join(dir, "rsyslog.conf"),
      `global(workDirectory="${dir}")\nmodule(load="imuxsock" SysSock.Use="off")\ninput(type="imuxsock" Socket="${dir}/log.sock")\ninclude(file="${dir}/30-wg-ha.conf")\n`,
    );
    const check = spawnSync(rsyslogd!, ["-N1", "-f", join(dir, "rsyslog.conf")], { encoding: "utf8" });
    expect(check.status).toBe(0);
    const daemon = spawn(rsyslogd!, ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslogd.pid")], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 10_000;
      while (!existsSync(join(dir, "log.sock")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const tag of ["wg-ha-sync", "wg-ha-agent", "sshd", "wg-ha-syncx", "wg-client"]) {
        expect(spawnSync("logger", ["-u", join(dir, "log.sock"), "-t", tag, `hello from ${tag}`]).status).toBe(0);
      }
      const files = ["wg-ha-sync", "wg-ha-agent", "wg-client"].map((t) => join(dir, `${t}.log`));
      while (!files.every(existsSync) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(readFileSync(files[0], "utf8")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d \S+ wg-ha-sync: hello from wg-ha-sync\n$/);
      expect(readFileSync(files[1], "utf8")).toContain("wg-ha-agent: hello from wg-ha-agent");
      expect(existsSync(join(dir, "sshd.log")) || existsSync(join(dir, "wg-ha-syncx.log"))).toBe(false);
      expect(statSync(files[0]).mode & 0o777).toBe(0o640);
    } finally {
      daemon.kill("SIGTERM");
    }
  }, 20_000);
});
