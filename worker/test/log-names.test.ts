/**
 * No line the worker writes carries a file name or a path unless LOG_FILE_NAMES=plain (issue 29,
 * item 1). Every outcome and fault the worker has is driven with files whose names carry NAME and
 * folders whose path carries FOLDER, and everything written is searched for both: the in-process
 * worker's log lines (with faults injected where only injection reaches), and the stdout and
 * stderr of the real processes (the worker as uid 10001 where this runs as root, the health check,
 * the refusals at start). Under `plain` both must show: the search can fail.
 */
import { ReceiveMessageCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { getSystemErrorMessage } from "node:util";
import { IMAGE_UID, Logger, SqsCallError, Worker, type FileSystem, type LogFileNames } from "../src/index";
import { RECEIPT_FOLDER, STAGING_FOLDER } from "../src/mover";
import { DEFAULTS, type WorkerOptions } from "../src/options";
import { startCannedServer, type CannedAnswer } from "./support/canned-server";
import {
    buildWorker,
    createQueuePair,
    jsonLines,
    losingDeletes,
    makeDataFolders,
    mountNamespacesWork,
    ownMountOf,
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

/** In every file name and message body. */
const NAME = "PERSONAL-DATA-7f3a";
/** In the path of the folders (the test's temporary root). */
const FOLDER = "SITE-FOLDER-5c1e";
const SUFFIX = DEFAULTS.processedSuffix;
const MODES: readonly LogFileNames[] = ["plain", "hash", "off"];
const isRoot = process.getuid?.() === 0;

/** A system error as Node makes one (errno, code, syscall, path, dest, and the message with the paths). */
function systemError(code: string, syscall: string, file: string, dest?: string): NodeJS.ErrnoException {
    const errno = -(os.constants.errno as Record<string, number>)[code];
    const message = `${code}: ${getSystemErrorMessage(errno)}, ${syscall} '${file}'${dest === undefined ? "" : ` -> '${dest}'`}`;
    return Object.assign(new Error(message), { errno, code, syscall, path: file, ...(dest === undefined ? {} : { dest }) });
}

/** The lines of `event` in `lines`. */
function linesOf(lines: readonly string[], event: string): string[] {
    return lines.filter((line) => line.includes(`"event":"${event}"`));
}

/**
 * Each of `named` and `present` has a line. Under `plain`, some line of each of `named` shows a
 * name or a folder path; under `hash` and `off`, no line anywhere shows either.
 */
function assertNamesShownOnlyWhenPlain(mode: LogFileNames, output: string, named: readonly string[], present: readonly string[] = []): void {
    const lines = output.split("\n");
    for (const event of [...named, ...present]) assert.ok(linesOf(lines, event).length > 0, `${mode}: no "${event}" line was written:\n${output.slice(0, 4000)}`);
    if (mode === "plain") {
        for (const event of named) {
            assert.ok(linesOf(lines, event).some((line) => line.includes(NAME) || line.includes(FOLDER)), `plain: "${event}" shows no name or path, so this search could not fail:\n${linesOf(lines, event).join("\n")}`);
        }
        return;
    }
    const leaks = lines.filter((line) => line.includes(NAME) || line.includes(FOLDER));
    assert.deepEqual(leaks, [], `${mode}: ${leaks.length} line(s) carry a file name or a path`);
}

describe("file names and paths in everything the worker writes (LOG_FILE_NAMES)", function () {
    this.timeout(120_000);
    let emulator: Emulator;
    let folders: DataFolders;

    before(async function () {
        this.timeout(180_000);
        buildWorker();
        if (isRoot) stagedWorker();
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator?.stop();
    });
    beforeEach(() => {
        folders = makeDataFolders(`ecs-anywhere-${FOLDER}-`);
    });
    afterEach(() => {
        for (const dir of [folders.source, folders.destination]) if (fs.existsSync(dir)) fs.chmodSync(dir, 0o755);
        folders.remove();
    });

    async function send(queue: TestQueue, bodies: readonly string[]): Promise<void> {
        const sqs = sqsClient(emulator.endpoint);
        for (let i = 0; i < bodies.length; i += 10) {
            await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }));
        }
    }

    const write = (name: string, content = `content of ${name}\n`) => fs.writeFileSync(path.join(folders.source, name), content);

    /** Answers of an SQS endpoint that are not JSON, each quoting part of a message's body as V8 does, in each of its forms. */
    const GARBLED: readonly CannedAnswer[] = [
        // `..."7f3a","x":y}]}" is not valid JSON`
        { body: `{"Messages":[{"MessageId":"1","ReceiptHandle":"r1","Body":"${NAME}","x":y}]}` },
        // `..."1","Body":PERSONAL-D"... is not valid JSON`
        { body: `{"Messages":[{"MessageId":"1","Body":${NAME}-and-the-rest-of-the-answer"}]}` },
        // `"PERSONAL-DATA-7f3a" is not valid JSON`
        { body: NAME },
        // An error status whose page is not JSON (a proxy's): `"PERSONAL-D"... is not valid JSON`
        { status: 403, headers: { "content-type": "text/plain" }, body: `${NAME}: refused by the proxy` },
    ];
    const quotesName = (text: string) => /PERSONAL|7f3a/.test(text);

    it("an SQS answer or error page that is not valid JSON is not quoted in an sqs-error line, whatever LOG_FILE_NAMES says: its bodies are file names", async () => {
        const server = await startCannedServer((_, index) => GARBLED[index % GARBLED.length]);
        try {
            const queueUrl = `${server.url}/000000000000/files`;
            // The SDK's own errors quote the name (the search below can fail).
            for (const answer of GARBLED) {
                server.handler = () => answer;
                let error: unknown;
                await workerSqs(server.url)
                    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))
                    .catch((thrown: unknown) => (error = thrown));
                assert.ok(error instanceof SyntaxError, `${JSON.stringify(answer)}: ${String(error)}`);
                assert.ok(quotesName(error.message), `the SDK's error quotes the answer: ${error.message}`);
                for (const shown of [new SqsCallError("ReceiveMessage", { cause: error }).message, JSON.stringify(new Logger("hash", "k", () => undefined).describe(error))]) {
                    assert.ok(!quotesName(shown) && shown.includes("(not valid JSON)"), shown);
                }
            }
            // The worker's own lines, every form in turn.
            server.requests.length = 0;
            server.handler = (_, index) => GARBLED[index % GARBLED.length];
            for (const mode of MODES) {
                const lines: string[] = [];
                const options: WorkerOptions = { ...DEFAULTS, queueUrl, region: TEST_REGION, sourceDir: folders.source, destinationDir: folders.destination, logFileNames: mode, receiveLoops: 1, waitTimeSeconds: 1 };
                const logger = new Logger(mode, "test-key", (line) => lines.push(line), { SOURCE_DIR: folders.source, DESTINATION_DIR: folders.destination });
                const worker = new Worker(options, { sqs: workerSqs(server.url), logger, random: () => 0 });
                await worker.start();
                try {
                    await waitFor(`${mode}: an sqs-error line for each answer`, () => linesOf(lines, "sqs-error").length >= GARBLED.length, 20_000);
                } finally {
                    await worker.stop();
                }
                const errors = jsonLines(lines.join("")).filter((line) => line.event === "sqs-error");
                for (const line of errors) assert.match(String(line.error), /^ReceiveMessage failed: SyntaxError: Unexpected token '.' \(not valid JSON\)/, JSON.stringify(line));
                assert.deepEqual(lines.filter(quotesName), [], `${mode}: lines quote the answer`);
            }
        } finally {
            await server.close();
        }
    });

    for (const mode of MODES) {
        it(`in process, every outcome and fault with LOG_FILE_NAMES=${mode}`, async () => {
            const queue = createQueuePair(emulator, { maxReceiveCount: 100, visibilityTimeout: 1 });
            const names = {
                moved: `${NAME}-moved`,
                copied: `${NAME}-copied`,
                unreadable: `${NAME}-unreadable`,
                renameFails: `${NAME}-rename-fails`,
                missing: `${NAME}-missing`,
                reused: `${NAME}-reused`,
                conflict: `${NAME}-conflict`,
                symlink: `${NAME}-symlink`,
                folder: `${NAME}-folder`,
                raced: `${NAME}-raced`,
                full: `${NAME}-full`,
                eio: `${NAME}-eio`,
                done: `${NAME}-done`,
            };
            for (const name of [names.moved, names.copied, names.unreadable, names.renameFails, names.conflict, names.raced]) write(name);
            fs.writeFileSync(path.join(folders.destination, names.reused + SUFFIX), "an earlier file\n");
            fs.writeFileSync(path.join(folders.destination, names.conflict + SUFFIX), "other content\n");
            fs.symlinkSync(path.join(folders.outside), path.join(folders.source, names.symlink));
            fs.mkdirSync(path.join(folders.source, names.folder));
            const source = (name: string) => path.join(folders.source, name);

            // Faults only injection reaches here: across devices, an unreadable source, a rename refused, a race, a full disk, a failing disk.
            let full = false;
            let eio = true;
            let raced = false;
            // The worker takes a file by renaming its name away (to its receipt); each fault hits that first step.
            const takes = (from: unknown, name: string) => String(from) === source(name);
            const faulty: FileSystem = {
                ...fsp,
                rename: async (from, to) => {
                    const [file, target] = [String(from), String(to)];
                    if (target.includes(STAGING_FOLDER) && takes(from, names.raced) && !raced) {
                        // The copied file's source name is being removed: a producer renames a new file onto it first.
                        raced = true;
                        fs.writeFileSync(path.join(folders.outside, "new"), "a second file\n");
                        fs.renameSync(path.join(folders.outside, "new"), source(names.raced));
                    } else if (!target.includes(STAGING_FOLDER)) {
                        if (takes(from, names.copied) || takes(from, names.unreadable) || takes(from, names.raced)) throw systemError("EXDEV", "rename", file, target);
                        if (takes(from, names.renameFails)) throw systemError("EINVAL", "rename", file, target);
                        if (takes(from, names.full) && full) throw systemError("ENOSPC", "rename", file, target);
                        if (takes(from, names.eio) && eio) {
                            eio = false;
                            throw systemError("EIO", "rename", file, target);
                        }
                    }
                    return fsp.rename(from, to);
                },
                link: async (from, to) => {
                    if (raced && String(to) === source(names.raced) && String(from).includes(STAGING_FOLDER)) {
                        // The second file is being linked back under its name: yet another file took it.
                        raced = false;
                        write(names.raced, "a third file\n");
                    }
                    return fsp.link(from, to);
                },
                open: (async (file: string, ...rest: unknown[]) => {
                    if (file === source(names.unreadable)) throw systemError("EACCES", "open", file);
                    return (fsp.open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
                }) as FileSystem["open"],
                statfs: (async (file: string) => ({ ...(await fsp.statfs(file)), ...(full && file === folders.destination ? { bavail: 0 } : {}) })) as FileSystem["statfs"],
            };
            const deletes = losingDeletes(emulator.endpoint);
            const lines: string[] = [];
            const options: WorkerOptions = { ...DEFAULTS, queueUrl: queue.url, region: TEST_REGION, sourceDir: folders.source, destinationDir: folders.destination, logFileNames: mode, receiveLoops: 2, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1 };
            const logger = () => new Logger(mode, "test-key", (line) => lines.push(line), { SOURCE_DIR: folders.source, DESTINATION_DIR: folders.destination });
            const worker = new Worker(options, { sqs: deletes.sqs, logger: logger(), fileSystem: faulty });
            const seen = (event: string, count = 1) => () => linesOf(lines, event).length >= count;
            try {
                await worker.start();
                await send(queue, [
                    ...Object.values(names).filter((name) => ![names.full, names.eio, names.done].includes(name)),
                    `../${NAME}`,
                    `${NAME}/x`,
                    `${NAME}${"x".repeat(240)}`,
                ]);
                for (const event of ["moved", "move-failed", "skipped", "unconfirmed", "conflict", "file-set-aside"]) await waitFor(`a "${event}" line`, seen(event), 20_000);
                await waitFor("rejected lines for 3 bodies and 2 files", seen("rejected", 5), 20_000);
                await waitFor("a move-failed line for each of two files", seen("move-failed", 2), 20_000);

                // A full disk (ENOSPC), then a failing one (EIO): the worker's own faults.
                full = true;
                write(names.full);
                await send(queue, [names.full]);
                await waitFor("the fault", seen("worker-fault"), 20_000);
                full = false;
                await waitFor("the fault cleared", seen("worker-fault-cleared"), 20_000);
                write(names.eio);
                await send(queue, [names.eio]);
                await waitFor("the second fault cleared", seen("worker-fault-cleared", 2), 20_000);

                // Moved, its deletes lost: it comes back and is already done.
                write(names.done);
                deletes.failing = true;
                await send(queue, [names.done]);
                await waitFor("the deletes given up", seen("delete-abandoned"), 30_000);
                deletes.failing = false;
                await waitFor("already done", seen("already-done"), 20_000);
            } finally {
                await worker.stop();
            }
            // A second start finds the file set aside in the race (its name still taken) and says so.
            const second = new Worker(options, { sqs: workerSqs(emulator.endpoint), logger: logger() });
            await second.start();
            await second.stop();

            const output = lines.join("");
            assertNamesShownOnlyWhenPlain(
                mode,
                output,
                ["started", "moved", "move-failed", "skipped", "unconfirmed", "conflict", "rejected", "worker-fault", "already-done", "file-set-aside", "files-set-aside"],
                ["worker-fault-cleared", "delete-abandoned", "stopped"],
            );
            // Errors keep what an operator needs: the errno code, the system call, the system's words, and the folder.
            const failed = jsonLines(output).filter((line) => line.event === "move-failed").map((line) => line.error as Record<string, unknown>);
            const unreadable = failed.find((error) => error.code === "EACCES");
            assert.deepEqual([unreadable?.step, unreadable?.syscall, unreadable?.message], ["stage", "open", "permission denied"], JSON.stringify(failed));
            const refused = failed.find((error) => error.code === "EINVAL");
            assert.equal(refused?.syscall, "rename");
            if (mode === "hash") {
                assert.match(String(unreadable?.path), /^\$SOURCE_DIR\/hmac-sha256:[0-9a-f]{16}$/);
                assert.match(String(refused?.dest), /^\$DESTINATION_DIR\/\.ecs-anywhere-moved\/hmac-sha256:[0-9a-f]{16}$/, "the worker's own folder by its name, the rest hashed");
                assert.match(String(jsonLines(output).find((line) => line.event === "moved")?.file), /^hmac-sha256:[0-9a-f]{16}$/);
            }
            if (mode === "off") assert.deepEqual([unreadable?.path, refused?.dest], ["$SOURCE_DIR/…", "$DESTINATION_DIR/.ecs-anywhere-moved/…"]);
            const fault = jsonLines(output).find((line) => line.event === "worker-fault");
            assert.deepEqual([fault?.variable, fault?.code], ["DESTINATION_DIR", "ENOSPC"]);
        });
    }

    /** The worker's processes, as the image runs them: as uid 10001 where this runs as root. */
    for (const mode of MODES) {
        it(`the worker, health check and refusals as processes, stdout and stderr, with LOG_FILE_NAMES=${mode}`, async function () {
            const uid = isRoot ? IMAGE_UID : undefined;
            const cannot = uid === undefined ? undefined : uidCannotRunWorker(uid);
            if (cannot !== undefined) {
                console.log(`      (skipped: ${cannot})`);
                this.skip();
            }
            // Root here: the destination is another mount (moves copy) and a root-owned file is one the worker cannot read.
            const crossDevice = isRoot && mountNamespacesWork();
            if (!isRoot) console.log("      (not root: no unreadable source, no unreadable partial folder; the worker runs as this user)");
            if (isRoot && !crossDevice) console.log("      (no mount namespaces: moves by link, not across devices)");
            const owned = (file: string) => uid !== undefined && fs.chownSync(file, uid, uid);
            for (const dir of [folders.root, folders.source, folders.destination]) owned(dir);
            const queue = createQueuePair(emulator, { maxReceiveCount: 100, visibilityTimeout: 1 });
            const names = { moved: `${NAME}-moved`, unreadable: `${NAME}-unreadable`, conflict: `${NAME}-conflict`, symlink: `${NAME}-symlink`, missing: `${NAME}-missing`, fault: `${NAME}-fault` };
            for (const name of [names.moved, names.conflict, names.fault]) {
                write(name);
                owned(path.join(folders.source, name));
            }
            fs.writeFileSync(path.join(folders.destination, names.conflict + SUFFIX), "other content\n");
            owned(path.join(folders.destination, names.conflict + SUFFIX));
            fs.symlinkSync(folders.outside, path.join(folders.source, names.symlink));
            if (isRoot) {
                write(names.unreadable);
                fs.chmodSync(path.join(folders.source, names.unreadable), 0o600);
            }
            // Docker gives the image's user a HOME; uid 10001 has no passwd entry here, and the SDK's config loader asks for it.
            const home: Record<string, string> = uid === undefined ? {} : { HOME: "/nonexistent/ecs-anywhere-test/home" };
            const env = (extra: Record<string, string> = {}) =>
                workerProcessEnv(emulator.endpoint, queue.url, folders, { LOG_FILE_NAMES: mode, RECEIVE_WAIT_SECONDS: "1", VISIBILITY_TIMEOUT_SECONDS: "1", RECEIVE_LOOPS: "2", ...home, ...extra });
            const as = { ...(uid === undefined ? {} : { uid }), ...(crossDevice ? { prefix: ownMountOf(folders.destination) } : {}) };
            const outputs: string[] = [];

            const worker = startWorkerProcess(env(), as);
            try {
                const has = (event: string, count = 1) => () => linesOf(worker.output().split("\n"), event).length >= count || worker.child.exitCode !== null;
                await waitFor("the worker to start", has("started"));
                assert.equal(worker.child.exitCode, null, worker.output());
                await send(queue, [...Object.values(names).filter((name) => name !== names.fault && (isRoot || name !== names.unreadable)), `../${NAME}`, `${NAME}/x`, `${NAME}${"x".repeat(240)}`]);
                for (const event of ["moved", "conflict", "skipped"]) await waitFor(`a "${event}" line`, has(event), 20_000);
                await waitFor("rejected lines for 3 bodies and the symlink", has("rejected", 4), 20_000);
                if (isRoot) await waitFor("the unreadable file's move-failed line", has("move-failed"), 20_000);

                // The destination not writable: the worker's fault, then cleared.
                fs.chmodSync(folders.destination, 0o555);
                await send(queue, [names.fault]);
                await waitFor("the fault", has("worker-fault"), 20_000);
                fs.chmodSync(folders.destination, 0o775);
                await waitFor("the fault cleared", has("worker-fault-cleared"), 20_000);

                // SIGTERM with work in flight.
                const bulk = Array.from({ length: 200 }, (_, i) => `${NAME}-bulk-${i}`);
                for (const name of bulk) {
                    write(name);
                    owned(path.join(folders.source, name));
                }
                const movedBefore = linesOf(worker.output().split("\n"), "moved").length;
                await send(queue, bulk);
                await waitFor("the bulk under way", () => linesOf(worker.output().split("\n"), "moved").length > movedBefore, 20_000);
                worker.child.kill("SIGTERM");
                const exit = await worker.exited;
                assert.equal(exit.code, 0, exit.stdout.slice(-3000));
            } finally {
                worker.child.kill("SIGKILL");
                outputs.push((await worker.exited).stdout);
            }

            // The health check: the destination not writable, then a folder missing.
            const health = (extra: Record<string, string> = {}) => startWorkerProcess(env(extra), { script: WORKER_HEALTH, ...(uid === undefined ? {} : { uid }) }).exited;
            fs.chmodSync(folders.destination, 0o555);
            const notWritable = await health();
            fs.chmodSync(folders.destination, 0o775);
            const missingFolder = await health({ SOURCE_DIR: path.join(folders.root, `${NAME}-gone`) });
            const badSetting = await health({ SOURCE_DIR: `relative/${NAME}` });
            assert.deepEqual([notWritable.code, missingFolder.code, badSetting.code], [1, 1, 1], [notWritable.stdout, missingFolder.stdout, badSetting.stdout].join("\n"));
            outputs.push(notWritable.stdout, missingFolder.stdout, badSetting.stdout);

            // Refusals at start: a folder missing (3), bad settings (2), and a sweep that cannot read its own folder (1).
            const missing = await startWorkerProcess(env({ SOURCE_DIR: path.join(folders.root, `${NAME}-typo`, "sourcefolder") }), as).exited;
            assert.equal(missing.code, 3, missing.stdout);
            const relative = await startWorkerProcess(env({ SOURCE_DIR: `relative/${NAME}` }), as).exited;
            const same = await startWorkerProcess(env({ DESTINATION_DIR: folders.source }), as).exited;
            assert.deepEqual([relative.code, same.code], [2, 2], relative.stdout + same.stdout);
            outputs.push(missing.stdout, relative.stdout, same.stdout);
            const named = ["started", "moved", "conflict", "skipped", "rejected", "worker-fault", "unhealthy", "folders-unusable", "bad-configuration"];
            if (isRoot) {
                // The partial folder root's own and closed: the start-up sweep cannot list it.
                const partial = path.join(folders.destination, ".ecs-anywhere-partial");
                fs.mkdirSync(partial, { recursive: true });
                fs.chownSync(partial, 0, 0);
                fs.chmodSync(partial, 0o700);
                const sweep = await startWorkerProcess(env(), as).exited;
                assert.equal(sweep.code, 1, sweep.stdout);
                outputs.push(sweep.stdout);
                named.push("move-failed", "start-failed");
            }
            const output = outputs.join("\n");
            assertNamesShownOnlyWhenPlain(mode, output, named, ["worker-fault-cleared", "stopping", "stopped"]);
            if (crossDevice) assert.match(output, /"event":"moved"[^\n]*"via":"copy"/, "moved across devices");
            if (isRoot) {
                const failed = jsonLines(output).find((line) => line.event === "move-failed")?.error as Record<string, unknown> | undefined;
                assert.deepEqual([failed?.code, failed?.syscall], ["EACCES", "open"], JSON.stringify(failed));
            }
            // Nothing of the worker's own folders left holding a file.
            for (const own of [path.join(folders.destination, RECEIPT_FOLDER), path.join(folders.source, STAGING_FOLDER)]) {
                if (fs.existsSync(own)) assert.deepEqual(fs.readdirSync(own), [], own);
            }
        });
    }
});
