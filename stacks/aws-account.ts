/**
 * The account, partition and region this stack deploys into, for building ARNs without ever
 * writing an account ID into the code or the synth output (resolved by Terraform at plan time).
 */
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { Construct } from "constructs";

export class AwsAccount extends Construct {
  /** Account ID (token). */
  readonly accountId: string;
  /** `aws`, `aws-cn`, `aws-us-gov` (token). */
  readonly partition: string;
  /** DNS suffix of the partition, e.g. amazonaws.com (token). */
  readonly dnsSuffix: string;
  /** The provider's region: a literal from the settings. */
  readonly region: string;

  constructor(scope: Construct, id: string, region: string) {
    super(scope, id);
    const caller = new DataAwsCallerIdentity(this, "Caller");
    const partition = new DataAwsPartition(this, "Partition");
    this.accountId = caller.accountId;
    this.partition = partition.partition;
    this.dnsSuffix = partition.dnsSuffix;
    this.region = region;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; pass region/account "" for global ARNs. */
  arn(service: string, resource: string, where: { region?: string; account?: string } = {}): string {
    return `arn:${this.partition}:${service}:${where.region ?? this.region}:${where.account ?? this.accountId}:${resource}`;
  }

  /** The account root principal: delegates to IAM policies in this account. */
  get rootArn(): string {
    return `arn:${this.partition}:iam::${this.accountId}:root`;
  }

  /** Service principal in this partition, e.g. `logs.eu-west-1.amazonaws.com`. */
  servicePrincipal(service: string, regional = false): string {
    return regional ? `${service}.${this.region}.${this.dnsSuffix}` : `${service}.${this.dnsSuffix}`;
  }
}
