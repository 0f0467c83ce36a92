/**
 * What `terraform output` shows an operator: where clients connect, where to look, the names and
 * ARNs the runbooks need (docs/operations.md reads them with `terraform output -raw NAME` instead of
 * rebuilding them from naming conventions), and the exact commands to reach a server (SSM only)
 * and add a client. Run the commands with the admin role.
 */
import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import { SESSION_DOCUMENTS } from "./admin-access";

/** Where the servers mount EFS (WG_HA_STATE_DIR in stacks/user-data.ts). */
export const SERVER_STATE_DIR = "/mnt/wg-ha";
/** The cluster's public key, relative to the EFS root (templates/CONTRACT.md). */
export const PUBLIC_KEY_PATH = "server/public.key";

export interface OutputsProps {
  readonly region: string;
  readonly endpointDnsName: string;
  readonly wireguardPort: number;
  /** Public IPs of the NLB's Elastic IPs, when used. */
  readonly elasticIps: string[];
  readonly dashboardUrl: string;
  readonly alarmTopicArn: string;
  readonly adminRoleArn: string;
  /** Literal ASG name (the commands below are built from it before the group exists). */
  readonly asgName: string;
  /** aws_autoscaling_group.name: the same name, as a reference to the group. */
  readonly autoScalingGroupName: string;
  readonly efsFileSystemId: string;
  readonly loadBalancerArn: string;
  readonly loadBalancerName: string;
  readonly targetGroupArn: string;
  /** The servers' CloudWatch log group. */
  readonly logGroupName: string;
}

/** Shell that picks one running server of the ASG into $INSTANCE. */
export function pickInstanceCommand(region: string, asgName: string): string {
  return (
    `INSTANCE=$(aws ec2 describe-instances --region ${region} ` +
    `--filters Name=tag:aws:autoscaling:groupName,Values=${asgName} Name=instance-state-name,Values=running ` +
    `--query 'Reservations[0].Instances[0].InstanceId' --output text)`
  );
}

/** One line: pick a server, then run `command` on it through Session Manager. */
export function runOnServerCommand(region: string, asgName: string, command: string): string {
  return (
    `${pickInstanceCommand(region, asgName)} && aws ssm start-session --region ${region} --target "$INSTANCE" ` +
    `--document-name ${SESSION_DOCUMENTS.command} --parameters '${JSON.stringify({ command: [command] })}'`
  );
}

/** An output named exactly `name` in `terraform output` (not prefixed with the construct path). */
function output(scope: Construct, name: string, config: { value: unknown; description: string }): TerraformOutput {
  const out = new TerraformOutput(scope, name, config);
  out.overrideLogicalId(name);
  return out;
}

export class Outputs extends Construct {
  constructor(scope: Construct, id: string, props: OutputsProps) {
    super(scope, id);
    const { region, asgName } = props;
    output(this, "endpoint", {
      value: `${props.endpointDnsName}:${props.wireguardPort}`,
      description: "WireGuard endpoint (NLB DNS name:port) written into every client config",
    });
    if (props.elasticIps.length) {
      output(this, "elastic_ips", {
        value: props.elasticIps,
        description: "The NLB's fixed public IPs, one per AZ",
      });
    }
    output(this, "dashboard_url", { value: props.dashboardUrl, description: "CloudWatch dashboard" });
    output(this, "alarm_topic_arn", { value: props.alarmTopicArn, description: "SNS topic the alarms notify" });
    output(this, "admin_role_arn", {
      value: props.adminRoleArn,
      description: "Assume this role (with MFA) to run the commands below",
    });
    output(this, "autoscaling_group_name", {
      value: props.autoScalingGroupName,
      description: "Auto Scaling group of the VPN servers (scaling, instance refreshes, activities, lifecycle hooks)",
    });
    output(this, "load_balancer_arn", { value: props.loadBalancerArn, description: "ARN of the Network Load Balancer" });
    output(this, "load_balancer_name", {
      value: props.loadBalancerName,
      description: "Name of the Network Load Balancer (<prefix>-<environment>-nlb, shortened with a hash past 32 characters)",
    });
    output(this, "target_group_arn", {
      value: props.targetGroupArn,
      description: "ARN of the NLB's UDP target group: the servers' health (aws elbv2 describe-target-health)",
    });
    output(this, "efs_file_system_id", {
      value: props.efsFileSystemId,
      description: "EFS file system of the shared store: server key and clients (mount checks, AWS Backup restores)",
    });
    output(this, "log_group_name", {
      value: props.logGroupName,
      description: "CloudWatch log group of the servers, one stream per server and unit (aws logs tail)",
    });
    output(this, "server_public_key", {
      value:
        `EFS ${props.efsFileSystemId}:/${PUBLIC_KEY_PATH} (${SERVER_STATE_DIR}/${PUBLIC_KEY_PATH} on every server); print it: ` +
        runOnServerCommand(region, asgName, `cat ${SERVER_STATE_DIR}/${PUBLIC_KEY_PATH}`),
      description: "Where the cluster's WireGuard public key is, and how to print it",
    });
    output(this, "add_client_command", {
      value: runOnServerCommand(region, asgName, "sudo wg-client add alice"),
      description: "Adds client 'alice' (replace the name) on one server; every server applies it within seconds",
    });
  }
}
