/**
 * The Pulumi Node.js SDK debug-logs every engine response it gets (`RegisterResource RPC
 * finished: ...; resp: <the whole response>`), and a response carries the resource's outputs with
 * secret values in plain text: the SSM activation code, an ECR token. Debug messages go to the
 * engine, which shows them with `pulumi up --debug` and writes them to its event log, and it masks
 * only the stack's config secrets there. So the program keeps responses out of its debug messages.
 */
import * as pulumi from "@pulumi/pulumi";

/** What a debug message says instead of a response. */
export const RESPONSE_NOT_LOGGED = "[response not logged: it may hold secret values]";

const RESPONSE = /^(.*\bRPC finished: [\s\S]*?\bresp: )[\s\S]*$/;

/** `message` with the engine response it carries, if any, left out. */
export function withoutResponse(message: string): string {
    return message.replace(RESPONSE, `$1${RESPONSE_NOT_LOGGED}`);
}

type DebugLog = typeof pulumi.log.debug;

/**
 * Makes the SDK's `log.debug` (the one its runtime calls) leave responses out. Idempotent; `log`
 * is the SDK's log module (its CommonJS exports, which the runtime reads `debug` from at each call).
 */
export function keepResponsesOutOfDebugLog(log: { debug: DebugLog } = pulumi.log as unknown as { debug: DebugLog }): void {
    const original = log.debug as DebugLog & { withoutResponses?: true };
    if (original.withoutResponses) return;
    const debug: DebugLog & { withoutResponses?: true } = (message, ...rest) => original(withoutResponse(message), ...rest);
    debug.withoutResponses = true;
    log.debug = debug;
}
