/**
 * The hosts' role (the one SSM assumes for the managed instances) holds what the SSM and ECS agents
 * on a host call, on this deployment's cluster and managed instances, and nothing more: root on a
 * stolen host holds these credentials. Three rules: what it may do, Parameter Store never, and who
 * may assume it. The agents' calls are infra/anywhere/instance-role.ts's lists, so the program and
 * the pack cannot drift; docs/residency.md cites the AWS documentation they come from.
 */
import type { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    ECS_AGENT_CLUSTER_ACTIONS,
    ECS_AGENT_DISCOVERY_ACTIONS,
    ECS_AGENT_INSTANCE_ACTIONS,
    SSM_AGENT_ACTIONS,
    SSM_REMOTE_ACCESS_ACTIONS,
} from "../infra/anywhere/instance-role";
import { iamPattern } from "./data-stores";
import { allows, list, parseDocument, statements, type Statement } from "./iam";
import { policiesOfRole, rolesTrusting, type HeldPolicy } from "./roles";
import { known } from "./stack";

/** The service that assumes the hosts' role. */
export const HOSTS_PRINCIPAL = "ssm.amazonaws.com";
/** Parameter Store's reads: a stolen host with any of them reads every parameter it may. */
export const PARAMETER_READS: readonly string[] = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"];

const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]+$/;
const CLUSTER_CONTAINER_INSTANCE_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:container-instance\/[A-Za-z0-9_-]+\/.+$/;
const MANAGED_INSTANCE_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:managed-instance\/.+$/;

/** The agents' calls and the resources each must be scoped to. */
const SCOPE = new Map<string, "cluster" | "container-instance" | "managed-instance" | "any">([
    ...ECS_AGENT_CLUSTER_ACTIONS.map((a) => [a.toLowerCase(), "cluster"] as const),
    ...ECS_AGENT_INSTANCE_ACTIONS.map((a) => [a.toLowerCase(), "container-instance"] as const),
    ...SSM_AGENT_ACTIONS.map((a) => [a.toLowerCase(), "managed-instance"] as const),
    ...[...ECS_AGENT_DISCOVERY_ACTIONS, ...SSM_REMOTE_ACCESS_ACTIONS].map((a) => [a.toLowerCase(), "any"] as const),
]);

/** The stack's roles SSM assumes for the hosts; a rule does not apply to a stack without one. */
function hostsRoles(args: StackValidationArgs) {
    const roles = rolesTrusting(args, [HOSTS_PRINCIPAL]);
    if (roles.length === 0) args.notApplicable("no role that SSM assumes for the hosts");
    return roles;
}

/** A policy's statements, or undefined while it is unknown; an unreadable document is reported. */
function documentStatements(policy: HeldPolicy, who: string, reportViolation: ReportViolation): Statement[] | undefined {
    if (policy.document === undefined) return undefined;
    const document = parseDocument(policy.document);
    if (!document) {
        reportViolation(`${who}: ${policy.where}: the policy document is not valid JSON`, policy.urn);
        return undefined;
    }
    return statements(document);
}

/** The values of condition key `key` under any of `operators` (keys and operators are case-insensitive in IAM). */
function conditionValues(statement: Statement, operators: readonly string[], key: string): string[] {
    const condition = typeof statement.Condition === "object" && statement.Condition !== null ? (statement.Condition as Record<string, unknown>) : {};
    return Object.entries(condition)
        .filter(([operator]) => operators.some((o) => o.toLowerCase() === operator.toLowerCase()))
        .flatMap(([, block]) => Object.entries(typeof block === "object" && block !== null ? (block as Record<string, unknown>) : {}))
        .filter(([name]) => name.toLowerCase() === key.toLowerCase())
        .flatMap(([, values]) => list(values).map(String));
}

/** Why an Allow statement's `action` is scoped too widely, or undefined if it is scoped as the agents need. */
function scopeRefusal(statement: Statement, action: string): string | undefined {
    const resources = list(statement.Resource).map(String);
    switch (SCOPE.get(action.toLowerCase())) {
        case "cluster":
            return resources.every((r) => CLUSTER_ARN.test(r)) ? undefined : `\`${action}\` on ${resources.join(", ")}: name the cluster's ARN (arn:aws:ecs:<region>:<account>:cluster/<name>), not a pattern`;
        case "container-instance": {
            const clusters = conditionValues(statement, ["ArnEquals", "ArnLike", "StringEquals"], "ecs:cluster");
            const byCondition = clusters.length > 0 && clusters.every((c) => CLUSTER_ARN.test(c));
            return byCondition || resources.every((r) => CLUSTER_CONTAINER_INSTANCE_ARN.test(r))
                ? undefined
                : `\`${action}\` on ${resources.join(", ")} for any cluster: add the condition ArnEquals ecs:cluster with the cluster's ARN`;
        }
        case "managed-instance":
            return resources.every((r) => MANAGED_INSTANCE_ARN.test(r)) ? undefined : `\`${action}\` on ${resources.join(", ")}: scope it to this account's managed instances (arn:aws:ssm:<region>:<account>:managed-instance/*)`;
        default:
            return undefined;
    }
}

