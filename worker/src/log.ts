/**
 * One JSON line per event on stdout. File names can be personal data and these lines leave the
 * site (CloudWatch in the region), so they pass through `fileName()`: plain, a keyed hash, or off.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { LogFileNames } from "./options";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

export class Logger {
    private readonly hashKey: Buffer;

    constructor(
        private readonly mode: LogFileNames,
        hashKey: string | undefined,
        private readonly sink: LogSink = (line) => process.stdout.write(line),
    ) {
        this.hashKey = hashKey === undefined ? randomBytes(32) : Buffer.from(hashKey, "utf8");
    }

    /** The form a file name (or an invalid body) takes in a log line, or undefined to omit it. */
    fileName(name: string): string | undefined {
        switch (this.mode) {
            case "plain":
                return name.length > 300 ? `${name.slice(0, 300)}…` : name;
            case "hash":
                return `hmac-sha256:${createHmac("sha256", this.hashKey).update(name).digest("hex").slice(0, 16)}`;
            case "off":
                return undefined;
        }
    }

    log(level: LogLevel, event: string, fields: LogFields = {}): void {
        this.sink(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
    }

    info(event: string, fields?: LogFields): void {
        this.log("info", event, fields);
    }

    warn(event: string, fields?: LogFields): void {
        this.log("warn", event, fields);
    }

    error(event: string, fields?: LogFields): void {
        this.log("error", event, fields);
    }
}
