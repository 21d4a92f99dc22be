/**
 * One JSON line per event on stdout. File names can be personal data and these lines leave the
 * site (CloudWatch in the region), so they pass through `fileName()`: plain, a keyed hash, or off.
 */
import { createHmac, randomBytes } from "node:crypto";
import { writeSync } from "node:fs";
import type { LogFileNames } from "./options";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

/**
 * Writes lines to stdout in one write per turn of the event loop (a batch of ten moves is ten
 * lines), and whatever is pending when the process exits.
 */
export function bufferedStdout(): LogSink {
    let pending: string[] = [];
    const flush = () => {
        if (pending.length === 0) return;
        const text = pending.join("");
        pending = [];
        try {
            writeSync(1, text);
        } catch (error) {
            // A full non-blocking pipe: let Node queue it. Anything else (EPIPE): logs are best effort, the work is not.
            if ((error as NodeJS.ErrnoException).code === "EAGAIN") process.stdout.write(text);
        }
    };
    process.on("exit", flush);
    return (line) => {
        if (pending.push(line) === 1) setImmediate(flush);
    };
}

let sharedStdout: LogSink | undefined;

export class Logger {
    private readonly hashKey: Buffer;
    private readonly sink: LogSink;

    constructor(
        private readonly mode: LogFileNames,
        hashKey: string | undefined,
        sink?: LogSink,
    ) {
        this.sink = sink ?? (sharedStdout ??= bufferedStdout());
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