export function hostsRoleLeastPrivilege(): StackValidationPolicy {
    return {
        name: "hosts-role-least-privilege",
        description:
            "The hosts' role (assumed by SSM for the managed instances) allows only what the SSM and ECS agents on a host " +
            "call: registering with and reporting to this deployment's cluster, the ECS agent's channels on its own " +
            "container instance, the SSM agent's heartbeat on a managed instance of the account, and, when asked for, " +
            "the Run Command and Session Manager channels. No AWS-managed policy (each grants far more: Parameter Store, " +
            "ECR, CloudWatch Logs, any cluster), no wildcard action, no NotAction or NotResource.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation: ReportViolation) => {
            for (const { role, who } of hostsRoles(args)) {
                for (const policy of policiesOfRole(role, args.resources)) {
                    if (policy.managedArn !== undefined) {
                        reportViolation(`${who}: attaches ${policy.managedArn}, which grants more than the agents call (on any resource): give the role the agents' calls in a policy of its own`, policy.urn);
                        continue;
                    }
                    for (const statement of (documentStatements(policy, who, reportViolation) ?? []).filter(allows)) {
                        if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
                            reportViolation(`${who}: ${policy.where}: an Allow with NotAction or NotResource grants what it does not name`, policy.urn);
                            continue;
                        }
                        for (const action of list(statement.Action).map(String)) {
                            if (!SCOPE.has(action.toLowerCase())) {
                                reportViolation(`${who}: ${policy.where}: \`${action}\` is not a call the SSM or ECS agent on a host makes (the hosts' role holds only those)`, policy.urn);
                                continue;
                            }
                            const refusal = scopeRefusal(statement, action);
                            if (refusal) reportViolation(`${who}: ${policy.where}: ${refusal}`, policy.urn);
                        }
                    }
                }
            }
        },
    };
}

export function hostsRoleNoParameterStore(): StackValidationPolicy {
    return {
        name: "hosts-role-no-parameter-store",
        description:
            "The hosts' role cannot read Parameter Store (`ssm:GetParameter*`): root on a stolen host would read every " +
            "parameter of the account and region. A policy that grants it (AmazonSSMManagedInstanceCore does) must be " +
            "met by an explicit Deny of `ssm:GetParameter*` on `*`, without condition.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation: ReportViolation) => {
            for (const { role, who } of hostsRoles(args)) {
                const held = policiesOfRole(role, args.resources).map((policy) => ({ policy, statements: documentStatements(policy, who, () => undefined) ?? [] }));
                const all = held.flatMap(({ statements: s }) => s);
                const covers = (statement: Statement) => PARAMETER_READS.every((read) => list(statement.Action).some((a) => iamPattern(String(a)).test(read)));
                const denied = all.some((s) => !allows(s) && s.Condition === undefined && list(s.Resource).includes("*") && covers(s));
                if (denied) continue;
                for (const { policy, statements: s } of held) {
                    for (const statement of s.filter(allows)) {
                        const grants = statement.NotAction !== undefined || list(statement.Action).some((a) => PARAMETER_READS.some((read) => iamPattern(String(a)).test(read)));
                        if (grants) {
                            reportViolation(
                                `${who}: ${policy.where} lets the hosts read Parameter Store (ssm:GetParameter*): add a Deny of ssm:GetParameter* on * to the role, or leave the grant out`,
                                policy.urn,
                            );
                        }
                    }
                }
            }
        },
    };
}

/** Why a trust statement that admits SSM is not bound to one account's managed instances, or undefined. */
function trustRefusal(statement: Statement): string | undefined {
    const accounts = conditionValues(statement, ["StringEquals"], "aws:SourceAccount");
    const sources = conditionValues(statement, ["ArnEquals", "ArnLike"], "aws:SourceArn");
    if (accounts.length !== 1 || !/^\d{12}$/.test(accounts[0])) return "has no condition StringEquals aws:SourceAccount naming the account";
    const bound = sources.length > 0 && sources.every((arn) => new RegExp(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:${accounts[0]}:`).test(arn));
    if (!bound) return `has no condition ArnEquals aws:SourceArn of the account's SSM (arn:aws:ssm:<region>:${accounts[0]}:*)`;
    return undefined;
}

export function hostsRoleTrustBound(): StackValidationPolicy {
    return {
        name: "hosts-role-trust-bound",
        description:
            "The hosts' role trusts SSM only on behalf of this account's managed instances: the trust statement carries " +
            "aws:SourceAccount and aws:SourceArn (`arn:aws:ssm:<region>:<account>:*`), the confused-deputy guard AWS gives " +
            "for the hybrid activation's service role, and admits no other principal.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation: ReportViolation) => {
            for (const { role, who } of hostsRoles(args)) {
                const document = parseDocument(known(() => role.props.assumeRolePolicy as unknown));
                for (const statement of statements(document ?? {}).filter(allows)) {
                    const principal = typeof statement.Principal === "object" && statement.Principal !== null ? (statement.Principal as Record<string, unknown>) : { AWS: statement.Principal };
                    const others = Object.entries(principal).flatMap(([kind, values]) => list(values).map(String).filter((value) => !(kind === "Service" && value === HOSTS_PRINCIPAL)).map((value) => `${kind} ${value}`));
                    if (others.length > 0) reportViolation(`${who}: its trust policy also admits ${others.join(", ")}: the hosts' role is SSM's alone`, role.urn);
                    const refusal = list((principal as { Service?: unknown }).Service).includes(HOSTS_PRINCIPAL) ? trustRefusal(statement) : undefined;
                    if (refusal) reportViolation(`${who}: its trust statement for ${HOSTS_PRINCIPAL} ${refusal}, so SSM would assume it on behalf of anyone`, role.urn);
                }
            }
        },
    };
}
