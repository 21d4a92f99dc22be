/**
 * Rules for what lives in the region by design (the queue of file names, EFS with the in-region files,
 * the logs): encrypted, closed to inbound traffic, and not kept forever. They apply to every stack;
 * only region stacks make these resources (anywhere stacks may not, see anywhere.ts).
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ReportViolation, type ResourceValidationPolicy } from "@pulumi/policy";

export function queuesEncryptedAtRest(): ResourceValidationPolicy {
    return {
        name: "queues-encrypted-at-rest",
        description: "The queue and the dead-letter queue are encrypted at rest (SQS-managed keys or KMS): their messages are file names.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.sqs.Queue, (queue, _args, reportViolation) => {
            if (queue.sqsManagedSseEnabled !== true && !queue.kmsMasterKeyId) {
                reportViolation("the queue is not encrypted at rest: set `sqsManagedSseEnabled: true` (or a `kmsMasterKeyId`)");
            }
        }),
    };
}

export function efsEncryptedAtRest(): ResourceValidationPolicy {
    return {
        name: "efs-encrypted-at-rest",
        description: "The EFS file system that holds the in-region files is encrypted at rest.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.efs.FileSystem, (fileSystem, _args, reportViolation) => {
            if (fileSystem.encrypted !== true) reportViolation("the file system is not encrypted at rest: set `encrypted: true`");
        }),
    };
}

export function efsEncryptedInTransit(): ResourceValidationPolicy {
    return {
        name: "efs-encrypted-in-transit",
        description: "Every task that mounts EFS does so with transit encryption (TLS), so the files never cross the network in the clear.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, reportViolation) => {
            for (const volume of task.volumes ?? []) {
                if (volume.efsVolumeConfiguration && volume.efsVolumeConfiguration.transitEncryption !== "ENABLED") {
                    reportViolation(`volume \`${volume.name}\` mounts EFS without transit encryption: set \`transitEncryption: "ENABLED"\``);
                }
            }
        }),
    };
}

interface InlineRule {
    readonly cidrBlocks?: readonly string[];
    readonly ipv6CidrBlocks?: readonly string[];
    readonly prefixListIds?: readonly string[];
}

/** Reports inline ingress rules (of a security group or the VPC's default group) that admit address ranges. */
function checkInlineIngress(ingress: readonly InlineRule[] | undefined, reportViolation: ReportViolation): void {
    (ingress ?? []).forEach((rule, i) => {
        const sources = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? []), ...(rule.prefixListIds ?? [])];
        if (sources.length > 0) reportViolation(`ingress rule #${i + 1} admits ${sources.join(", ")}: admit only another security group`);
    });
}

export function securityGroupsClosedToNetworks(): ResourceValidationPolicy {
    return {
        name: "security-groups-closed-to-networks",
        description:
            "No security group admits inbound traffic from an address range (a CIDR block or a prefix list): the worker " +
            "only calls out, and EFS admits NFS only from the worker's own security group.",
        enforcementLevel: "mandatory",
        // One function for the four types: a list of validators would report the policy as not applicable to each type it skips.
        validateResource: (args, reportViolation) => {
            const ingressRule = args.asType(aws.vpc.SecurityGroupIngressRule);
            const rule = args.asType(aws.ec2.SecurityGroupRule);
            const group = args.asType(aws.ec2.SecurityGroup) ?? args.asType(aws.ec2.DefaultSecurityGroup);
            if (ingressRule) {
                const source = ingressRule.cidrIpv4 ?? ingressRule.cidrIpv6 ?? ingressRule.prefixListId;
                if (source) reportViolation(`the ingress rule admits ${source}: admit only another security group (\`referencedSecurityGroupId\`)`);
            } else if (rule) {
                if (rule.type === "ingress") checkInlineIngress([rule], reportViolation);
            } else if (group) {
                checkInlineIngress(group.ingress, reportViolation);
            } else {
                args.notApplicable("applies to security groups and their rules");
            }
        },
    };
}

export function logGroupsExpire(): ResourceValidationPolicy {
    return {
        name: "log-groups-expire",
        description: "Every log group has a retention period: the worker's logs (hashed file names from the hosts) are not kept forever.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (logGroup, _args, reportViolation) => {
            if (!(typeof logGroup.retentionInDays === "number" && logGroup.retentionInDays > 0)) {
                reportViolation("the log group keeps its logs forever: set `retentionInDays` (`ecs-anywhere:logRetentionDays`)");
            }
        }),
    };
}
