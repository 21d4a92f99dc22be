/**
 * The Pulumi program. The stack's name picks what it builds: `region` the in-region
 * deployment, `anywhere`/`anywhere-<site>` the hosts that stretch it. The returned record is
 * the stack's outputs.
 */
// First: refuses an old Node.js before anything that may break on it loads.
import "./node-check";
import * as pulumi from "@pulumi/pulumi";
import { anywhereProgram } from "./anywhere";
import { regionProgram } from "./region";
import { keepResponsesOutOfDebugLog } from "./sdk-debug-log";
import { stackKind } from "./stack-kind";

// Before any resource: the SDK's debug messages would carry every response, secrets and all.
keepResponsesOutOfDebugLog();

export = async (): Promise<Record<string, unknown>> => (stackKind(pulumi.getStack()) === "region" ? regionProgram() : anywhereProgram());
