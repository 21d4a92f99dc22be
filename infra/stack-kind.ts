import { UserError } from "./config";

/** Which program a stack runs, from its name. */
export type StackKind = "region" | "anywhere";

/**
 * `region` (or `region-<suffix>`, for a second region) runs the region program; `anywhere` and
 * `anywhere-<site>` (several sites can share one region stack) run the anywhere program.
 */
export function stackKind(stackName: string): StackKind {
    // A fully qualified name (org/project/stack) is reduced to the stack's own name.
    const name = stackName.split("/").pop() ?? stackName;
    if (/^region(-[a-z0-9][a-z0-9-]*)?$/i.test(name)) return "region";
    if (/^anywhere(-[a-z0-9][a-z0-9-]*)?$/i.test(name)) return "anywhere";
    throw new UserError(
        `stack ${JSON.stringify(stackName)} is neither a region stack nor an anywhere stack: ` +
            "name it `region` (or `region-<name>`) for the in-region deployment, or `anywhere` " +
            "(or `anywhere-<site>`) for hosts, e.g. `pulumi stack init anywhere-berlin`",
    );
}
