/**
 * Test and demo plumbing: an SQS emulator in this process (fauxqs, loopback only), a queue with a
 * dead-letter queue, temporary data folders, and an SQS client pointed at the emulator.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const TEST_REGION = "us-east-1";
export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

import type { FauxqsServer } from "fauxqs" with { "resolution-mode": "import" };

type Fauxqs = FauxqsServer;

export interface Emulator {
    readonly server: Fauxqs;
    readonly port: number;
    readonly endpoint: string;
    stop(): Promise<void>;
}

export async function startEmulator(): Promise<Emulator> {
    const { startFauxqs } = await import("fauxqs");
    const server = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false, defaultRegion: TEST_REGION });
    return { server, port: server.port, endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

export interface TestQueue {
    readonly name: string;
    readonly url: string;
    readonly deadLetterName: string;
    readonly deadLetterUrl: string;
}

let queueCounter = 0;

/** A main queue whose messages go to a dead-letter queue after `maxReceiveCount` receives. */
export function createQueuePair(emulator: Emulator, options: { maxReceiveCount?: number; visibilityTimeout?: number } = {}): TestQueue {
    const name = `files-${process.pid}-${++queueCounter}`;
    const dead = emulator.server.createQueue(`${name}-dlq`, { region: TEST_REGION });
    const main = emulator.server.createQueue(name, {
        region: TEST_REGION,
        attributes: {
            VisibilityTimeout: String(options.visibilityTimeout ?? 30),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dead.queueArn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
        },
    });
    return { name, url: main.queueUrl, deadLetterName: `${name}-dlq`, deadLetterUrl: dead.queueUrl };
}

export function sqsClient(endpoint: string): SQSClient {
    return new SQSClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS, requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } } });
}

export interface DataFolders {
    readonly root: string;
    readonly source: string;
    readonly destination: string;
    /** A folder beside the data folders that nothing may touch. */
    readonly outside: string;
    remove(): void;
}

export function makeDataFolders(prefix = "ecs-anywhere-test-"): DataFolders {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const source = path.join(root, "sourcefolder");
    const destination = path.join(root, "destinationfolder");
    const outside = path.join(root, "outside");
    for (const dir of [source, destination, outside]) fs.mkdirSync(dir);
    return { root, source, destination, outside, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Messages of `queue` by state, without receiving them. */
export function queueState(emulator: Emulator, name: string): { ready: string[]; inflight: string[]; delayed: string[] } {
    const state = emulator.server.inspectQueue(name);
    if (state === undefined) throw new Error(`no queue ${name}`);
    return {
        ready: state.messages.ready.map((m) => m.body),
        inflight: state.messages.inflight.map((m) => m.message.body),
        delayed: state.messages.delayed.map((m) => m.body),
    };
}

/** Waits until `condition()` holds, polling every 20 ms, or fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (!(await condition())) {
        if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

/** Every file below `dir` with its content, for "nothing outside was touched" checks. */
export function snapshot(dir: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
        const full = path.join(entry.parentPath, entry.name);
        const stats = fs.lstatSync(full);
        result[path.relative(dir, full)] = stats.isFile() ? fs.readFileSync(full, "utf8") : stats.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : "<dir>";
    }
    return result;
}

/** The environment a worker child process (or a comparison worker) gets: the emulator, dummy credentials, the folders. */
export function workerProcessEnv(endpoint: string, queueUrl: string, folders: { source: string; destination: string }, extra: Record<string, string> = {}): Record<string, string> {
    return {
        PATH: process.env.PATH ?? "",
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_REGION: TEST_REGION,
        AWS_ENDPOINT_URL_SQS: endpoint,
        SQS_QUEUE_URL: queueUrl,
        SOURCE_DIR: folders.source,
        DESTINATION_DIR: folders.destination,
        ...extra,
    };
}

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** The compiled worker and health check, as the image runs them. */
export const WORKER_MAIN = path.join(ROOT, "worker", "dist", "main.js");
export const WORKER_HEALTH = path.join(ROOT, "worker", "dist", "health.js");

let built = false;
/** Compiles worker/src to worker/dist, once per test process. */
export function buildWorker(): void {
    if (built) return;
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(ROOT, "worker", "tsconfig.build.json")], { stdio: "inherit" });
    built = true;
}

export interface WorkerProcessExit {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
}

export interface WorkerProcess {
    readonly child: ChildProcess;
    readonly exited: Promise<WorkerProcessExit>;
    /** stdout and stderr so far. */
    output(): string;
}

/**
 * Starts `script` (default the worker) as a child process with `env` (plus PATH and the dummy
 * credentials); `uid` runs it as that user (and group), `prefix` runs it under a wrapper command.
 */
export function startWorkerProcess(env: Record<string, string>, options: { script?: string; uid?: number; prefix?: string[] } = {}): WorkerProcess {
    const node = [process.execPath, "--no-deprecation", "--no-warnings", options.script ?? WORKER_MAIN];
    const [command, ...args] = [...(options.prefix ?? []), ...node];
    const child = spawn(command, args, {
        env: { PATH: process.env.PATH ?? "", AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, ...env },
        stdio: ["ignore", "pipe", "pipe"],
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<WorkerProcessExit>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout })));
    return { child, exited, output: () => stdout };
}

/** The JSON lines a worker printed, parsed (other lines skipped). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
    return text
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
}
