/** IAM policy documents as the pack reads them: who may assume a role, and what a policy allows. */
import { dataStoreReach } from "./data-stores";

export interface Statement {
    readonly Sid?: unknown;
    readonly Effect?: unknown;
    readonly Action?: unknown;
    readonly NotAction?: unknown;
    readonly Resource?: unknown;
    readonly NotResource?: unknown;
    readonly Principal?: unknown;
    readonly Condition?: unknown;
}

/** A JSON string or an object, as `aws.iam.Role` and `aws.iam.RolePolicy` accept; undefined if it is neither. */
export function parseDocument(value: unknown): { Statement?: unknown } | undefined {
    if (typeof value === "string") {
        try {
            const parsed: unknown = JSON.parse(value);
            return typeof parsed === "object" && parsed !== null ? parsed : undefined;
        } catch (error) {
            if (error instanceof SyntaxError) return undefined;
            throw error;
        }
    }
    return typeof value === "object" && value !== null ? value : undefined;
}

export const list = (value: unknown): unknown[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

export function statements(document: { Statement?: unknown }): Statement[] {
    return list(document.Statement).filter((s): s is Statement => typeof s === "object" && s !== null);
}

export const allows = (s: Statement) => String(s.Effect ?? "Allow").toLowerCase() !== "deny";

/** The AWS services a trust policy lets assume the role (`ecs-tasks.amazonaws.com`, `ssm.amazonaws.com`). */
export function trustedServices(assumeRolePolicy: unknown): string[] {
    const document = parseDocument(assumeRolePolicy);
    if (!document) return [];
    return statements(document)
        .filter(allows)
        .flatMap((s) => (typeof s.Principal === "object" && s.Principal !== null ? list((s.Principal as { Service?: unknown }).Service) : []))
        .filter((service): service is string => typeof service === "string");
}

/**
 * Why a policy document reaches an AWS data store, one line per grant; empty if it does not. A
 * document that cannot be read is reported too: what cannot be read cannot be trusted.
 */
export function dataStoreGrants(policy: unknown): string[] {
    const document = parseDocument(policy);
    if (!document) return ["the policy document is not valid JSON"];
    const reasons: string[] = [];
    for (const statement of statements(document).filter(allows)) {
        if (statement.NotAction !== undefined) reasons.push("an Allow with `NotAction` grants every action it does not list, data stores included");
        for (const action of list(statement.Action)) {
            const reach = typeof action === "string" ? dataStoreReach(action) : undefined;
            if (reach) reasons.push(reach);
        }
    }
    return reasons;
}
