/** EFS for /data: encrypted at rest and in transit, reached through an access point owned by the worker's uid. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { WORKER_UID } from "../worker-task";

export interface DataStorageArgs {
    readonly subnetIds: pulumi.Input<string>[];
    readonly securityGroupId: pulumi.Input<string>;
}

export class DataStorage extends pulumi.ComponentResource {
    readonly fileSystem: aws.efs.FileSystem;
    /** `/data` on the file system, created for and entered as uid/gid 10001. */
    readonly accessPoint: aws.efs.AccessPoint;
    readonly mountTargets: aws.efs.MountTarget[];

    constructor(name: string, args: DataStorageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:DataStorage", name, {}, opts);
        const parent = { parent: this };
        this.fileSystem = new aws.efs.FileSystem(
            `${name}-fs`,
            {
                encrypted: true,
                performanceMode: "generalPurpose",
                throughputMode: "bursting",
                // Files not read for 30 days move to the cheaper Infrequent Access class.
                lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }],
            },
            parent,
        );
        this.mountTargets = args.subnetIds.map(
            (subnetId, i) =>
                new aws.efs.MountTarget(
                    `${name}-mount-${i}`,
                    { fileSystemId: this.fileSystem.id, subnetId, securityGroups: [args.securityGroupId] },
                    // EFS allows one mount target per zone: a replacement (another subnet) must delete the old one first.
                    { ...parent, deleteBeforeReplace: true },
                ),
        );
        this.accessPoint = new aws.efs.AccessPoint(
            `${name}-data`,
            {
                fileSystemId: this.fileSystem.id,
                posixUser: { uid: WORKER_UID, gid: WORKER_UID },
                rootDirectory: { path: "/data", creationInfo: { ownerUid: WORKER_UID, ownerGid: WORKER_UID, permissions: "0750" } },
            },
            parent,
        );
        // With a file system policy present and IAM authorization off, only what the policy allows
        // is allowed: mounting and writing through a mount target (as the console's default policy
        // does, without root access), and never over unencrypted NFS.
        new aws.efs.FileSystemPolicy(
            `${name}-tls-only`,
            {
                fileSystemId: this.fileSystem.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AllowMountAndWriteThroughMountTargets",
                            Effect: "Allow",
                            Principal: { AWS: "*" },
                            Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                            Resource: this.fileSystem.arn,
                            Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
                        },
                        {
                            Sid: "DenyUnencryptedTransport",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: "*",
                            Resource: this.fileSystem.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                }),
            },
            parent,
        );
        this.registerOutputs({ fileSystemId: this.fileSystem.id, accessPointId: this.accessPoint.id });
    }
}
