/**
 * IAM policy documents through aws_iam_policy_document (Terraform renders and normalises the
 * JSON), with the two shapes this project uses everywhere: a statement list and a service trust.
 * Policy variables such as ${aws:userid} must be written &{aws:userid} (the data source turns
 * &{...} into ${...}; a literal ${...} would be a Terraform interpolation).
 */
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { Construct } from "constructs";

export type Statement = DataAwsIamPolicyDocumentStatement;

export function policyDocument(scope: Construct, id: string, statements: Statement[]): DataAwsIamPolicyDocument {
  return new DataAwsIamPolicyDocument(scope, id, { version: "2012-10-17", statement: statements });
}

/** Trust policy letting one AWS service assume a role, only on behalf of this account. */
export function serviceTrust(scope: Construct, id: string, servicePrincipal: string, accountId: string): DataAwsIamPolicyDocument {
  return policyDocument(scope, id, [
    {
      effect: "Allow",
      actions: ["sts:AssumeRole"],
      principals: [{ type: "Service", identifiers: [servicePrincipal] }],
      condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [accountId] }],
    },
  ]);
}
