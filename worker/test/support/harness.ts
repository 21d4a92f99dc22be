/**
 * Test and demo plumbing: an SQS emulator in this process (fauxqs, loopback only), a queue with a
 * dead-letter queue, temporary data folders, and SQS clients (the worker's and a plain one) pointed
 * at the emulator.
 */
import { DeleteMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULTS } from "../../src/options";
import { PARTIAL_FOLDER, RECEIPT_FOLDER, STAGING_FOLDER } from "../../src/mover";
import { createSqsClient, type SqsClientOverrides, type SqsSender } from "../../src/sqs";

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

/** A plain SDK client, for what tests do beside the worker (sending messages). */
export function sqsClient(endpoint: string): SQSClient {
    return new SQSClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS, requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } } });
}

/** The worker's client (worker/src/sqs.ts, the defaults' settings) on `endpoint`, with the dummy credentials. */
export function workerSqs(endpoint: string, overrides: SqsClientOverrides = {}): SQSClient {
    return createSqsClient({ region: TEST_REGION, receiveLoops: DEFAULTS.receiveLoops, waitTimeSeconds: DEFAULTS.waitTimeSeconds }, { endpoint, credentials: TEST_CREDENTIALS, ...overrides });
}

/**
 * The worker's client on `endpoint`, whose DeleteMessageBatch calls fail (a connection refused)
 * while `failing` is true: a moved file's message comes back, as after a lost delete.
 */
export function losingDeletes(endpoint: string): { readonly sqs: SqsSender; failing: boolean } {
    const real = workerSqs(endpoint);
    const control = {
        failing: false,
        sqs: {
            send: ((command: unknown, options?: unknown) => {
                if (command instanceof DeleteMessageBatchCommand && control.failing) return Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }));
                return (real.send as (...args: unknown[]) => Promise<unknown>)(command, options);
            }) as SqsSender["send"],
        },
    };
    return control;
}

/**
 * AWS settings every worker process of the tests and benchmarks gets: no shared config or
 * credentials file of whoever runs them, and no instance metadata (169.254.169.254 is no loopback).
 */
export const HERMETIC_AWS_ENV = {
    AWS_CONFIG_FILE: "/nonexistent/ecs-anywhere-test/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/ecs-anywhere-test/credentials",
    AWS_EC2_METADATA_DISABLED: "true",
} as const;

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

/** Message bodies that are no plain file name: the worker must touch nothing for them and delete none. */
export const HOSTILE_BODIES: readonly string[] = ["..", "../x", "/etc/passwd", "a/b", "", "   ", "x".repeat(256), "../outside/secret", "../passwd", "."];

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

/** The folders the worker keeps for itself inside the data folders (mover.ts): partial copies, receipts, staging. */
export const WORKER_OWN_FOLDERS: readonly string[] = [PARTIAL_FOLDER, RECEIPT_FOLDER, STAGING_FOLDER];

/** The entries of a data folder, without the worker's own folders. */
export function dataEntries(dir: string): string[] {
    return fs.readdirSync(dir).filter((name) => !WORKER_OWN_FOLDERS.includes(name));
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
        ...HERMETIC_AWS_ENV,
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

/** The folder Node loads package `name` from when it is required in `from`, or undefined. */
function findPackage(name: string, from: string): string | undefined {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const folder = path.join(dir, "node_modules", name);
        if (fs.existsSync(path.join(folder, "package.json"))) return folder;
        if (dir === ROOT || dir === path.dirname(dir)) return undefined;
    }
}

/** The folders of the packages the worker needs at run time: its dependencies and theirs. */
function productionPackages(): string[] {
    type Manifest = { dependencies?: object; optionalDependencies?: object; peerDependencies?: object };
    const found = new Set<string>();
    const pending: Array<{ from: string; name: string; optional: boolean }> = [];
    const want = (from: string) => {
        const manifest = JSON.parse(fs.readFileSync(path.join(from, "package.json"), "utf8")) as Manifest;
        for (const name of Object.keys(manifest.dependencies ?? {})) pending.push({ from, name, optional: false });
        for (const name of Object.keys({ ...manifest.optionalDependencies, ...manifest.peerDependencies })) pending.push({ from, name, optional: true });
    };
    want(path.join(ROOT, "worker"));
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        const folder = findPackage(next.name, next.from);
        if (folder === undefined && next.optional) continue;
        if (folder === undefined) throw new Error(`${next.name}, needed by ${path.relative(ROOT, next.from)}, is not installed: run \`npm ci\``);
        if (found.has(folder)) continue;
        found.add(folder);
        want(folder);
    }
    return [...found];
}

