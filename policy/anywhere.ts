/** Rules for anywhere stacks as a whole: what they may create at all. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { isDataStoreType } from "./data-stores";
import type { StackKind } from "./stack";

/**
 * What an anywhere stack creates, by type. Adding a type here is a residency decision: check first
 * that it stores nothing in AWS, and say so in docs/residency.md.
 */
export const ANYWHERE_ALLOWED_TYPES: readonly string[] = [
    "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:ssm/activation:Activation",
    "command:remote:Command",
    "pulumi:pulumi:Stack",
    "pulumi:pulumi:StackReference",
];

/**
 * The program's own dynamic resources: the hosts' registration (infra/anywhere/deregister.ts,
 * `HostRegistration`) and the activation code sealed to a host (infra/anywhere/seal.ts,
 * `SealedActivationCode`). A dynamic resource runs code of its own and the program picks its type
 * name, so each is also held to its inputs: the type name alone proves nothing.
 */
export const DYNAMIC_RESOURCES: Readonly<Record<string, { readonly what: string; readonly inputs: readonly string[] }>> = {
    // `aws`: the stack's AWS settings (profile, roles) its delete deregisters the host with; no data.
    "pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration": { what: "the hosts' registration", inputs: ["region", "cluster", "containerInstanceArn", "managedInstanceId", "aws"] },
    // The host's public key, the activation's id and (secret) code; `sealed` is its output.
    "pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode": { what: "the activation code sealed to a host", inputs: ["publicKey", "activationId", "activationCode", "sealed"] },
};

/** Why a resource of this type and these inputs may not be in an anywhere stack, or undefined if it may. */
export function anywhereRefusal(type: string, props: Record<string, unknown>): string | undefined {
    if (ANYWHERE_ALLOWED_TYPES.includes(type)) return undefined;
    // Providers and this project's components create nothing themselves; their resources are checked one by one.
    if (type.startsWith("pulumi:providers:") || type.startsWith("ecs-anywhere:")) return undefined;
    const dynamic = DYNAMIC_RESOURCES[type];
    if (dynamic) {
        const extra = Object.keys(props).filter((key) => !key.startsWith("__") && !dynamic.inputs.includes(key));
        if (extra.length === 0) return undefined;
        return `a dynamic resource with inputs ${extra.map((k) => `\`${k}\``).join(", ")} is not ${dynamic.what}: it runs code of its own; ${dynamic.what} takes ${dynamic.inputs.join(", ")} only`;
    }
    return `\`${type}\` is not on the list of what an anywhere stack creates: add a type to ANYWHERE_ALLOWED_TYPES (policy/anywhere.ts) only once it is known to keep the data on the hosts`;
}

export function anywhereAllowedResourceTypes(kind: StackKind | undefined): ResourceValidationPolicy {
    return {
        name: "anywhere-allowed-resource-types",
        description:
            "An anywhere stack creates only what a site needs: the ECS cluster, task definition and service, IAM roles, " +
            "their policies and attachments, the SSM activation, the remote commands that set the hosts up, the activation " +
            "code sealed to each host and the hosts' registration (plus Pulumi's stack, stack reference, providers and this project's components). Anything else " +
            "is refused until it has been checked to keep the data on the hosts.",
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            if (kind !== "anywhere") args.notApplicable("applies to anywhere stacks");
            const refusal = anywhereRefusal(args.type, args.props);
            if (refusal) reportViolation(refusal);
        },
    };
}

export function anywhereNoAwsDataStores(kind: StackKind | undefined): ResourceValidationPolicy {
    return {
        name: "anywhere-no-aws-data-stores",
        description:
            "An anywhere stack creates nothing that stores data in AWS (EFS, S3, DynamoDB, RDS, EBS, FSx, backups, " +
            "streams...): outside the region the files live only on the hosts' own disks.",
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            if (kind !== "anywhere") args.notApplicable("applies to anywhere stacks");
            if (isDataStoreType(args.type)) {
                reportViolation(`\`${args.type}\` stores data in AWS: in an anywhere stack the files stay on the hosts (their data folder, mounted at /data)`);
            }
        },
    };
}
