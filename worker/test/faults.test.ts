/**
 * Faults of the worker's own side: folders missing at start, a folder lost while the worker runs,
 * a destination made read-only. Each against the real emulator and real folders, each checked to
 * cost good messages no dead-lettering. A missing file in a usable folder stays the message's.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { execFileSync } from "node:child_process";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { FolderCheck, FolderError, IMAGE_UID, Logger, PROBE_NAME, Worker, type FileSystem, type SqsSender } from "../src/index";
import { DEFAULTS, type WorkerOptions } from "../src/options";
import {
    buildWorker,
    createQueuePair,
    dataEntries,
    jsonLines,
    makeDataFolders,
    mountNamespacesWork,
    ownMountOf,
    queueState,
    sqsClient,
    stagedWorker,
    startEmulator,
    startWorkerProcess,
    TEST_REGION,
    uidCannotRunWorker,
    waitFor,
    WORKER_HEALTH,
    workerProcessEnv,
    workerSqs,
    type DataFolders,
    type Emulator,
    type TestQueue,
} from "./support/harness";

const SUFFIX = DEFAULTS.processedSuffix;
const isRoot = process.getuid?.() === 0;
/** Root ignores folder modes: a worker meant to feel a read-only folder then runs as the image's uid. */
const workerUid = isRoot ? IMAGE_UID : undefined;

/** Compiles the worker, and stages it for `workerUid` before any timed test: copying its packages takes seconds on a busy machine. */
function prepareWorkerProcesses(): void {
    buildWorker();
    if (workerUid !== undefined) stagedWorker();
}

/** Skips `test`, saying why, where the worker cannot run as `workerUid` here. */
function skipUnlessWorkerUidRuns(test: Mocha.Context): void {
    const reason = workerUid === undefined ? undefined : uidCannotRunWorker(workerUid);
    if (reason === undefined) return;
    console.log(`      (skipped: ${reason})`);
    test.skip();
}

function writeFiles(folders: DataFolders, names: readonly string[]): void {
    for (const name of names) fs.writeFileSync(path.join(folders.source, name), `content of ${name}\n`);
}

async function send(sqs: SQSClient, queue: TestQueue, bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }));
    }
}

/** Receive counts of the messages waiting in `queue` (never received: 0). */
function receiveCounts(emulator: Emulator, queue: TestQueue): number[] {
    const state = emulator.server.inspectQueue(queue.name);
    if (state === undefined) throw new Error(`no queue ${queue.name}`);
    return [...state.messages.ready, ...state.messages.delayed, ...state.messages.inflight.map((m) => m.message)].map((m) => m.approximateReceiveCount);
}

