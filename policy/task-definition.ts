/** ECS task definitions as the rules read them: which tasks run on the hosts, and their containers. */
import type { StackKind } from "./stack";

/** The fields of a container definition the rules look at (ECS's JSON names). */
export interface ContainerDefinition {
    readonly name?: string;
    readonly environment?: ReadonlyArray<{ readonly name?: string; readonly value?: string }>;
    readonly environmentFiles?: readonly unknown[];
    readonly secrets?: ReadonlyArray<{ readonly name?: string; readonly valueFrom?: string }>;
    readonly mountPoints?: ReadonlyArray<{ readonly sourceVolume?: string; readonly containerPath?: string }>;
    readonly logConfiguration?: { readonly logDriver?: string };
    readonly firelensConfiguration?: unknown;
}

/**
 * The container definitions of a task definition (`containerDefinitions`, a JSON string), or undefined
 * if they are not a JSON array (ECS would refuse them too).
 */
export function parseContainerDefinitions(value: unknown): ContainerDefinition[] | undefined {
    let parsed: unknown = value;
    if (typeof value === "string") {
        try {
            parsed = JSON.parse(value);
        } catch (error) {
            if (error instanceof SyntaxError) return undefined;
            throw error;
        }
    }
    return Array.isArray(parsed) ? parsed.filter((c): c is ContainerDefinition => typeof c === "object" && c !== null) : undefined;
}

/** A task that runs on the hosts: any task of an anywhere stack, and any task for the EXTERNAL launch type. */
export function runsOnHosts(kind: StackKind | undefined, requiresCompatibilities: readonly string[] | undefined): boolean {
    return kind === "anywhere" || (requiresCompatibilities ?? []).includes("EXTERNAL");
}

/** How a container is named in a message. */
export function containerLabel(container: ContainerDefinition, index: number): string {
    return container.name ? `container \`${container.name}\`` : `container #${index + 1}`;
}
