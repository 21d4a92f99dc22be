/**
 * A small IAM policy evaluator for the stand-ins: whether a role, as the stand-in aws provider
 * recorded it (records.ts), may make a call, so that the stand-in APIs refuse what AWS would
 * (AccessDeniedException) instead of taking every call. Identity-based policies only, in AWS's
 * order ("Policy evaluation logic", IAM User Guide): an explicit Deny wins, else an Allow, else
 * the implicit deny. What it reads of a role: its inline policies, its role policies, the policies
 * attached to it (of the stack, or AWS-managed ones the policy pack knows, policy/managed-policies.ts).
 *
 * Supported: Effect, Action / NotAction (wildcards, case-insensitive), Resource / NotResource
 * (wildcards, case-sensitive), and the condition operators String(Not)Equals(IgnoreCase),
 * String(Not)Like, Arn(Not)Equals, Arn(Not)Like (each ARN component matched apart), Bool and Null,
 * with `...IfExists`. Not modelled: resource policies, permission boundaries, session policies,
 * SCPs, policy variables, ForAnyValue/ForAllValues; a policy that uses them is refused with an
 * error naming what (never silently allowed).
 */
import { iamPattern } from "../../policy/data-stores";
import { allows, list, parseDocument, statements, type Statement } from "../../policy/iam";
import { managedPolicyDocument } from "../../policy/managed-policies";
import type { LiveRecord } from "./records";

/** The request context: condition keys (`aws:SourceAccount`, `ecs:cluster`) and their values. */
export type RequestContext = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface Decision {
    readonly allowed: boolean;
    /** `allow`, `explicit-deny` (a Deny matched) or `implicit-deny` (no Allow matched). */
    readonly reason: "allow" | "explicit-deny" | "implicit-deny";
    /** Where the deciding statement is (`role policy x, statement 2 (Sid)`), if one decided. */
    readonly by?: string;
}

/** A policy document and where it comes from, for the messages. */
export interface SourcedDocument {
    readonly where: string;
    readonly document: unknown;
}

/** A policy the evaluator cannot evaluate faithfully: it stops rather than guess. */
export class UnsupportedPolicyError extends Error {
    override readonly name = "UnsupportedPolicyError";
}

/** A role the stand-in aws provider has no record of. */
export class UnknownRoleError extends Error {
    override readonly name = "UnknownRoleError";
}

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const POLICY = "aws:iam/policy:Policy";

/** `arn:partition:service:region:account:resource` as its six parts (the resource may hold colons), or undefined. */
function arnParts(value: string): string[] | undefined {
    const parts = value.split(":");
    if (parts.length < 6 || parts[0] !== "arn") return undefined;
    return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

function arnMatches(pattern: string, value: string): boolean {
    if (pattern === "*") return true;
    const [p, v] = [arnParts(pattern), arnParts(value)];
    return p !== undefined && v !== undefined && p.every((part, i) => iamPattern(part, true).test(v[i]));
}

function contextValues(context: RequestContext, key: string): string[] | undefined {
    const entry = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase());
    return entry === undefined || entry[1] === undefined ? undefined : list(entry[1]).map(String);
}

/** One condition operator's test of one request value against one policy value. */
const MATCHERS: Readonly<Record<string, (policy: string, request: string) => boolean>> = {
    stringequals: (p, r) => p === r,
    stringequalsignorecase: (p, r) => p.toLowerCase() === r.toLowerCase(),
    stringlike: (p, r) => iamPattern(p, true).test(r),
    arnequals: arnMatches,
    arnlike: arnMatches,
    bool: (p, r) => p.toLowerCase() === r.toLowerCase(),
};
const NEGATED: Readonly<Record<string, string>> = { stringnotequals: "stringequals", stringnotequalsignorecase: "stringequalsignorecase", stringnotlike: "stringlike", arnnotequals: "arnequals", arnnotlike: "arnlike" };

function conditionHolds(operatorName: string, key: string, policyValues: unknown, context: RequestContext): boolean {
    if (/^for(any|all)value:/i.test(operatorName)) throw new UnsupportedPolicyError(`condition operator ${operatorName} is not modelled by the stand-in's IAM evaluator`);
    const ifExists = /ifexists$/i.test(operatorName);
    const operator = operatorName.toLowerCase().replace(/ifexists$/, "");
    const values = list(policyValues).map(String);
    if (values.some((value) => value.includes("${"))) throw new UnsupportedPolicyError(`policy variables (${values.join(", ")}) are not modelled by the stand-in's IAM evaluator`);
    const request = contextValues(context, key);
    if (operator === "null") return values.some((value) => (value.toLowerCase() === "true") === (request === undefined));
    const negated = NEGATED[operator];
    const matcher = MATCHERS[negated ?? operator];
    if (!matcher) throw new UnsupportedPolicyError(`condition operator ${operatorName} is not modelled by the stand-in's IAM evaluator`);
    // A key the request lacks: no match; a negated operator then holds; ...IfExists holds either way.
    if (request === undefined) return ifExists || negated !== undefined;
    const any = request.some((r) => values.some((p) => matcher(p, r)));
    return negated ? !any : any;
}

function conditionsHold(statement: Statement, context: RequestContext): boolean {
    if (statement.Condition === undefined) return true;
    const blocks = typeof statement.Condition === "object" && statement.Condition !== null ? Object.entries(statement.Condition as Record<string, unknown>) : [];
    return blocks.every(([operator, keys]) => Object.entries(typeof keys === "object" && keys !== null ? (keys as Record<string, unknown>) : {}).every(([key, values]) => conditionHolds(operator, key, values, context)));
}