describe("folder checks", () => {
    let folders: DataFolders;
    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(() => folders.remove());

    it("create nothing by default: a missing folder is refused, naming it, the setting and the fix", async () => {
        fs.rmdirSync(folders.destination);
        const check = new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination });
        await assert.rejects(check.prepare(), (error: unknown) => {
            assert.ok(error instanceof FolderError);
            assert.equal(error.problems.length, 1);
            const [problem] = error.problems;
            assert.deepEqual([problem.folder, problem.variable, problem.problem, problem.code], [folders.destination, "DESTINATION_DIR", "does not exist", "ENOENT"]);
            assert.match(problem.fix, /mount the data volume/);
            assert.match(problem.fix, /hosts\/bootstrap\/prepare-data\.sh/);
            assert.match(problem.fix, /uid 10001/);
            return true;
        });
        assert.ok(!fs.existsSync(folders.destination), "nothing created");
    });

    it("with createFolders make a missing folder only inside a parent folder that exists", async () => {
        fs.rmdirSync(folders.source);
        const unmounted = path.join(folders.root, "not-mounted");
        const check = new FolderCheck({ sourceDir: folders.source, destinationDir: path.join(unmounted, "destinationfolder"), createFolders: true });
        await assert.rejects(check.prepare(), (error: unknown) => error instanceof FolderError && error.problems.length === 1 && error.problems[0].variable === "DESTINATION_DIR");
        assert.ok(!fs.existsSync(unmounted), "no parent made: the data volume is not there");
        assert.ok(fs.statSync(folders.source).isDirectory(), "the source, whose parent exists, was made");
        const again = new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination, createFolders: true });
        assert.deepEqual(await again.prepare(), [], "nothing to create the second time");
    });

    it("find a file where a folder should be, and a usable folder leaves no probe behind", async () => {
        fs.rmdirSync(folders.source);
        fs.writeFileSync(folders.source, "not a folder\n");
        const problems = await new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination }).check();
        assert.deepEqual(problems.map((p) => [p.variable, p.problem]), [["SOURCE_DIR", "is not a folder"]]);
        assert.deepEqual(fs.readdirSync(folders.destination), [], `no ${PROBE_NAME} left`);
    });

    it("refuse a destination on a file system without hard links (vfat, exFAT): moves link files", async () => {
        const noLinks: FileSystem = { ...fsp, link: () => Promise.reject(Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" })) };
        const problems = await new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination }, noLinks).check();
        assert.deepEqual(
            problems.map((p) => [p.variable, p.problem, p.code]),
            [["DESTINATION_DIR", "is on a file system without hard links, which the worker moves files with", "EPERM"]],
        );
        assert.match(problems[0].fix, /ext4, XFS, NFS or EFS/);
        assert.deepEqual(fs.readdirSync(folders.destination), [], "no probe left");
        assert.deepEqual(await new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination }).check(), [], "links work here");
    });

    it("put a file-system code on the folder of the failing path, and leave other codes to the message", () => {
        const check = new FolderCheck({ sourceDir: folders.source, destinationDir: folders.destination });
        const errno = (code: string, file: string) => Object.assign(new Error(`${code}: x`), { code, path: file });
        assert.equal(check.describeFailure(errno("ENOSPC", path.join(folders.destination, "a" + SUFFIX)))?.variable, "DESTINATION_DIR");
        assert.equal(check.describeFailure(errno("EIO", path.join(folders.source, "a")))?.variable, "SOURCE_DIR");
        assert.equal(check.describeFailure(errno("EMFILE", "/elsewhere"))?.problem, "cannot be used: the worker is out of file handles (EMFILE)");
        assert.equal(check.describeFailure(errno("EINVAL", path.join(folders.source, "a"))), undefined);
        assert.equal(check.describeFailure(new Error("the source changed while it was being copied")), undefined);
    });
});

