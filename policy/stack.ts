/** What the rules need to know about the stack they check, read as the program reads it. */
import { UnknownValueError } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { stackKind, type StackKind } from "../infra/stack-kind";

export type { StackKind } from "../infra/stack-kind";

/** The kind of a stack from its name (infra/stack-kind.ts); undefined for a name the program refuses to run. */
export function kindOf(stackName: string): StackKind | undefined {
    try {
        return stackKind(stackName);
    } catch {
        return undefined;
    }
}

/** The kind of the stack this pack is checking (the engine tells the pack the stack's name). */
export function currentStackKind(): StackKind | undefined {
    return kindOf(pulumi.getStack());
}

/**
 * Reads a value that a preview may not know yet (an ARN before the resource exists); undefined if it
 * is unknown. The pack checks it again at `pulumi up`, when it is known.
 */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (error) {
        if (error instanceof UnknownValueError) return undefined;
        throw error;
    }
}
