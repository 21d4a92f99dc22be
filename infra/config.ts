/**
 * Reading and checking stack settings, the same for both kinds of stack: the raw reader, values
 * parsed as `pulumi config set` stores them, and the checks that stop a run before any resource
 * is created with a message naming the key in backticks, the value, and the fix. Each program's
 * own settings are read in its folder (`region/config.ts`, `anywhere/config.ts`).
 */

import * as pulumi from "@pulumi/pulumi";

/** The namespace of the project's own settings. */
const NAMESPACE = "ecs-anywhere";

/** `ecs-anywhere:<name>`. */
export function configKey(name: string): string {
    return `${NAMESPACE}:${name}`;
}

/** Reads a raw config value by full key (`ecs-anywhere:cpu`, `aws:region`); tests pass their own. */
export type ConfigReader = (fullKey: string) => string | undefined;

/** Raw values from the stack's config (secrets decrypted: callers must not print them). */
export const pulumiConfigReader: ConfigReader = (fullKey) => pulumi.runtime.getConfig(fullKey);

/** Parses a config value the way `pulumi config set` stores it (strings; numbers and booleans as text). */
export function parseValue(raw: string | undefined): unknown {
    if (raw === undefined) return undefined;
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

/**
 * An error the user fixes (a setting, a missing stack): a `RunError`, so `pulumi up` shows just the
 * message, and with no stack frames at all. Pulumi never shows a RunError's stack, yet its Node.js
 * SDK still formats the error with `util.inspect` on the way out; on Node 20 and 22 that loops
 * until the string outgrows the heap (about 25 s with this program's modules loaded) on the
 * frames ts-node maps into `node_modules/@pulumi/<file>.ts` (every @pulumi package's source maps
 * point one folder up). Without frames the error is reported at once.
 */
export class UserError extends pulumi.RunError {
    override readonly name: string = "UserError";
    constructor(message: string) {
        super(message);
        this.stack = `${new.target.name}: ${message}`;
    }
}

/**
 * A bad stack setting. `key` is the full config key, e.g. `ecs-anywhere:hosts`. The message names
 * the key, the value and the fix.
 */
export class ConfigError extends UserError {
    override readonly name: string = "ConfigError";
    constructor(
        readonly key: string,
        readonly value: unknown,
        fix: string,
    ) {
        super(`\`${key}\` is ${describe(value)}: ${fix}`);
    }
}

/** A short, safe rendering of a bad value for an error message (secrets must not be passed here). */
export function describe(value: unknown): string {
    if (value === undefined) return "not set";
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** true or false (`fallback` when unset), else a `ConfigError` for `key`. */
export function flag(key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw new ConfigError(key, value, "set it to true or false");
    return value;
}

/** A whole number within [min, max], else a `ConfigError` for `key`. */
export function wholeNumber(key: string, value: unknown, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new ConfigError(key, value, `set it to a whole number from ${min} to ${max}`);
    }
    return value;
}

/** One of `choices`, else a `ConfigError` for `key`. */
export function oneOf<T extends string>(key: string, value: unknown, choices: readonly T[]): T {
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
        throw new ConfigError(key, value, `set it to one of ${choices.join(", ")}`);
    }
    return value as T;
}

/** A string matching `pattern`, else a `ConfigError` for `key` whose fix is `expected`. */
export function matching(key: string, value: unknown, pattern: RegExp, expected: string): string {
    if (typeof value !== "string" || !pattern.test(value)) {
        throw new ConfigError(key, value, `expected ${expected}`);
    }
    return value;
}

/** AWS region names such as `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