describe("worker-side faults against the SQS emulator", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let folders: DataFolders;
    const cleanups: Array<() => unknown> = [];

    before(async function () {
        this.timeout(120_000);
        prepareWorkerProcesses();
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator?.stop();
    });
    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
        // A test that failed half-way may have left the destination read-only.
        if (fs.existsSync(folders.destination)) fs.chmodSync(folders.destination, 0o755);
        folders.remove();
    });

    function optionsFor(queue: TestQueue, overrides: Partial<WorkerOptions> = {}): WorkerOptions {
        return { ...DEFAULTS, queueUrl: queue.url, region: TEST_REGION, sourceDir: folders.source, destinationDir: folders.destination, receiveLoops: 2, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1, ...overrides };
    }

    it("folders missing at start: start() refuses before any SQS call and creates nothing", async () => {
        const queue = createQueuePair(emulator);
        await send(sqsClient(emulator.endpoint), queue, ["001", "002"]);
        fs.rmdirSync(folders.source);
        fs.rmdirSync(folders.destination);
        let calls = 0;
        const counting: SqsSender = { send: () => Promise.reject(new Error(`SQS called (${++calls})`)) };
        const worker = new Worker(optionsFor(queue), { sqs: counting, logger: new Logger("plain", "k", () => undefined) });
        await assert.rejects(worker.start(), (error: unknown) => error instanceof FolderError && error.problems.length === 2);
        assert.equal(calls, 0);
        assert.deepEqual(fs.readdirSync(folders.root).sort(), ["outside"], "no folder made");
        assert.deepEqual(receiveCounts(emulator, queue), [0, 0]);
        await worker.stop();
    });

    it("CREATE_FOLDERS on (the region task): makes both folders in an existing parent, says so, and moves", async () => {
        const queue = createQueuePair(emulator);
        fs.rmdirSync(folders.source);
        fs.rmdirSync(folders.destination);
        const logs: string[] = [];
        const worker = new Worker(optionsFor(queue, { createFolders: true }), { sqs: workerSqs(emulator.endpoint), logger: new Logger("plain", "k", (line) => logs.push(line)) });
        cleanups.push(() => worker.stop());
        await worker.start();
        const started = jsonLines(logs.join("")).find((event) => event.event === "started");
        assert.deepEqual(started?.foldersCreated, [folders.source, folders.destination]);
        writeFiles(folders, ["new"]);
        await send(sqsClient(emulator.endpoint), queue, ["new"]);
        await waitFor("the move", () => worker.stats.deleted === 1);
    });

    it("a real missing file in usable folders still reaches the dead-letter queue", async () => {
        const queue = createQueuePair(emulator, { maxReceiveCount: 2 });
        const worker = new Worker(optionsFor(queue), { sqs: workerSqs(emulator.endpoint), logger: new Logger("plain", "k", () => undefined) });
        cleanups.push(() => worker.stop());
        await worker.start();
        await send(sqsClient(emulator.endpoint), queue, ["never-written"]);
        await waitFor("the dead-letter queue", () => queueState(emulator, queue.deadLetterName).ready.includes("never-written"), 15_000);
        assert.deepEqual([worker.stats.faults, worker.stats.returned, worker.stats.deleted], [0, 0, 0]);
        assert.ok(worker.stats.missing >= 2);
    });

    it("folders missing at start: the process exits 3 at once with one JSON line naming the folder, the problem and the fix; every message stays", async () => {
        const queue = createQueuePair(emulator);
        await send(sqsClient(emulator.endpoint), queue, ["001", "002", "003"]);
        const source = path.join(folders.root, "typo", "sourcefolder");
        for (const createFolders of ["false", "true"]) {
            const started = Date.now();
            const exit = await startWorkerProcess(workerProcessEnv(emulator.endpoint, queue.url, { source, destination: folders.destination }, { CREATE_FOLDERS: createFolders })).exited;
            assert.equal(exit.code, 3, exit.stdout);
            assert.ok(Date.now() - started < 10_000, "at once");
            const lines = jsonLines(exit.stdout);
            assert.equal(exit.stdout.trim().split("\n").length, 1, exit.stdout);
            assert.deepEqual([lines[0].level, lines[0].event, lines[0].folder, lines[0].variable, lines[0].problem], ["error", "folders-unusable", source, "SOURCE_DIR", "does not exist"]);
            assert.match(String(lines[0].fix), /prepare-data\.sh.*uid 10001/);
            assert.ok(!fs.existsSync(path.dirname(source)), `CREATE_FOLDERS=${createFolders}: nothing made without the parent`);
        }
        assert.deepEqual(receiveCounts(emulator, queue), [0, 0, 0], "no message received");
        assert.equal(queueState(emulator, queue.name).ready.length, 3);
    });

    /**
     * The worker process runs with 100 messages and files; `breakFolders` makes a folder unusable
     * for twice maxReceiveCount x visibility, then `restore` mends it. No message may be
     * dead-lettered, each may be received at most once during the fault, and every file must be
     * moved exactly once afterwards.
     */
    async function survivesFault(fault: { breakFolders(pid: number): void; restore(pid: number): void; uid?: number; prefix?: string[]; expect: RegExp }): Promise<void> {
        const maxReceiveCount = 3;
        const visibility = 1;
        const queue = createQueuePair(emulator, { maxReceiveCount, visibilityTimeout: visibility });
        const names = Array.from({ length: 100 }, (_, i) => `lost-${String(i).padStart(3, "0")}`);
        writeFiles(folders, names);
        if (fault.uid !== undefined) for (const dir of [folders.root, folders.source, folders.destination, ...names.map((n) => path.join(folders.source, n))]) fs.chownSync(dir, fault.uid, fault.uid);
        const worker = startWorkerProcess(workerProcessEnv(emulator.endpoint, queue.url, folders, { VISIBILITY_TIMEOUT_SECONDS: String(visibility), RECEIVE_WAIT_SECONDS: "1", RECEIVE_LOOPS: "4", ...(fault.uid === undefined ? {} : { HOME: folders.root }) }), {
            ...(fault.uid === undefined ? {} : { uid: fault.uid }),
            ...(fault.prefix === undefined ? {} : { prefix: fault.prefix }),
        });
        cleanups.push(() => worker.child.kill("SIGKILL"));
        await waitFor("the worker to start", () => worker.output().includes('"event":"started"') || worker.child.exitCode !== null);
        assert.match(worker.output(), /"event":"started"/);
        const pid = worker.child.pid ?? 0;

        fault.breakFolders(pid);
        await send(sqsClient(emulator.endpoint), queue, names);
        await new Promise((resolve) => setTimeout(resolve, 2 * maxReceiveCount * visibility * 1000));
        const during = jsonLines(worker.output());
        assert.deepEqual(queueState(emulator, queue.deadLetterName).ready, [], "nothing dead-lettered during the fault");
        assert.equal(fs.readdirSync(folders.destination).filter((n) => n.endsWith(SUFFIX)).length, 0, "nothing moved during the fault");
        const counts = receiveCounts(emulator, queue);
        assert.equal(counts.length, names.length, "every message still on the queue");
        assert.ok(Math.max(...counts) <= 1, `at most one receive per message during the fault (${JSON.stringify(counts)})`);
        const faults = during.filter((event) => event.event === "worker-fault");
        assert.equal(faults.length, 1, `one clear error: ${worker.output().slice(0, 3000)}`);
        assert.equal(faults[0].level, "error");
        assert.match(`${String(faults[0].problem)} ${String(faults[0].code)}`, fault.expect);
        assert.ok(!during.some((event) => event.event === "skipped"), "no message blamed for it");

        fault.restore(pid);
        await waitFor("every file moved and the queue empty", () => {
            const state = queueState(emulator, queue.name);
            return state.ready.length + state.inflight.length === 0 && dataEntries(folders.source).length === 0;
        }, 20_000);
        assert.deepEqual(queueState(emulator, queue.deadLetterName).ready, [], "nothing dead-lettered");
        // A private bind mount makes the destination another mount: moves go by copy, through the partial folder.
        assert.deepEqual(dataEntries(folders.destination).sort(), names.map((n) => n + SUFFIX));
        for (const name of names) assert.equal(fs.readFileSync(path.join(folders.destination, name + SUFFIX), "utf8"), `content of ${name}\n`);
        worker.child.kill("SIGTERM");
        const exit = await worker.exited;
        assert.equal(exit.code, 0);
        // Read once the process is gone: its last lines may trail the files through the pipe.
        const after = jsonLines(exit.stdout);
        assert.equal(after.filter((event) => event.event === "moved").length, names.length, "each file moved once");
        assert.equal(after.filter((event) => event.event === "worker-fault-cleared").length, 1);
    }

    it("the source folder renamed away for longer than maxReceiveCount x visibility, and back: nothing dead-lettered, every file moved once", async () => {
        const away = `${folders.source}.away`;
        await survivesFault({
            breakFolders: () => fs.renameSync(folders.source, away),
            restore: () => fs.renameSync(away, folders.source),
            expect: /does not exist ENOENT/,
        });
    });

    it(`the destination made read-only (mode 0555${isRoot ? ", the worker as uid 10001" : ""}) for as long, and writable again: the same`, async function () {
        skipUnlessWorkerUidRuns(this);
        await survivesFault({
            breakFolders: () => fs.chmodSync(folders.destination, 0o555),
            restore: () => fs.chmodSync(folders.destination, 0o775),
            ...(workerUid === undefined ? {} : { uid: workerUid }),
            expect: /may not be written by this worker .* EACCES/,
        });
    });

    it("the destination on a mount remounted read-only (EROFS) for as long, and read-write again: the same", async function () {
        if (!mountNamespacesWork()) {
            console.log("      (skipped: needs root and mount namespaces, for a private read-only bind mount)");
            this.skip();
        }
        const remount = (pid: number, mode: "ro" | "rw") => execFileSync("nsenter", ["-t", String(pid), "-m", "mount", "-o", `remount,${mode},bind`, folders.destination]);
        await survivesFault({
            // The worker's own mount namespace, with the destination bind-mounted onto itself; the test's mounts are untouched.
            prefix: ownMountOf(folders.destination),
            breakFolders: (pid) => remount(pid, "ro"),
            restore: (pid) => remount(pid, "rw"),
            expect: /read-only file system EROFS/,
        });
    });

    it("a file-system code on a move (ENOSPC) gives the batch back and waits; the move succeeds once the disk has room", async () => {
        const queue = createQueuePair(emulator, { maxReceiveCount: 2 });
        writeFiles(folders, ["full"]);
        let full = false;
        const disk: FileSystem = {
            ...fsp,
            link: async (from, to) => {
                if (full) throw Object.assign(new Error("ENOSPC: no space left on device, link"), { code: "ENOSPC", path: String(to) });
                return fsp.link(from, to);
            },
            // The check sees the full disk too, so the worker waits rather than receiving again.
            statfs: (async (file: string) => ({ ...(await fsp.statfs(file)), ...(full && file === folders.destination ? { bavail: 0 } : {}) })) as FileSystem["statfs"],
        };
        const logs: string[] = [];
        const worker = new Worker(optionsFor(queue), { sqs: workerSqs(emulator.endpoint), logger: new Logger("plain", "k", (line) => logs.push(line)), fileSystem: disk });
        cleanups.push(() => worker.stop());
        await worker.start();
        full = true;
        await send(sqsClient(emulator.endpoint), queue, ["full"]);
        await waitFor("the fault", () => worker.stats.faults === 1);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        assert.deepEqual([worker.stats.faults, worker.stats.returned, worker.stats.received], [1, 1, 1], "received once, given back once, then no receive while full");
        assert.deepEqual(receiveCounts(emulator, queue), [1]);
        full = false;
        await waitFor("the move", () => worker.stats.deleted === 1, 10_000);
        assert.equal(queueState(emulator, queue.deadLetterName).ready.length, 0);
        const fault = jsonLines(logs.join("")).find((event) => event.event === "worker-fault");
        assert.deepEqual([fault?.variable, fault?.code, fault?.problem], ["DESTINATION_DIR", "ENOSPC", "is on a full file system"]);
    });
});