let staged: string | undefined;
/**
 * A copy of the compiled worker and the packages it needs, at the same paths relative to the copy
 * as to the checkout, in a new folder every user may enter. A process run as another uid (the
 * image's 10001) cannot load them from a checkout inside a private folder (`mktemp -d` and many
 * home folders are mode 0700). Made once per test process, removed when it exits.
 */
export function stagedWorker(): string {
    if (staged !== undefined) return staged;
    buildWorker();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-worker-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.cpSync(path.join(ROOT, "worker", "dist"), path.join(dir, "worker", "dist"), { recursive: true });
    fs.copyFileSync(path.join(ROOT, "worker", "package.json"), path.join(dir, "worker", "package.json"));
    // A package's own node_modules holds only what it needs: those come as packages in their own right.
    for (const folder of productionPackages()) fs.cpSync(folder, path.join(dir, path.relative(ROOT, folder)), { recursive: true, filter: (from) => from === folder || path.basename(from) !== "node_modules" });
    fs.chmodSync(dir, 0o755); // mkdtemp makes it 0700; what is inside keeps the checkout's modes
    staged = dir;
    return dir;
}

/** access(2) as `uid`: whether it may run (or pass through) `file`, every folder on the way included. */
function uidReaches(uid: number, file: string): boolean {
    return spawnSync("test", ["-x", file], { uid, gid: uid, cwd: "/" }).status === 0;
}

/**
 * The node a process run as `uid` starts: this one where that uid reaches it, else a copy of it
 * beside the staged worker (Node.js from .cache/node in a private checkout, nvm in a private home).
 */
function nodeFor(uid: number): string {
    if (uidReaches(uid, process.execPath)) return process.execPath;
    const copy = path.join(stagedWorker(), "bin", "node");
    if (!fs.existsSync(copy)) {
        fs.mkdirSync(path.dirname(copy), { recursive: true });
        fs.copyFileSync(process.execPath, copy);
        fs.chmodSync(copy, 0o755);
    }
    return copy;
}

/** Whether this process may give a child a private mount namespace where it remounts a folder (root only). */
export function mountNamespacesWork(): boolean {
    if (process.getuid?.() !== 0) return false;
    const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", 'd=$(mktemp -d) && mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" && ! touch "$d/x" 2>/dev/null; s=$?; umount "$d"; rmdir "$d"; exit $s'], { encoding: "utf8" });
    return probe.status === 0;
}

/**
 * A prefix for `startWorkerProcess` that gives the worker its own mount namespace with `folder`
 * bind-mounted onto itself: another mount, so that links to and from it fail with EXDEV.
 */
export function ownMountOf(folder: string): string[] {
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$1" && shift && exec "$@"', "sh", folder];
}

/** Why a process run as `uid` cannot start node on the staged worker here, or undefined if it can. */
export function uidCannotRunWorker(uid: number): string | undefined {
    const temporary = os.tmpdir();
    if (!uidReaches(uid, temporary)) return `uid ${uid} cannot reach the temporary folder at ${temporary} (a folder on the way is closed to other users): set TMPDIR to a folder every user may enter, e.g. /tmp`;
    const node = nodeFor(uid);
    return uidReaches(uid, node) ? undefined : `uid ${uid} cannot run node at ${node}: set TMPDIR to a folder every user may enter, e.g. /tmp`;
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
 * credentials); `uid` runs it as that user (and group), from the staged copy (`stagedWorker`),
 * `prefix` runs it under a wrapper command (as root, then `setpriv` to `uid` if both are given).
 */
export function startWorkerProcess(env: Record<string, string>, options: { script?: string; uid?: number; prefix?: string[] } = {}): WorkerProcess {
    const script = options.script ?? WORKER_MAIN;
    const asUser = options.uid === undefined ? undefined : { uid: options.uid, gid: options.uid, cwd: stagedWorker() };
    const file = asUser === undefined ? script : path.join(asUser.cwd, path.relative(ROOT, script));
    if (!fs.existsSync(file)) throw new Error(`no ${file}: only the compiled worker (worker/dist) is staged for another uid`);
    const node = [options.uid === undefined ? process.execPath : nodeFor(options.uid), "--no-deprecation", "--no-warnings", file];
    // A prefix that needs root (a mount namespace) runs as root, and the user is switched just before node.
    const switchUser = asUser !== undefined && options.prefix !== undefined ? ["setpriv", `--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, "--clear-groups"] : [];
    const [command, ...args] = [...(options.prefix ?? []), ...switchUser, ...node];
    const child = spawn(command, args, {
        // SQS on a closed loopback port unless the test names its endpoint: no worker of the tests reaches AWS.
        env: { PATH: process.env.PATH ?? "", ...HERMETIC_AWS_ENV, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9", ...env },
        stdio: ["ignore", "pipe", "pipe"],
        ...(switchUser.length > 0 ? { cwd: asUser?.cwd } : asUser),
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
