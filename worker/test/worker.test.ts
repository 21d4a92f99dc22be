import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { startTcpProxy } from "../../test-support/tcp-proxy";
import { backoffDelay, BACKOFF, checkFileName, InvalidFileNameError, Logger, Worker, type FileSystem, type SqsSender } from "../src/index";
import { DEFAULTS, type WorkerOptions } from "../src/options";
import {
    createQueuePair,
    makeDataFolders,
    queueState,
    snapshot,
    sqsClient,
    startEmulator,
    TEST_REGION,
    waitFor,
    type DataFolders,
    type Emulator,
    type TestQueue,
    workerSqs,
} from "./support/harness";

const SUFFIX = DEFAULTS.processedSuffix;

function optionsFor(queue: TestQueue, folders: DataFolders, overrides: Partial<WorkerOptions> = {}): WorkerOptions {
    return {
        queueUrl: queue.url,
        region: TEST_REGION,
        sourceDir: folders.source,
        destinationDir: folders.destination,
        processedSuffix: SUFFIX,
        logFileNames: "plain",
        receiveLoops: 2,
        batchSize: 10,
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: 1,
        createFolders: false,
        ...overrides,
    };
}

describe("worker against the SQS emulator", function () {
    let emulator: Emulator;
    let folders: DataFolders;
    const workers: Worker[] = [];
    const logs: string[] = [];

    before(async () => {
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator.stop();
    });
    beforeEach(() => {
        folders = makeDataFolders();
        logs.length = 0;
        fs.writeFileSync(path.join(folders.outside, "secret"), "do not touch\n");
        fs.writeFileSync(path.join(folders.root, "passwd"), "root:x:0:0\n");
    });
    afterEach(async () => {
        await Promise.all(workers.splice(0).map((worker) => worker.stop()));
        folders.remove();
    });

    async function run(queue: TestQueue, overrides: Partial<WorkerOptions> = {}, extra: { fileSystem?: FileSystem; endpoint?: string } = {}): Promise<Worker> {
        const worker = new Worker(optionsFor(queue, folders, overrides), {
            sqs: workerSqs(extra.endpoint ?? emulator.endpoint),
            logger: new Logger(overrides.logFileNames ?? "plain", "test-key", (line) => logs.push(line)),
            ...(extra.fileSystem ? { fileSystem: extra.fileSystem } : {}),
        });
        workers.push(worker);
        await worker.start();
        return worker;
    }

    async function send(queue: TestQueue, bodies: string[]): Promise<void> {
        const sqs = sqsClient(emulator.endpoint);
        for (let i = 0; i < bodies.length; i += 10) {
            const chunk = bodies.slice(i, i + 10);
            await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: chunk.map((body, j) => ({ Id: String(j), MessageBody: body })) }));
        }
    }

    function writeSources(names: string[]): void {
        for (const name of names) fs.writeFileSync(path.join(folders.source, name), `content of ${name}\n`);
    }

    function events(kind: string): Array<Record<string, unknown>> {
        return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((event) => event.event === kind);
    }

    it("moves the walkthrough's five files and deletes their messages", async () => {
        const queue = createQueuePair(emulator);
        const names = ["001", "002", "003", "004", "005"];
        writeSources(names);
        const worker = await run(queue);
        await send(queue, names);
        await waitFor("five deletes", () => worker.stats.deleted === 5);
        assert.deepEqual(fs.readdirSync(folders.source), []);
        assert.deepEqual(fs.readdirSync(folders.destination).sort(), names.map((n) => n + SUFFIX));
        for (const name of names) assert.equal(fs.readFileSync(path.join(folders.destination, name + SUFFIX), "utf8"), `content of ${name}\n`);
        const state = queueState(emulator, queue.name);
        assert.equal(state.ready.length + state.inflight.length, 0, "queue is empty");
        assert.equal(events("moved").length, 5);
    });

    describe("the message-handling table", () => {
        it("source gone, destination present: already done, message deleted", async () => {
            const queue = createQueuePair(emulator);
            fs.writeFileSync(path.join(folders.destination, "done" + SUFFIX), "moved earlier\n");
            const worker = await run(queue);
            await send(queue, ["done"]);
            await waitFor("the delete", () => worker.stats.deleted === 1);
            assert.equal(worker.stats.alreadyDone, 1);
            assert.equal(fs.readFileSync(path.join(folders.destination, "done" + SUFFIX), "utf8"), "moved earlier\n");
        });

        it("neither present: not deleted, retried, then dead-letter queue", async () => {
            const queue = createQueuePair(emulator, { maxReceiveCount: 2 });
            const worker = await run(queue);
            await send(queue, ["not-yet"]);
            await waitFor("the message in the dead-letter queue", () => queueState(emulator, queue.deadLetterName).ready.includes("not-yet"), 15_000);
            assert.ok(worker.stats.missing >= 2, `retried: ${worker.stats.missing} receives`);
            assert.equal(worker.stats.deleted, 0);
            assert.equal(worker.stats.faults, 0, "a missing file in a usable folder is the message's, not the worker's");
        });

        it("file arrives after its message: retried and then moved", async () => {
            const queue = createQueuePair(emulator, { maxReceiveCount: 5 });
            const worker = await run(queue);
            await send(queue, ["late"]);
            await waitFor("a first miss", () => worker.stats.missing >= 1);
            writeSources(["late"]);
            await waitFor("the move", () => worker.stats.deleted === 1, 15_000);
            assert.ok(fs.existsSync(path.join(folders.destination, "late" + SUFFIX)));
        });

        it("both present: conflict, nothing overwritten, dead-letter queue", async () => {
            const queue = createQueuePair(emulator, { maxReceiveCount: 2 });
            writeSources(["clash"]);
            fs.writeFileSync(path.join(folders.destination, "clash" + SUFFIX), "someone else's\n");
            const worker = await run(queue);
            await send(queue, ["clash"]);
            await waitFor("the message in the dead-letter queue", () => queueState(emulator, queue.deadLetterName).ready.includes("clash"), 15_000);
            assert.ok(worker.stats.conflicts >= 1);
            assert.equal(fs.readFileSync(path.join(folders.source, "clash"), "utf8"), "content of clash\n");
            assert.equal(fs.readFileSync(path.join(folders.destination, "clash" + SUFFIX), "utf8"), "someone else's\n");
        });

        it("a move interrupted between link and unlink is finished, not called a conflict", async () => {
            const queue = createQueuePair(emulator);
            writeSources(["half"]);
            fs.linkSync(path.join(folders.source, "half"), path.join(folders.destination, "half" + SUFFIX));
            const worker = await run(queue);
            await send(queue, ["half"]);
            await waitFor("the delete", () => worker.stats.deleted === 1);
            assert.equal(worker.stats.conflicts, 0);
            assert.ok(!fs.existsSync(path.join(folders.source, "half")));
            assert.equal(fs.readFileSync(path.join(folders.destination, "half" + SUFFIX), "utf8"), "content of half\n");
        });

        it("surrounding white space of a body is trimmed", async () => {
            const queue = createQueuePair(emulator);
            writeSources(["spaced"]);
            const worker = await run(queue);
            await send(queue, ["  spaced\n"]);
            await waitFor("the delete", () => worker.stats.deleted === 1);
            assert.ok(fs.existsSync(path.join(folders.destination, "spaced" + SUFFIX)));
        });
    });

    describe("hostile bodies touch nothing and stay undeleted", () => {
        const hostile = ["..", "../x", "/etc/passwd", "a/b", "", "   ", "x".repeat(256), "../outside/secret", "../passwd", "."];
        it(`rejects ${hostile.length} hostile bodies and a symlink out of the folder`, async () => {
            const queue = createQueuePair(emulator, { maxReceiveCount: 2 });
            fs.symlinkSync(path.join(folders.outside, "secret"), path.join(folders.source, "evil"));
            fs.mkdirSync(path.join(folders.source, "x"));
            const before = snapshot(folders.root);
            const worker = await run(queue);
            await send(queue, [...hostile, "evil"]);
            await waitFor(
                "every hostile message in the dead-letter queue",
                () => queueState(emulator, queue.deadLetterName).ready.length === hostile.length + 1,
                15_000,
            );
            assert.deepEqual(snapshot(folders.root), before, "no file anywhere changed");
            assert.equal(worker.stats.deleted, 0);
            assert.equal(worker.stats.moved, 0);
            const reasons = events("rejected").map((event) => String(event.reason));
            assert.ok(reasons.some((reason) => reason.includes("symbolic link")), "symlink named as the reason");
            assert.ok(reasons.some((reason) => reason.includes('contains "/"')));
        });

        it("a NUL byte is refused by the validator (SQS refuses it before that)", () => {
            assert.throws(() => checkFileName("a\0b", SUFFIX), InvalidFileNameError);
            assert.throws(() => checkFileName("x".repeat(240), SUFFIX), /too long to take the suffix/);
            assert.equal(checkFileName(" ok.txt \n", SUFFIX), "ok.txt");
        });
    });

    it("the same message delivered twice moves the file once and deletes both", async () => {
        const queue = createQueuePair(emulator);
        writeSources(["twice"]);
        const worker = await run(queue);
        await send(queue, ["twice", "twice"]);
        await waitFor("two deletes", () => worker.stats.deleted === 2);
        assert.deepEqual(fs.readdirSync(folders.destination), ["twice" + SUFFIX]);
        assert.deepEqual(fs.readdirSync(folders.source), []);
        await send(queue, ["twice"]);
        await waitFor("a third delete", () => worker.stats.deleted === 3);
        assert.equal(worker.stats.alreadyDone >= 1, true);
    });

    it("two workers on one queue move every file exactly once", async () => {
        const queue = createQueuePair(emulator, { visibilityTimeout: 30 });
        const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(4, "0")}`);
        writeSources(names);
        const [a, b] = [await run(queue, { visibilityTimeoutSeconds: 30 }), await run(queue, { visibilityTimeoutSeconds: 30 })];
        // Each file named twice, so both workers race for the same files.
        await send(queue, [...names, ...names]);
        await waitFor("all deletes", () => a.stats.deleted + b.stats.deleted === names.length * 2, 20_000);
        assert.deepEqual(fs.readdirSync(folders.source), []);
        assert.deepEqual(fs.readdirSync(folders.destination).sort(), names.map((n) => n + SUFFIX));
        assert.ok(a.stats.received > 0 && b.stats.received > 0, `both workers took part (${a.stats.received}, ${b.stats.received})`);
    });

    it("backs off while the SQS endpoint is cut, recovers and finishes", async () => {
        // A receive cut mid-answer leaves its messages invisible for the visibility timeout (SQS semantics).
        const queue = createQueuePair(emulator, { visibilityTimeout: 5 });
        const proxy = await startTcpProxy({ targetPort: emulator.port });
        try {
            const names = Array.from({ length: 100 }, (_, i) => `o${i}`);
            writeSources(names);
            const worker = await run(queue, { visibilityTimeoutSeconds: 5 }, { endpoint: proxy.url });
            await send(queue, names.slice(0, 50));
            await waitFor("the first half", () => worker.stats.deleted === 50);
            proxy.cut();
            await send(queue, names.slice(50));
            await new Promise((resolve) => setTimeout(resolve, 3_000));
            assert.ok(worker.stats.sqsErrors > 0, "the cut was noticed");
            const errorsDuringCut = worker.stats.sqsErrors;
            assert.ok(errorsDuringCut < 40, `backed off rather than spinning (${errorsDuringCut} errors in 3 s)`);
            proxy.restore();
            await waitFor("the second half", () => worker.stats.deleted === 100, 25_000);
            assert.deepEqual(fs.readdirSync(folders.source), []);
            assert.equal(fs.readdirSync(folders.destination).length, 100);
            assert.ok(events("sqs-recovered").length > 0);
        } finally {
            await proxy.close();
        }
    });

    it("moves across devices by copy when a link is impossible, keeping content and mode", async () => {
        const queue = createQueuePair(emulator);
        writeSources(["far"]);
        fs.chmodSync(path.join(folders.source, "far"), 0o640);
        const crossDevice: FileSystem = {
            ...fsp,
            link: async (from, to) => {
                if (String(from).startsWith(folders.source)) throw Object.assign(new Error("EXDEV: cross-device link not permitted"), { code: "EXDEV" });
                return fsp.link(from, to);
            },
        };
        const worker = await run(queue, {}, { fileSystem: crossDevice });
        await send(queue, ["far"]);
        await waitFor("the delete", () => worker.stats.deleted === 1);
        const moved = path.join(folders.destination, "far" + SUFFIX);
        assert.equal(fs.readFileSync(moved, "utf8"), "content of far\n");
        assert.equal(fs.statSync(moved).mode & 0o777, 0o640);
        assert.deepEqual(fs.readdirSync(folders.destination).sort(), [".ecs-anywhere-partial", "far" + SUFFIX]);
        assert.deepEqual(fs.readdirSync(path.join(folders.destination, ".ecs-anywhere-partial")), [], "no partial copy left behind");
        assert.equal(events("moved")[0]?.via, "copy");
    });

    it("a failing disk (EIO) is the worker's fault: the message is given back, not dead-lettered, and moved once the disk answers", async () => {
        // Two faults cost two receives; a third receive within maxReceiveCount 3 moves it.
        const queue = createQueuePair(emulator, { maxReceiveCount: 3 });
        writeSources(["stuck"]);
        let failures = 2;
        const flaky: FileSystem = {
            ...fsp,
            link: async (from, to) => {
                if (failures-- > 0) throw Object.assign(new Error("EIO: i/o error, link"), { code: "EIO", path: String(from) });
                return fsp.link(from, to);
            },
        };
        const worker = await run(queue, {}, { fileSystem: flaky });
        await send(queue, ["stuck"]);
        await waitFor("the delete after two faults", () => worker.stats.deleted === 1, 15_000).catch((error: unknown) => {
            throw new Error(`${String(error)}\n${logs.join("")}\n${JSON.stringify(worker.stats)}`);
        });
        assert.deepEqual([worker.stats.faults, worker.stats.returned, worker.stats.failed], [2, 2, 0]);
        assert.ok(fs.existsSync(path.join(folders.destination, "stuck" + SUFFIX)));
        assert.equal(queueState(emulator, queue.deadLetterName).ready.length, 0);
        const fault = events("worker-fault")[0];
        assert.equal(fault?.level, "error");
        assert.equal(fault?.code, "EIO");
        assert.equal(fault?.folder, folders.source);
        assert.equal(events("worker-fault-cleared").length, 2);
    });

    it("a failure of the file itself (no code of the file system's) stays the message's: kept, retried, counted as failed", async () => {
        const queue = createQueuePair(emulator, { maxReceiveCount: 10 });
        writeSources(["odd"]);
        let failures = 2;
        const odd: FileSystem = {
            ...fsp,
            link: async (from, to) => {
                if (failures-- > 0) throw Object.assign(new Error("EINVAL: invalid argument, link"), { code: "EINVAL" });
                return fsp.link(from, to);
            },
        };
        const worker = await run(queue, {}, { fileSystem: odd });
        await send(queue, ["odd"]);
        await waitFor("the delete after two failures", () => worker.stats.deleted === 1, 15_000);
        assert.deepEqual([worker.stats.failed, worker.stats.faults, worker.stats.returned], [2, 0, 0]);
    });

    it("on an empty queue only one loop polls; messages wake the others", async () => {
        const queue = createQueuePair(emulator, { visibilityTimeout: 30 });
        const client = workerSqs(emulator.endpoint);
        let receives = 0;
        let inFlight = 0;
        let maxInFlight = 0;
        const counting: SqsSender = {
            send: (async (command: Parameters<SqsSender["send"]>[0], options?: { abortSignal?: AbortSignal }) => {
                const isReceive = command instanceof ReceiveMessageCommand;
                if (isReceive) {
                    receives++;
                    maxInFlight = Math.max(maxInFlight, ++inFlight);
                }
                try {
                    return await client.send(command, options);
                } finally {
                    if (isReceive) inFlight--;
                }
            }) as SqsSender["send"],
        };
        const worker = new Worker(optionsFor(queue, folders, { receiveLoops: 8, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30 }), {
            sqs: counting,
            logger: new Logger("plain", "k", (line) => logs.push(line)),
        });
        workers.push(worker);
        await worker.start();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const afterFirstRound = receives;
        maxInFlight = inFlight;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const idleReceives = receives - afterFirstRound;
        assert.ok(afterFirstRound >= 8, `every loop polled once at start (${afterFirstRound})`);
        assert.ok(idleReceives <= 4, `idle: ${idleReceives} receives in 3 s with 1 s polls (8 loops would make ~24)`);
        assert.equal(maxInFlight, 1, "one receive at a time while idle");
        const names = Array.from({ length: 400 }, (_, i) => `w${i}`);
        writeSources(names);
        await send(queue, names);
        await waitFor("all deletes", () => worker.stats.deleted === names.length, 15_000);
        assert.ok(maxInFlight > 1, `loops woke up (${maxInFlight} receives at once)`);
    });

    it("LOG_FILE_NAMES=hash and off keep file names out of the logs", async () => {
        for (const mode of ["hash", "off"] as const) {
            logs.length = 0;
            const queue = createQueuePair(emulator);
            writeSources([`personal-${mode}`]);
            const worker = await run(queue, { logFileNames: mode });
            await send(queue, [`personal-${mode}`, "../also-personal"]);
            await waitFor("the delete", () => worker.stats.deleted === 1);
            await waitFor("the rejection", () => worker.stats.rejected >= 1);
            const text = logs.join("");
            assert.ok(!text.includes("personal"), `${mode}: no file name in ${text}`);
            const moved = events("moved")[0];
            if (mode === "hash") assert.match(String(moved?.file), /^hmac-sha256:[0-9a-f]{16}$/);
            else assert.equal(moved?.file, undefined);
        }
    });
});

describe("backoff", () => {
    it("grows exponentially with jitter and is capped", () => {
        assert.equal(backoffDelay(1, () => 0), BACKOFF.baseMs / 2);
        assert.equal(backoffDelay(1, () => 1), BACKOFF.baseMs);
        assert.equal(backoffDelay(3, () => 1), BACKOFF.baseMs * 4);
        assert.equal(backoffDelay(50, () => 1), BACKOFF.capMs);
        assert.ok(backoffDelay(50, () => 0) >= BACKOFF.capMs / 2);
    });
});

describe("SendMessage of a NUL body", () => {
    it("is refused by SQS itself, so a NUL never reaches the worker", async () => {
        const emulator = await startEmulator();
        try {
            const queue = createQueuePair(emulator);
            await assert.rejects(sqsClient(emulator.endpoint).send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "a\0b" })));
        } finally {
            await emulator.stop();
        }
    });
});
