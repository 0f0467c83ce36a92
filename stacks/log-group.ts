/** A CloudWatch log group encrypted with the environment's KMS key, with a retention. */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Construct } from "constructs";

export interface EncryptedLogGroupProps {
  /** Full log group name, e.g. /wg-ha/dev/servers. */
  readonly name: string;
  /** KMS key ARN; its key policy must let logs.<region> use it for this group. */
  readonly kmsKeyArn: string;
  /** One of the values CloudWatch Logs accepts (validated in stacks/config). */
  readonly retentionDays: number;
}

export class EncryptedLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: EncryptedLogGroupProps) {
    super(scope, id);
    this.logGroup = new CloudwatchLogGroup(this, "LogGroup", {
      name: props.name,
      kmsKeyId: props.kmsKeyArn,
      retentionInDays: props.retentionDays,
    });
  }

  get arn(): string {
    return this.logGroup.arn;
  }

  get name(): string {
    return this.logGroup.name;
  }

  /** The group and its streams, for logs:PutLogEvents-style statements. */
  get resourceArns(): string[] {
    return [this.logGroup.arn, `${this.logGroup.arn}:*`];
  }
}

/** `/<name_prefix>/<environment>/<what>`: every log group of an environment shares the prefix. */
export function logGroupName(namePrefix: string, environment: string, what: string): string {
  return `/${namePrefix}/${environment}/${what}`;
}
