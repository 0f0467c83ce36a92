/** Outputs: endpoint, where the public key is, and the exact commands to reach a server and add a client. */
import { PUBLIC_KEY_PATH, runOnServerCommand, SERVER_STATE_DIR } from "../../stacks/outputs";
import { renderSettingsFile } from "../../stacks/user-data";
import { byPath, EXAMPLE_ENVIRONMENTS, ref, synthExamples, type Synthesized } from "./synth";

let synths: Record<string, Synthesized>;
beforeAll(async () => {
  synths = Object.fromEntries((await synthExamples()).map((s) => [s.env.name, s]));
});

describe.each(EXAMPLE_ENVIRONMENTS)("%s", (name) => {
  test("outputs: endpoint, dashboard, topic, admin role, ASG, public key location, add-client command", () => {
    const { tf } = synths[name];
    expect(Object.keys(tf.output).sort()).toEqual([
      "add_client_command", "admin_role_arn", "alarm_topic_arn", "autoscaling_group_name", "dashboard_url", "efs_file_system_id",
      "endpoint", "load_balancer_arn", "load_balancer_name", "log_group_name", "server_public_key", "target_group_arn",
    ]);
    expect(tf.output.endpoint.value).toBe(`${ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "dns_name")}:51820`);
    expect(tf.output.admin_role_arn.value).toBe(ref(tf, "aws_iam_role", "AdminAccess/Role", "arn"));
    expect(tf.output.add_client_command.value).toContain(`Values=wg-ha-${name}-servers`);
    for (const output of Object.values<{ description?: string }>(tf.output)) expect(output.description).toMatch(/\w/);
  });

  test("the names and ARNs the runbooks read (terraform output -raw NAME): references to the resources themselves", () => {
    const { tf } = synths[name];
    const values = Object.fromEntries(Object.entries<{ value: unknown }>(tf.output).map(([k, o]) => [k, o.value]));
    expect(values).toMatchObject({
      autoscaling_group_name: ref(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup", "name"),
      load_balancer_arn: ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "arn"),
      load_balancer_name: ref(tf, "aws_lb", "LoadBalancer/LoadBalancer", "name"),
      target_group_arn: ref(tf, "aws_lb_target_group", "LoadBalancer/TargetGroup", "arn"),
      efs_file_system_id: ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "id"),
      log_group_name: ref(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup", "name"),
    });
    // The references name what the runbooks used to rebuild from naming conventions.
    expect(byPath(tf, "aws_autoscaling_group", "VpnServers/AutoScalingGroup").name).toBe(`wg-ha-${name}-servers`);
    expect(byPath(tf, "aws_lb", "LoadBalancer/LoadBalancer").name).toBe(`wg-ha-${name}-nlb`);
    expect(byPath(tf, "aws_cloudwatch_log_group", "VpnServers/LogGroup").name).toBe(`/wg-ha/${name}/servers`);
    // Nothing an output shows is sensitive.
    for (const output of Object.values<{ sensitive?: boolean }>(tf.output)) expect(output.sensitive).toBeUndefined();
  });

  test("add_client_command: pick a running server of the ASG, run wg-client add through SSM", () => {
    const { tf } = synths[name];
    const command: string = tf.output.add_client_command.value;
    expect(command).toBe(
      `INSTANCE=$(aws ec2 describe-instances --region eu-west-1 --filters Name=tag:aws:autoscaling:groupName,Values=wg-ha-${name}-servers ` +
        "Name=instance-state-name,Values=running --query 'Reservations[0].Instances[0].InstanceId' --output text) && " +
        'aws ssm start-session --region eu-west-1 --target "$INSTANCE" --document-name AWS-StartInteractiveCommand ' +
        `--parameters '{"command":["sudo wg-client add alice"]}'`,
    );
    expect(command).not.toMatch(/ssh|:22\b/);
  });

  test("server_public_key: the EFS path and the command that prints it", () => {
    const { tf } = synths[name];
    const text: string = tf.output.server_public_key.value;
    expect(text).toContain(`EFS ${ref(tf, "aws_efs_file_system", "SharedStorage/FileSystem", "id")}:/server/public.key`);
    expect(text).toContain(runOnServerCommand("eu-west-1", `wg-ha-${name}-servers`, "cat /mnt/wg-ha/server/public.key"));
  });
});

test("the public-key path matches where the servers mount EFS (WG_HA_STATE_DIR)", () => {
  const env = synths.dev.env;
  const settings = renderSettingsFile({ env, efsFileSystemId: "fs-1", endpoint: "x", asgName: "a", lifecycleHookName: "h", logGroupName: "l" });
  expect(settings).toContain(`WG_HA_STATE_DIR=${SERVER_STATE_DIR}\n`);
  expect(PUBLIC_KEY_PATH).toBe("server/public.key");
});
