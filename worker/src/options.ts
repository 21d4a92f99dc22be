/**
 * The worker's settings: one interface, each field with its default, and the one parser that
 * turns the process environment into it. The infrastructure imports this parser to prove that
 * the environment it puts in a task definition is one the worker accepts.
 */
import * as path from "node:path";

/** How file names appear in log lines (logs leave the site, file names can be personal data). */
export type LogFileNames = "plain" | "hash" | "off";

export interface WorkerOptions {
    /** Queue to read (`SQS_QUEUE_URL`). Required. */
    readonly queueUrl: string;
    /** Region of the queue (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else read from the queue URL). */
    readonly region: string;
    /** Folder the named files are taken from (`SOURCE_DIR`, alias `EFS_SOURCE_FOLDER`). Default `/data/sourcefolder`. */
    readonly sourceDir: string;
    /** Folder they are moved to (`DESTINATION_DIR`, alias `EFS_DESTINATION_FOLDER`). Default `/data/destinationfolder`. */
    readonly destinationDir: string;
    /** Appended to each moved file's name (`PROCESSED_SUFFIX`). Default `_has_been_processed`. */
    readonly processedSuffix: string;
    /** `plain`, `hash` or `off` (`LOG_FILE_NAMES`). Default `plain`. */
    readonly logFileNames: LogFileNames;
    /** Key for hashed file names (`LOG_HASH_KEY`). Default: a random key per process. */
    readonly logHashKey?: string;
    /** Receive loops run at once (`RECEIVE_LOOPS`, 1–64). */
    readonly receiveLoops: number;
    /** Messages asked for per receive (`RECEIVE_BATCH_SIZE`, 1–10). Default 10. */
    readonly batchSize: number;
    /** Long-poll wait per receive in seconds (`RECEIVE_WAIT_SECONDS`, 0–20). Default 20. */
    readonly waitTimeSeconds: number;
    /** Visibility timeout asked for per receive, and extended by while a move runs
     *  (`VISIBILITY_TIMEOUT_SECONDS`, 1–43200). Default 60; the queue is created with the same value. */
    readonly visibilityTimeoutSeconds: number;
    /** Create a missing source or destination folder at start, and only inside a parent folder that
     *  exists (`CREATE_FOLDERS`, `true` or `false`). Default false: on a host a missing folder means
     *  an unmounted disk or a typo, and folders made there would be on the wrong disk. The region
     *  stack's task turns it on: a fresh EFS access point has neither folder. */
    readonly createFolders: boolean;
}

/** Defaults, in one place; the infrastructure reads these too (queue visibility, task environment). */
export const DEFAULTS = {
    sourceDir: "/data/sourcefolder",
    destinationDir: "/data/destinationfolder",
    processedSuffix: "_has_been_processed",
    logFileNames: "plain" as LogFileNames,
    // 16 loops keep a 50 ms link to the region busy (see docs/performance.md); on an empty queue only one polls.
    receiveLoops: 16,
    batchSize: 10,
    waitTimeSeconds: 20,
    visibilityTimeoutSeconds: 60,
    createFolders: false,
} as const;

/**
 * Node flags the worker runs with (image entrypoint, `npm run worker`, the benchmark and the chaos
 * run; a test keeps them equal): a small young generation and a capped heap; no optimizing
 * compiler (`--max-opt=1`: interpreter and baseline code only), whose own code, compile-time
 * memory and optimized code were 9 to 11 MB of the worker's peak RSS (with the AWS SDK's SQS client
 * it costs no measurable speed: docs/performance.md); stack traces that name the TypeScript lines.
 */
export const WORKER_NODE_FLAGS = ["--max-semi-space-size=2", "--max-old-space-size=48", "--max-opt=1", "--enable-source-maps"] as const;

/**
 * The worker's settings, the variables it reads (AWS_ENDPOINT_URL_SQS only to check it: the SDK
 * reads it itself, and all of AWS's own settings for credentials, endpoints and retries).
 */
export const ENVIRONMENT_VARIABLES = [
    "SQS_QUEUE_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_SQS",
    "SOURCE_DIR",
    "DESTINATION_DIR",
    "EFS_SOURCE_FOLDER",
    "EFS_DESTINATION_FOLDER",
    "PROCESSED_SUFFIX",
    "LOG_FILE_NAMES",
    "LOG_HASH_KEY",
    "RECEIVE_LOOPS",
    "RECEIVE_BATCH_SIZE",
    "RECEIVE_WAIT_SECONDS",
    "VISIBILITY_TIMEOUT_SECONDS",
    "CREATE_FOLDERS",
] as const;

