/**
 * One JSON line per event on stdout. File names can be personal data and these lines leave the
 * site (CloudWatch in the region), so names and paths pass through the logger: plain, a keyed
 * hash, or off (`LOG_FILE_NAMES`). Under `hash` and `off` no line carries a file name or a path,
 * not even on an error: errors keep their errno code and system call, with their paths shown the
 * same way; the data folders are named by the variable that sets them (`$SOURCE_DIR`).
 */
import { createHmac, randomBytes } from "node:crypto";
import { writeSync } from "node:fs";
import * as path from "node:path";
import { getSystemErrorMessage } from "node:util";
import { errorMessage, MoveError } from "./errors";
import { PROBE_LINK_NAME, PROBE_NAME, type FolderProblem } from "./folders";
import { PARTIAL_FOLDER, RECEIPT_FOLDER, STAGING_FOLDER } from "./mover";
import type { Environment, LogFileNames, WorkerConfigError } from "./options";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;
/** The data folders by the variable that sets each: how a path in one is shown when names are hidden. */
export type LogFolders = Readonly<Partial<Record<"SOURCE_DIR" | "DESTINATION_DIR", string>>>;

/** Names the worker gives its own entries in the data folders: not data, so shown as they are. */
const OWN_NAMES: ReadonlySet<string> = new Set([PARTIAL_FOLDER, RECEIPT_FOLDER, STAGING_FOLDER, PROBE_NAME, PROBE_LINK_NAME]);

/** The variables that name a folder (and their aliases): their values are withheld from error lines unless names are plain. */
const FOLDER_VARIABLES = ["SOURCE_DIR", "DESTINATION_DIR", "EFS_SOURCE_FOLDER", "EFS_DESTINATION_FOLDER"] as const;

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

/** A sink that writes each line at once (the entry point's last line before it exits, the health check's one line). */
export const stdoutNow: LogSink = (line) => void writeSync(1, line);

let sharedStdout: LogSink | undefined;

export class Logger {
    private readonly hashKey: Buffer;
    private readonly sink: LogSink;
    /** The folders, longest first, so that a folder inside another is matched first. */
    private readonly folders: ReadonlyArray<readonly [string, string]>;

    constructor(
        private readonly mode: LogFileNames,
        hashKey: string | undefined,
        sink?: LogSink,
        folders: LogFolders = {},
    ) {
        this.sink = sink ?? (sharedStdout ??= bufferedStdout());
        this.hashKey = hashKey === undefined ? randomBytes(32) : Buffer.from(hashKey, "utf8");
        this.folders = Object.entries(folders)
            .filter((entry): entry is [string, string] => entry[1] !== undefined)
            .map(([variable, folder]) => [variable, path.resolve(folder)] as const)
            .sort((a, b) => b[1].length - a[1].length);
    }

    /** The form a file name (or an invalid body) takes in a log line, or undefined to omit it. */
    fileName(name: string): string | undefined {
        switch (this.mode) {
            case "plain":
                return name.length > 300 ? `${name.slice(0, 300)}…` : name;
            case "hash":
                return this.hash(name);
            case "off":
                return undefined;
        }
    }

    /**
     * The form a path takes: itself when names are plain; else a data folder as `$SOURCE_DIR`, a
     * path in it as `$SOURCE_DIR/<hash of the rest>` (`hash`) or `$SOURCE_DIR/…` (`off`), one of
     * the worker's own folders in it by its name (`$DESTINATION_DIR/.ecs-anywhere-moved/…`), and
     * any other path hashed whole (`hash`) or omitted (`off`).
     */
    path(file: string): string | undefined {
        if (this.mode === "plain") return file;
        for (const [variable, folder] of this.folders) {
            if (file === folder) return `$${variable}`;
            if (!file.startsWith(folder + path.sep)) continue;
            const rest = file.slice(folder.length + 1);
            const [first] = rest.split(path.sep, 1);
            const own = OWN_NAMES.has(first) ? `${first}/` : "";
            const hidden = rest.slice(own.length);
            if (own !== "" && hidden === "") return `$${variable}/${first}`;
            return `$${variable}/${own}${this.mode === "hash" ? this.hash(hidden) : "…"}`;
        }
        return this.mode === "hash" ? this.hash(file) : undefined;
    }

    /**
     * An error as log fields: for a system error its errno code, system call and the system's own
     * words, with its paths through `path()`; for a failed move the step first; for anything else
     * its name and message (without what a JSON parser quotes), cut where a data folder's path begins
     * unless names are plain.
     */
    describe(error: unknown): LogFields {
        if (error instanceof MoveError) return { step: error.step, ...this.describe(error.cause) };
        if (!(error instanceof Error)) return { message: this.text(String(error)) };
        const { code, syscall, errno, path: file, dest } = error as NodeJS.ErrnoException & { dest?: unknown };
        const system = typeof syscall === "string" && typeof errno === "number";
        return {
            ...(error.name === "Error" ? {} : { name: error.name }),
            ...(typeof code === "string" ? { code } : {}),
            ...(system ? { syscall } : {}),
            message: system ? getSystemErrorMessage(errno) : this.text(errorMessage(error)),
            ...(typeof file === "string" ? { path: this.path(file) } : {}),
            ...(typeof dest === "string" ? { dest: this.path(dest) } : {}),
        };
    }

    /** A folder problem as log fields, its folder through `path()` (its fix already names it as names allow). */
    problem(problem: FolderProblem): LogFields {
        return { ...problem, folder: this.path(problem.folder) };
    }

    /** Free text, cut where a data folder's path begins unless names are plain (what follows may be a name). */
    private text(text: string): string {
        if (this.mode === "plain") return text;
        let cut = text;
        for (const [variable, folder] of this.folders) {
            const at = cut.indexOf(folder);
            if (at >= 0) cut = `${cut.slice(0, at)}$${variable}${cut.length > at + folder.length ? "…" : ""}`;
        }
        return cut;
    }

    private hash(text: string): string {
        return `hmac-sha256:${createHmac("sha256", this.hashKey).update(text).digest("hex").slice(0, 16)}`;
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

/**
 * How file names are to be shown, read before the settings parse (a bad setting is reported
 * through it): `plain` only when `LOG_FILE_NAMES` is unset or `plain`; a value that is not valid
 * hides names, as the stricter choice.
 */
export function logModeOf(env: Environment): LogFileNames {
    const value = env.LOG_FILE_NAMES?.trim();
    if (value === undefined || value === "" || value === "plain") return "plain";
    return value === "hash" ? "hash" : "off";
}

/** The message of a bad setting, with the value of a folder setting withheld unless names are plain. */
export function configErrorMessage(error: WorkerConfigError, env: Environment): string {
    if (logModeOf(env) === "plain") return error.message;
    let message = error.message;
    for (const variable of FOLDER_VARIABLES) {
        const value = env[variable]?.trim();
        if (value === undefined || value === "") continue;
        message = message.replaceAll(JSON.stringify(value), "a value withheld from the logs");
        if (path.isAbsolute(value)) message = message.replaceAll(path.resolve(value), `$${variable}`);
    }
    return message;
}
