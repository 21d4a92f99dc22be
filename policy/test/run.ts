/**
 * Runs one rule the way the pack's server does (pulumi/pulumi-policy `server.ts`): typed checks, not
 * applicable, and values a preview does not know yet (wrapped in the SDK's own unknown-checking proxy).
 */
import { unknownCheckingProxy, UnknownValueError, type PolicyResource, type ResourceValidationArgs, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";

/** A value a preview does not know yet: the SDK's sentinel for an unknown string (pulumi-policy proxy.ts, `unknownStringValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Outcome {
    readonly violations: string[];
    /** The reason the rule gave for not applying, if it did not apply. */
    readonly notApplicable?: string;
    /** The message of the unknown value that stopped the rule (the engine reports it as advisory). */
    readonly unknown?: string;
}

export interface TestResource {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
    /** Property name to the names of the resources it was computed from (the engine's propertyDependencies). */
    readonly dependsOn?: Record<string, string[]>;
}

class NotApplicable extends Error {}

const urnOf = (type: string, name: string) => `urn:pulumi:test::ecs-anywhere::${type}::${name}`;
const typeOf = (resourceClass: unknown) => (resourceClass as { __pulumiType?: string }).__pulumiType;

async function outcome(run: () => Promise<void> | void, violations: string[]): Promise<Outcome> {
    try {
        await run();
        return { violations };
    } catch (error) {
        if (error instanceof NotApplicable) return { violations, notApplicable: error.message };
        // The SDK declares UnknownValueError without its type: it is an Error.
        if (error instanceof UnknownValueError) return { violations, unknown: (error as Error).message };
        throw error;
    }
}

export async function runResourcePolicy(policy: ResourceValidationPolicy, resource: TestResource): Promise<Outcome> {
    const props = unknownCheckingProxy(resource.props) as Record<string, unknown>;
    const args: ResourceValidationArgs = {
        type: resource.type,
        props,
        urn: urnOf(resource.type, resource.name),
        name: resource.name,
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        stackTags: new Map(),
        isType: (resourceClass) => typeOf(resourceClass) === resource.type,
        asType: ((resourceClass: unknown) => (typeOf(resourceClass) === resource.type ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
    const violations: string[] = [];
    const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    return outcome(async () => {
        for (const validate of validations) await validate(args, (message) => violations.push(message));
    }, violations);
}

export async function runStackPolicy(policy: StackValidationPolicy, resources: readonly TestResource[], config: Record<string, unknown> = {}): Promise<Outcome & { urns: string[] }> {
    const byName = new Map<string, PolicyResource>();
    const all: PolicyResource[] = resources.map((resource) => {
        const props = unknownCheckingProxy(resource.props) as Record<string, unknown>;
        const policyResource: PolicyResource = {
            type: resource.type,
            props,
            urn: urnOf(resource.type, resource.name),
            name: resource.name,
            opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
            dependencies: [],
            propertyDependencies: {},
            isType: (resourceClass) => typeOf(resourceClass) === resource.type,
            asType: ((resourceClass: unknown) => (typeOf(resourceClass) === resource.type ? props : undefined)) as PolicyResource["asType"],
        };
        byName.set(resource.name, policyResource);
        return policyResource;
    });
    resources.forEach((resource, i) => {
        for (const [key, names] of Object.entries(resource.dependsOn ?? {})) {
            all[i].propertyDependencies[key] = names.map((name) => {
                const dependency = byName.get(name);
                if (!dependency) throw new Error(`test resource ${resource.name} depends on ${name}, which is not in the list`);
                return dependency;
            });
            all[i].dependencies.push(...all[i].propertyDependencies[key]);
        }
    });
    const violations: string[] = [];
    const urns: string[] = [];
    const result = await outcome(
        () =>
            policy.validateStack({
                resources: all,
                stackTags: new Map(),
                getConfig: <T extends object>() => config as T,
                notApplicable: (reason?: string): never => {
                    throw new NotApplicable(reason);
                },
            }, (message, urn) => {
                violations.push(message);
                urns.push(urn ?? "");
            }),
        violations,
    );
    return { ...result, urns };
}
