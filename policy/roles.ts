/**
 * The roles the worker and the hosts act with reach no AWS data store, wherever they are defined: a
 * task role with `s3:PutObject` would let the worker copy the files out of the site. Also how a
 * rule finds every policy document a role holds, wherever it is defined (hosts-role.ts reads them too).
 */
import * as aws from "@pulumi/aws";
import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { dataStoreGrants, list, trustedServices } from "./iam";
import { managedPolicyDocument, MANAGED_POLICY_DOCUMENTS } from "./managed-policies";
import { known } from "./stack";

/** Who assumes the roles this rule guards: ECS tasks (task and execution roles) and the hosts (SSM managed instances). */
export const GUARDED_PRINCIPALS: readonly string[] = ["ecs-tasks.amazonaws.com", "ssm.amazonaws.com"];

/**
 * AWS-managed policies the pack knows to grant no data-store action (their documents, in the AWS
 * Managed Policy Reference, list only ssm, ssmmessages, ec2messages, ecs, ecr, logs and
 * ec2:DescribeTags: managed-policies.ts holds them). Any other AWS-managed policy cannot be read here and is refused.
 */
export const KNOWN_MANAGED_POLICIES: readonly string[] = Object.keys(MANAGED_POLICY_DOCUMENTS);

/** Whether `resource`'s property `key` names `role`: through the engine's dependency record, else by value. */
function refersTo(resource: PolicyResource, key: string, role: PolicyResource): boolean {
    if ((resource.propertyDependencies[key] ?? []).some((dependency) => dependency.urn === role.urn)) return true;
    const names = [known(() => role.props.name), known(() => role.props.id), known(() => role.props.arn)].filter((n) => typeof n === "string" && n !== "");
    return list(known(() => resource.props[key])).some((value) => names.includes(value));
}

/** One policy a role holds: where it is defined, the URN to report against, and its document (a preview may not know it yet). */
export interface HeldPolicy {
    readonly where: string;
    readonly urn: string;
    /** The document (JSON text or object); undefined while unknown. */
    readonly document?: unknown;
    /** Set for an attached policy the pack cannot read (neither in the stack nor a known AWS-managed one). */
    readonly unreadableArn?: string;
    /** Set for an attached AWS-managed policy. */
    readonly managedArn?: string;
}

/** Every policy `role` holds: inline, its managed ARNs, role policies and attachments (of a stack policy or an AWS-managed one). */
export function policiesOfRole(role: PolicyResource, resources: readonly PolicyResource[]): HeldPolicy[] {
    const held: HeldPolicy[] = [];
    const stackPolicies = resources.filter((r) => r.isType(aws.iam.Policy));
    const attached = (arn: unknown, policyDependencies: readonly PolicyResource[], urn: string) => {
        const local = policyDependencies.find((d) => d.isType(aws.iam.Policy)) ?? stackPolicies.find((p) => known(() => p.props.arn) === arn);
        if (local) return held.push({ where: `policy \`${local.name}\``, urn, document: known(() => local.props.policy) });
        if (arn === undefined) return held.push({ where: "an attached policy not known yet", urn });
        const document = managedPolicyDocument(String(arn));
        return held.push(document ? { where: `AWS-managed policy ${String(arn)}`, urn, document, managedArn: String(arn) } : { where: String(arn), urn, unreadableArn: String(arn) });
    };
    (known(() => role.props.inlinePolicies as unknown[]) ?? []).forEach((inline, i) => held.push({ where: `inline policy #${i + 1}`, urn: role.urn, document: known(() => (inline as { policy?: unknown }).policy) }));
    for (const arn of known(() => role.props.managedPolicyArns as unknown[]) ?? []) attached(arn, [], role.urn);
    for (const r of resources) {
        if (r.isType(aws.iam.RolePolicy) && refersTo(r, "role", role)) held.push({ where: `role policy \`${r.name}\``, urn: r.urn, document: known(() => r.props.policy) });
        if ((r.isType(aws.iam.RolePolicyAttachment) && refersTo(r, "role", role)) || (r.isType(aws.iam.PolicyAttachment) && refersTo(r, "roles", role))) {
            attached(known(() => r.props.policyArn), r.propertyDependencies.policyArn ?? [], r.urn);
        }
    }
    return held;
}

/** The roles of the stack that `service` may assume (read from their trust policies), and how a message names each. */
export function rolesTrusting(args: StackValidationArgs, services: readonly string[]): { role: PolicyResource; who: string }[] {
    return args.resources
        .filter((r) => r.isType(aws.iam.Role))
        .map((role) => ({ role, trusted: (known(() => trustedServices(role.props.assumeRolePolicy)) ?? []).filter((s) => services.includes(s)) }))
        .filter(({ trusted }) => trusted.length > 0)
        .map(({ role, trusted }) => ({ role, who: `role \`${role.name}\` (assumed by ${trusted.join(", ")})` }));
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
            const roles = rolesTrusting(args, GUARDED_PRINCIPALS);
            if (roles.length === 0) args.notApplicable("no role that ECS tasks or the hosts assume");
            for (const { role, who } of roles) {
                for (const policy of policiesOfRole(role, args.resources)) {
                    if (policy.unreadableArn !== undefined) {
                        reportViolation(
                            `${who}: attaches ${policy.unreadableArn}, which this pack cannot read: use a policy defined in the stack, ` +
                                "or, for an AWS-managed policy that grants no data-store action, add its document to MANAGED_POLICY_DOCUMENTS (policy/managed-policies.ts)",
                            policy.urn,
                        );
                    }
                    // A document not known until `pulumi up` is checked then; a known AWS-managed one holds no data-store action.
                    if (policy.document === undefined || policy.managedArn !== undefined) continue;
                    for (const reason of dataStoreGrants(policy.document)) reportViolation(`${who}: ${policy.where}: ${reason}`, policy.urn);
                }
            }
        },
    };
}