function actionMatches(statement: Statement, action: string): boolean {
    const matches = (patterns: unknown) => list(patterns).some((pattern) => iamPattern(String(pattern)).test(action));
    return statement.NotAction !== undefined ? !matches(statement.NotAction) : matches(statement.Action);
}

function resourceMatches(statement: Statement, resource: string): boolean {
    const matches = (patterns: unknown) => list(patterns).some((pattern) => String(pattern) === "*" || (resource !== "*" && iamPattern(String(pattern), true).test(resource)));
    return statement.NotResource !== undefined ? !matches(statement.NotResource) : matches(statement.Resource);
}

/** The decision of `documents` (identity-based policies) on `action` over `resource`, in `context`. */
export function evaluate(documents: readonly SourcedDocument[], action: string, resource: string, context: RequestContext = {}): Decision {
    let allowedBy: string | undefined;
    for (const { where, document } of documents) {
        const parsed = parseDocument(document);
        if (!parsed) throw new UnsupportedPolicyError(`${where} is not a policy document`);
        for (const [i, statement] of statements(parsed).entries()) {
            if (!actionMatches(statement, action) || !resourceMatches(statement, resource) || !conditionsHold(statement, context)) continue;
            const by = `${where}, statement ${i + 1}${typeof statement.Sid === "string" && statement.Sid ? ` (${statement.Sid})` : ""}`;
            if (!allows(statement)) return { allowed: false, reason: "explicit-deny", by };
            allowedBy ??= by;
        }
    }
    return allowedBy === undefined ? { allowed: false, reason: "implicit-deny" } : { allowed: true, reason: "allow", by: allowedBy };
}

const outputsOf = (record: LiveRecord) => (record.outputs ?? {}) as Record<string, unknown>;

/** The role of `roleArn` among the aws stand-in's live records. */
export function findRole(records: readonly LiveRecord[], roleArn: string): LiveRecord | undefined {
    return records.find((r) => r.type === ROLE && (outputsOf(r).arn === roleArn || r.id === roleArn));
}

/** Every identity-based policy the recorded role holds. */
export function rolePolicies(records: readonly LiveRecord[], roleArn: string): SourcedDocument[] {
    const role = findRole(records, roleArn);
    if (!role) throw new UnknownRoleError(`the stand-in aws provider has no role ${roleArn}`);
    const name = String(outputsOf(role).name ?? role.id);
    const documents: SourcedDocument[] = [];
    list(outputsOf(role).inlinePolicies).forEach((inline, i) => documents.push({ where: `inline policy ${(inline as { name?: string }).name ?? `#${i + 1}`}`, document: (inline as { policy?: unknown }).policy }));
    const attach = (policyArn: string) => {
        const local = records.find((r) => r.type === POLICY && outputsOf(r).arn === policyArn);
        const document = local ? outputsOf(local).policy : managedPolicyDocument(policyArn);
        if (document === undefined) throw new UnsupportedPolicyError(`role ${name} has ${policyArn} attached, a policy the stand-ins cannot read`);
        documents.push({ where: `attached policy ${policyArn}`, document });
    };
    list(outputsOf(role).managedPolicyArns).forEach((arn) => attach(String(arn)));
    for (const record of records) {
        if (outputsOf(record).role !== name) continue;
        if (record.type === ROLE_POLICY) documents.push({ where: `role policy ${record.name}`, document: outputsOf(record).policy });
        if (record.type === ROLE_POLICY_ATTACHMENT) attach(String(outputsOf(record).policyArn));
    }
    return documents;
}

/**
 * Whether the role `roleArn` (as the stand-in aws provider recorded it) may call `action` (`ecs:Poll`)
 * on `resourceArn` (the resource the Service Authorization Reference names for it, or `*` for an
 * action that takes none), with the condition keys in `context`.
 */
export function authorizeRoleCall(records: readonly LiveRecord[], roleArn: string, action: string, resourceArn: string, context: RequestContext = {}): Decision {
    return evaluate(rolePolicies(records, roleArn), action, resourceArn, context);
}

/**
 * Whether `service` (`ssm.amazonaws.com`) may assume the recorded role `roleArn` in `context` (for
 * SSM assuming the hosts' role for a managed instance: `aws:SourceAccount`, `aws:SourceArn`), by
 * the role's trust policy.
 */
export function authorizeAssumeRole(records: readonly LiveRecord[], roleArn: string, service: string, context: RequestContext = {}): Decision {
    const role = findRole(records, roleArn);
    if (!role) throw new UnknownRoleError(`the stand-in aws provider has no role ${roleArn}`);
    const document = parseDocument(outputsOf(role).assumeRolePolicy);
    if (!document) throw new UnsupportedPolicyError(`role ${roleArn} has no readable trust policy`);
    // The trust policy's statements that name the service as principal, read as identity statements.
    const admitting = statements(document).filter((s) => {
        const principal = s.Principal;
        if (principal === "*") return true;
        return typeof principal === "object" && principal !== null && list((principal as { Service?: unknown }).Service).includes(service);
    });
    return evaluate([{ where: `the trust policy of ${roleArn}`, document: { Statement: admitting.map((s) => ({ ...s, Resource: "*" })) } }], "sts:AssumeRole", "*", context);
}

/** AWS's message for a refused call (the identity-based-policy form of "is not authorized to perform"). */
export function accessDeniedMessage(caller: string, action: string, resourceArn: string, decision: Decision): string {
    const because = decision.reason === "explicit-deny" ? "with an explicit deny in an identity-based policy" : `because no identity-based policy allows the ${action} action`;
    return `User: ${caller} is not authorized to perform: ${action} on resource: ${resourceArn} ${because}`;
}