describe("container health check (dist/health.js)", function () {
    this.timeout(30_000);
    let folders: DataFolders;
    before(() => prepareWorkerProcesses());
    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(() => {
        if (fs.existsSync(folders.destination)) fs.chmodSync(folders.destination, 0o755);
        folders.remove();
    });

    const health = async (uid?: number) => {
        const env = { SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/q", SOURCE_DIR: folders.source, DESTINATION_DIR: folders.destination };
        const exit = await startWorkerProcess(env, { script: WORKER_HEALTH, ...(uid === undefined ? {} : { uid }) }).exited;
        return { code: exit.code, lines: jsonLines(exit.stdout), output: exit.stdout };
    };

    it("passes while both folders are usable and leaves nothing behind", async () => {
        assert.deepEqual(await health(), { code: 0, lines: [], output: "" });
        assert.deepEqual(fs.readdirSync(folders.destination), []);
    });

    it("fails with one JSON line while a folder is missing, and creates nothing", async () => {
        fs.rmdirSync(folders.source);
        const missing = await health();
        assert.deepEqual([missing.code, missing.lines.length], [1, 1], missing.output);
        const [problem] = missing.lines[0].problems as Array<Record<string, string>>;
        assert.deepEqual([missing.lines[0].event, problem.folder, problem.problem], ["unhealthy", folders.source, "does not exist"]);
        assert.ok(!fs.existsSync(folders.source));
    });

    it(`fails with one JSON line while the destination is read-only${isRoot ? " (the check as uid 10001)" : ""}`, async function () {
        skipUnlessWorkerUidRuns(this);
        if (workerUid !== undefined) for (const dir of [folders.root, folders.source, folders.destination]) fs.chownSync(dir, workerUid, workerUid);
        fs.chmodSync(folders.destination, 0o555);
        const readOnly = await health(workerUid);
        assert.deepEqual([readOnly.code, readOnly.lines.length], [1, 1], readOnly.output);
        assert.match(JSON.stringify(readOnly.lines[0].problems), /DESTINATION_DIR.*may not be written/);
    });
});
