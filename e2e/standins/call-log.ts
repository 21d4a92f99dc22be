/**
 * The stand-ins' call log: every call a stand-in provider or stand-in AWS endpoint answers is
 * appended as one JSON line to `$E2E_CALL_LOG` (unset: not logged). Tests read it to learn what
 * the engine asked for and in which order. Secrets never reach it: secret-wrapped values and
 * properties whose name marks them secret are written as "[secret]".
 */
import * as fs from "node:fs";

export type Operation = "checkConfig" | "configure" | "check" | "diff" | "create" | "read" | "update" | "delete" | "invoke" | "api";

export interface CallRecord {
    /** Milliseconds since the epoch, when the call was answered. */
    readonly time: number;
    /** Which stand-in answered: `aws`, `docker-build`, `command`, `ecs-api`, `ssm-api`... */
    readonly provider: string;
    readonly operation: Operation;
    /** Resource type token (`aws:sqs/queue:Queue`), invoke token, or API action. */
    readonly type: string;
    /** The resource's logical name (from its URN), or "" for invokes and API calls. */
    readonly name: string;
    /** Resource id where there is one. */
    readonly id?: string;
    readonly inputs: unknown;
    /** The outcome: "ok", or the error's message. */
    readonly result?: string;
}

/** Property names whose values are secret wherever they appear. */
const SECRET_NAMES = /^(privateKey|password|stdin|activationCode|code|ActivationCode|secret.*|.*Secret)$/i;
/** Pulumi's marker for a secret value in serialized properties. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** `value` with every secret replaced by "[secret]". */
export function redact(value: unknown, key = ""): unknown {
    if (value === undefined || value === null) return value;
    if (SECRET_NAMES.test(key)) return "[secret]";
    if (Array.isArray(value)) return value.map((item) => redact(item));
    if (typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) return "[secret]";
        // pulumi.Output and other class instances: never walk into them.
        if (Object.getPrototypeOf(record) !== Object.prototype) return `[${record.constructor?.name ?? "object"}]`;
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redact(v, k)]));
    }
    return value;
}

/** The logical name in a URN (`urn:pulumi:stack::project::type::name`). */
export function nameOfUrn(urn: string | undefined): string {
    if (!urn) return "";
    const parts = urn.split("::");
    return parts[parts.length - 1] ?? "";
}

/** Appends one record; synchronous so that the order of lines is the order of calls. */
export function logCall(record: Omit<CallRecord, "time" | "inputs"> & { inputs: unknown }): void {
    const file = process.env.E2E_CALL_LOG;
    if (!file) return;
    const line = JSON.stringify({ time: Date.now(), ...record, inputs: redact(record.inputs) });
    fs.appendFileSync(file, `${line}\n`);
}

/** Reads a call log written by `logCall`. */
export function readCallLog(file: string): CallRecord[] {
    if (!fs.existsSync(file)) return [];
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as CallRecord);
}
