/**
 * Which AMI the servers boot: the OS vendor's latest image for the CPU architecture, through
 * the public SSM parameters (a new AMI release changes the launch template on the next apply,
 * which rolls the fleet through an instance refresh).
 */
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import type { OperatingSystem } from "./config/schema";

export type Architecture = "arm64" | "x86_64";

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

export class ServerImage extends Construct {
  /** AMI ID (token). */
  readonly imageId: string;
  readonly rootDeviceName: string;

  constructor(scope: Construct, id: string, os: OperatingSystem, architecture: Architecture) {
    super(scope, id);
    const parameter = new DataAwsSsmParameter(this, "AmiParameter", { name: amiParameterName(os, architecture) });
    // The provider marks SSM values sensitive; a public AMI ID is not a secret.
    this.imageId = Fn.nonsensitive(parameter.value);
    this.rootDeviceName = rootDeviceName(os);
  }
}
