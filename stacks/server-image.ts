/**
 * Which AMI the servers boot: the OS vendor's current image for the CPU architecture, named by its
 * public SSM parameter and resolved by EC2 at each launch (launch template
 * `image_id = "resolve:ssm:<parameter>"`). So new and replacement servers get the current AMI, and
 * a new AMI release changes nothing in Terraform: a deploy without a change plans no change, and
 * no longer rolls the whole fleet (every client moved once) because Canonical or Amazon published
 * an image. Rolling the running servers onto the newest AMI is an explicit instance refresh
 * (docs/operations.md, "Replace all servers").
 *
 * Permissions: EC2 resolves the parameter for the caller of RunInstances, here the Auto Scaling
 * service-linked role (AutoScalingServiceRolePolicy allows ssm:GetParameters on "*"). Whoever
 * creates or updates the launch template and the group (deploy.ts's credentials) needs
 * ssm:GetParameters on the parameter, which EC2 validates; the instance role needs nothing.
 *
 * Terraform deviation from the usual data "aws_ssm_parameter" + image_id = its value: that reads
 * the AMI at plan time, which is exactly what made every AMI release a fleet replacement.
 */
import type { OperatingSystem } from "./config/schema";

export type Architecture = "arm64" | "x86_64";

/** The launch template's image_id prefix that makes EC2 resolve an SSM parameter at launch. */
export const RESOLVE_SSM_PREFIX = "resolve:ssm:";

/** Public SSM parameter holding the current AMI ID of an OS + architecture. */
export function amiParameterName(os: OperatingSystem, architecture: Architecture): string {
  switch (os) {
    case "ubuntu-22.04":
      // Canonical names the architectures amd64/arm64.
      return `/aws/service/canonical/ubuntu/server/22.04/stable/current/${architecture === "arm64" ? "arm64" : "amd64"}/hvm/ebs-gp2/ami-id`;
    case "amazon-linux-2023":
      return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
    case "amazon-linux-2":
      return `/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-${architecture}-gp2`;
  }
}

/** Root device of the vendor images: Canonical uses /dev/sda1, Amazon Linux /dev/xvda. */
export function rootDeviceName(os: OperatingSystem): string {
  return os === "ubuntu-22.04" ? "/dev/sda1" : "/dev/xvda";
}

export interface ServerImage {
  /** The SSM parameter EC2 resolves at each launch. */
  readonly parameterName: string;
  /** `resolve:ssm:<parameterName>`: the launch template's image_id. */
  readonly imageId: string;
  /** The image's root device, for the encrypted gp3 block device mapping. */
  readonly rootDeviceName: string;
}

/** The image of an OS + architecture, resolved by EC2 at launch (no lookup at plan time). */
export function serverImage(os: OperatingSystem, architecture: Architecture): ServerImage {
  const parameterName = amiParameterName(os, architecture);
  return { parameterName, imageId: `${RESOLVE_SSM_PREFIX}${parameterName}`, rootDeviceName: rootDeviceName(os) };
}
