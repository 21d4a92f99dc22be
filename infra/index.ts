/**
 * The Pulumi program. The stack's name picks what it builds: `region` the in-region
 * deployment, `anywhere`/`anywhere-<site>` the hosts that stretch it. The returned record is
 * the stack's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { stackKind } from "./stack-kind";

export = async (): Promise<Record<string, unknown>> => {
    if (stackKind(pulumi.getStack()) === "region") {
        const { regionProgram } = await import("./region");
        return regionProgram();
    }
    const { anywhereProgram } = await import("./anywhere");
    return anywhereProgram();
};
