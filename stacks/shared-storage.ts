/**
 * The servers' shared store: EFS encrypted with the environment's KMS key, a mount target per
 * private subnet behind a security group that admits NFS only from the servers, backups on, and
 * a file-system policy that refuses anything but TLS through a mount target.
 */
import { EfsBackupPolicy } from "@cdktf/provider-aws/lib/efs-backup-policy";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { EfsFileSystemPolicy } from "@cdktf/provider-aws/lib/efs-file-system-policy";
import { EfsMountTarget } from "@cdktf/provider-aws/lib/efs-mount-target";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { EFS_MOUNT_AUTHORIZATION, type OperatingSystem } from "./config/schema";
import { policyDocument, type Statement } from "./iam-policy";

/** What a server does with the file system: mount, write, and act as root (it owns the key files). */
export const EFS_CLIENT_ACTIONS = [
  "elasticfilesystem:ClientMount",
  "elasticfilesystem:ClientWrite",
  "elasticfilesystem:ClientRootAccess",
];
export const NFS_PORT = 2049;

/**
 * True when the OS mounts EFS without IAM authorization (EFS_MOUNT_AUTHORIZATION): Ubuntu 22.04
 * mounts NFSv4.1 over TLS through stunnel, TLS but anonymous, because no released package brings
 * amazon-efs-utils to it (docs/security.md, "Mounts").
 */
export function mountsAnonymously(os: OperatingSystem): boolean {
  return EFS_MOUNT_AUTHORIZATION[os] === "anonymous";
}

export interface SharedStorageProps {
  readonly resourcePrefix: string;
  readonly vpcId: string;
  /** One mount target per subnet: the servers' private subnets. */
  readonly privateSubnetIds: string[];
  readonly kmsKeyArn: string;
  readonly os: OperatingSystem;
}

export class SharedStorage extends Construct {
  readonly fileSystem: EfsFileSystem;
  readonly securityGroup: SecurityGroup;
  readonly mountTargets: EfsMountTarget[];
  private readonly props: SharedStorageProps;

  constructor(scope: Construct, id: string, props: SharedStorageProps) {
    super(scope, id);
    this.props = props;
    const name = `${props.resourcePrefix}-efs`;
    this.fileSystem = new EfsFileSystem(this, "FileSystem", {
      creationToken: name,
      encrypted: true,
      kmsKeyId: props.kmsKeyArn,
      performanceMode: "generalPurpose",
      throughputMode: "elastic", // pay per use; a handful of small files, bursts at boot
      tags: { Name: name },
    });
    new EfsBackupPolicy(this, "BackupPolicy", {
      fileSystemId: this.fileSystem.id,
      backupPolicy: { status: "ENABLED" },
    });

    // No egress rules: the provider removes AWS's default allow-all egress, and NFS replies are stateful.
    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      name,
      description: "wg-ha EFS mount targets: NFS from the VPN servers only",
      vpcId: props.vpcId,
      tags: { Name: name },
    });
    this.mountTargets = props.privateSubnetIds.map(
      (subnetId, i) =>
        new EfsMountTarget(this, `MountTarget${i}`, {
          fileSystemId: this.fileSystem.id,
          subnetId,
          securityGroups: [this.securityGroup.id],
        }),
    );
  }

  /** TCP 2049 from the given security group only. */
  allowNfsFrom(peerSecurityGroupId: string): void {
    new VpcSecurityGroupIngressRule(this, "IngressNfsFromServers", {
      securityGroupId: this.securityGroup.id,
      description: "NFS from the VPN servers",
      ipProtocol: "tcp",
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: peerSecurityGroupId,
    });
  }

  /** Identity-policy statement for the servers' role: client actions on this file system only. */
  clientStatement(): Statement {
    return { sid: "MountSharedStore", effect: "Allow", actions: EFS_CLIENT_ACTIONS, resources: [this.fileSystem.arn] };
  }

  /** The file-system (resource) policy: TLS only, through a mount target, for the servers' role. */
  restrictAccessTo(serverRoleArn: string): EfsFileSystemPolicy {
    const viaMountTarget = [{ test: "Bool", variable: "elasticfilesystem:AccessedViaMountTarget", values: ["true"] }];
    const statements: Statement[] = [
      {
        sid: "DenyWithoutTls",
        effect: "Deny",
        actions: ["*"],
        principals: [{ type: "AWS", identifiers: ["*"] }],
        resources: [this.fileSystem.arn],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
      {
        sid: "ServersMountViaMountTarget",
        effect: "Allow",
        actions: EFS_CLIENT_ACTIONS,
        principals: [{ type: "AWS", identifiers: [serverRoleArn] }],
        resources: [this.fileSystem.arn],
        condition: viaMountTarget,
      },
    ];
    if (mountsAnonymously(this.props.os)) {
      // Terraform deviation: Ubuntu 22.04 mounts NFSv4.1 over TLS (stunnel) without efs-utils, so
      // it cannot sign the mount with the instance role: the request is anonymous, and anonymous
      // clients must be allowed. What keeps everyone else out is the network: the mount targets
      // admit NFS only from the server security group (allowNfsFrom), TLS stays mandatory
      // (DenyWithoutTls), and the servers' firewall never forwards a VPN client into the VPC
      // (templates/lib/wg-ha/firewall.sh; tested in __tests__/integration/tunnel-reach.test.ts).
      // With IAM (Amazon Linux) there is no such statement: only the server role may mount.
      statements.push({
        sid: "AnonymousTlsMountViaMountTarget",
        effect: "Allow",
        actions: EFS_CLIENT_ACTIONS,
        principals: [{ type: "AWS", identifiers: ["*"] }],
        resources: [this.fileSystem.arn],
        condition: viaMountTarget,
      });
    }
    const document = policyDocument(this, "FileSystemPolicyDocument", statements);
    return new EfsFileSystemPolicy(this, "FileSystemPolicy", { fileSystemId: this.fileSystem.id, policy: document.json });
  }
}