/** A bad or missing setting; `variable` names the environment variable at fault. */
export class WorkerConfigError extends Error {
    override readonly name = "WorkerConfigError";
    constructor(
        readonly variable: string,
        message: string,
    ) {
        super(`${variable}: ${message}`);
    }
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The first of `name` and `alias` set to something other than blanks, trimmed, with the variable it came from. */
export function setting(env: Environment, name: string, alias?: string): { name: string; value: string } | undefined {
    for (const key of alias === undefined ? [name] : [name, alias]) {
        const value = env[key]?.trim();
        if (value !== undefined && value !== "") return { name: key, value };
    }
    return undefined;
}

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
    const raw = setting(env, name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw.value) || Number(raw.value) < min || Number(raw.value) > max) {
        throw new WorkerConfigError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw.value)}`);
    }
    return Number(raw.value);
}

function folder(env: Environment, name: string, alias: string, fallback: string): string {
    const raw = setting(env, name, alias);
    if (raw === undefined) return fallback;
    if (!path.isAbsolute(raw.value) || raw.value.includes("\0")) {
        throw new WorkerConfigError(raw.name, `expected an absolute folder path such as ${fallback}, got ${JSON.stringify(raw.value)}`);
    }
    return path.resolve(raw.value);
}

function flag(env: Environment, name: string, fallback: boolean): boolean {
    const raw = setting(env, name);
    if (raw === undefined) return fallback;
    if (raw.value !== "true" && raw.value !== "false") throw new WorkerConfigError(name, `expected true or false, got ${JSON.stringify(raw.value)}`);
    return raw.value === "true";
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The region in a queue URL such as `https://sqs.eu-west-1.amazonaws.com/123456789012/q`. */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
    const match = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(queueUrl);
    return match?.[1];
}

/** Reads and checks the worker's settings; throws `WorkerConfigError` naming the variable and the fix. */
export function parseWorkerEnvironment(env: Environment = process.env): WorkerOptions {
    const queue = setting(env, "SQS_QUEUE_URL");
    if (queue === undefined) {
        throw new WorkerConfigError("SQS_QUEUE_URL", "required: set it to the queue's URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/ecs-anywhere-queue");
    }
    // Not `new URL()`: emulators hand out URLs such as http://sqs.us-east-1.127.0.0.1:4566/... that WHATWG rejects.
    if (!/^https?:\/\/[^/\s]+\/[^/\s]+\/[^/\s]+$/.test(queue.value)) {
        throw new WorkerConfigError("SQS_QUEUE_URL", `expected http(s)://host/<account>/<queue-name>, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/queue, got ${JSON.stringify(queue.value)}`);
    }

    // The SDK reads these itself; a value it would misread is refused here, naming it.
    for (const name of ["AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"]) {
        const value = setting(env, name)?.value;
        if (value !== undefined && !/^https?:\/\/[^/\s]+/.test(value)) {
            throw new WorkerConfigError(name, `expected an http(s) URL such as https://sqs.eu-west-1.amazonaws.com or http://127.0.0.1:4566, got ${JSON.stringify(value)}`);
        }
    }

    const regionSetting = setting(env, "AWS_REGION", "AWS_DEFAULT_REGION");
    const region = regionSetting?.value ?? regionFromQueueUrl(queue.value);
    if (region === undefined) {
        throw new WorkerConfigError("AWS_REGION", "required when the queue URL does not name a region: set it to the queue's region, e.g. eu-west-1");
    }
    if (!REGION.test(region)) {
        throw new WorkerConfigError(regionSetting?.name ?? "AWS_REGION", `expected a region name such as eu-west-1, got ${JSON.stringify(region)}`);
    }

    const sourceDir = folder(env, "SOURCE_DIR", "EFS_SOURCE_FOLDER", DEFAULTS.sourceDir);
    const destinationDir = folder(env, "DESTINATION_DIR", "EFS_DESTINATION_FOLDER", DEFAULTS.destinationDir);
    if (sourceDir === destinationDir) {
        throw new WorkerConfigError("DESTINATION_DIR", `must differ from SOURCE_DIR (both are ${sourceDir})`);
    }

    const suffix = env.PROCESSED_SUFFIX ?? DEFAULTS.processedSuffix;
    if (suffix === "" || suffix.includes("/") || suffix.includes("\0") || Buffer.byteLength(suffix) > 64) {
        throw new WorkerConfigError("PROCESSED_SUFFIX", `expected 1 to 64 bytes with no "/", got ${JSON.stringify(suffix)}`);
    }

    const logSetting = setting(env, "LOG_FILE_NAMES");
    const logFileNames = (logSetting?.value ?? DEFAULTS.logFileNames) as LogFileNames;
    if (!["plain", "hash", "off"].includes(logFileNames)) {
        throw new WorkerConfigError("LOG_FILE_NAMES", `expected plain, hash or off, got ${JSON.stringify(logSetting?.value)}`);
    }
    const logHashKey = setting(env, "LOG_HASH_KEY")?.value;

    return {
        queueUrl: queue.value,
        region,
        sourceDir,
        destinationDir,
        processedSuffix: suffix,
        logFileNames,
        ...(logHashKey === undefined ? {} : { logHashKey }),
        receiveLoops: integer(env, "RECEIVE_LOOPS", DEFAULTS.receiveLoops, 1, 64),
        batchSize: integer(env, "RECEIVE_BATCH_SIZE", DEFAULTS.batchSize, 1, 10),
        waitTimeSeconds: integer(env, "RECEIVE_WAIT_SECONDS", DEFAULTS.waitTimeSeconds, 0, 20),
        visibilityTimeoutSeconds: integer(env, "VISIBILITY_TIMEOUT_SECONDS", DEFAULTS.visibilityTimeoutSeconds, 1, 43200),
        createFolders: flag(env, "CREATE_FOLDERS", DEFAULTS.createFolders),
    };
}
