/**
 * The roles the worker and the hosts act with reach no AWS data store, wherever they are defined: a
 * task role with `s3:PutObject` would let the worker copy the files out of the site.
 */
import * as aws from "@pulumi/aws";
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { dataStoreGrants, trustedServices } from "./iam";
import { known } from "./stack";

/** Who assumes the roles this rule guards: ECS tasks (task and execution roles) and the hosts (SSM managed instances). */
export const GUARDED_PRINCIPALS: readonly string[] = ["ecs-tasks.amazonaws.com", "ssm.amazonaws.com"];

/**
 * AWS-managed policies the pack knows to grant no data-store action (their documents, in the AWS
 * Managed Policy Reference, list only ssm, ssmmessages, ec2messages, ecs, ecr, logs and
 * ec2:DescribeTags). Any other AWS-managed policy cannot be read here and is refused.
 */
export const KNOWN_MANAGED_POLICIES: readonly string[] = [
    "AmazonSSMManagedInstanceCore",
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "service-role/AmazonECSTaskExecutionRolePolicy",
];

const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

/** Whether `resource`'s property `key` names `role`: through the engine's dependency record, else by value. */
function refersTo(resource: PolicyResource, key: string, role: PolicyResource): boolean {
    if ((resource.propertyDependencies[key] ?? []).some((dependency) => dependency.urn === role.urn)) return true;
    const names = [known(() => role.props.name), known(() => role.props.id), known(() => role.props.arn)].filter((n) => typeof n === "string" && n !== "");
    return asList(known(() => resource.props[key])).some((value) => names.includes(value));
}

export function workerRolesNoDataStoreAccess(): StackValidationPolicy {
    return {
        name: "worker-roles-no-data-store-access",
        description:
            "The roles ECS tasks and the hosts assume (the worker's task role, the execution role, the hosts' instance " +
            "role), wherever they are defined, grant no action on an AWS data store (`s3:*`, `elasticfilesystem:*`, " +
            "`dynamodb:*`, `rds:*`, EBS...), no `*` and no Allow with `NotAction`: the worker can then never copy the " +
            "files into AWS storage.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation: ReportViolation) => {
            const roles = args.resources.filter((r) => r.isType(aws.iam.Role) && (known(() => trustedServices(r.props.assumeRolePolicy)) ?? []).some((s) => GUARDED_PRINCIPALS.includes(s)));
            if (roles.length === 0) args.notApplicable("no role that ECS tasks or the hosts assume");
            const policies = args.resources.filter((r) => r.isType(aws.iam.Policy));

            for (const role of roles) {
                const who = `role \`${role.name}\` (assumed by ${trustedServices(role.props.assumeRolePolicy).filter((s) => GUARDED_PRINCIPALS.includes(s)).join(", ")})`;
                const checkDocument = (document: unknown, where: string, urn: string) => {
                    if (document === undefined) return; // not known until `pulumi up`
                    for (const reason of dataStoreGrants(document)) reportViolation(`${who}: ${where}: ${reason}`, urn);
                };
                const checkAttachment = (arn: unknown, policyDependencies: readonly PolicyResource[], urn: string) => {
                    const local = policyDependencies.find((d) => d.isType(aws.iam.Policy)) ?? policies.find((p) => known(() => p.props.arn) === arn);
                    if (local) return checkDocument(known(() => local.props.policy), `policy \`${local.name}\``, urn);
                    if (arn === undefined) return;
                    const managed = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(String(arn));
                    if (managed && KNOWN_MANAGED_POLICIES.includes(managed[1])) return;
                    reportViolation(
                        `${who}: attaches ${String(arn)}, which this pack cannot read: use a policy defined in the stack, ` +
                            "or, for an AWS-managed policy that grants no data-store action, add it to KNOWN_MANAGED_POLICIES (policy/roles.ts)",
                        urn,
                    );
                };

                (known(() => role.props.inlinePolicies as unknown[]) ?? []).forEach((inline, i) =>
                    checkDocument(known(() => (inline as { policy?: unknown }).policy), `inline policy #${i + 1}`, role.urn),
                );
                for (const arn of known(() => role.props.managedPolicyArns as unknown[]) ?? []) checkAttachment(arn, [], role.urn);
                for (const r of args.resources) {
                    if (r.isType(aws.iam.RolePolicy) && refersTo(r, "role", role)) checkDocument(known(() => r.props.policy), `role policy \`${r.name}\``, r.urn);
                    if ((r.isType(aws.iam.RolePolicyAttachment) && refersTo(r, "role", role)) || (r.isType(aws.iam.PolicyAttachment) && refersTo(r, "roles", role))) {
                        checkAttachment(known(() => r.props.policyArn), r.propertyDependencies.policyArn ?? [], r.urn);
                    }
                }
            }
        },
    };
}
