/**
 * A producer that reuses file names, in a second process, renaming new files onto names the worker
 * is moving (issue 29, item 5). Real files, the SQS emulator, the worker in this process; bounded
 * in names and time. Nothing may be lost: of each name, one version ends in the destination and
 * the other in the source (usually version 1 moved; version 2 first when its message took the name
 * while version 1's move was in progress), each exactly once, and the one left in the source still
 * has a message (in the dead-letter queue: the destination name is taken, so it is a conflict).
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Logger, Worker } from "../src/index";
import { DEFAULTS } from "../src/options";
import { createQueuePair, makeDataFolders, queueState, startEmulator, TEST_REGION, waitFor, WORKER_OWN_FOLDERS, workerSqs, type DataFolders, type Emulator } from "./support/harness";

const SUFFIX = DEFAULTS.processedSuffix;
const NAMES = 300;
const RENAMER = path.join(__dirname, "support", "renamer.ts");

function content(name: string, version: number): string {
    return `${name} version ${version}\n`;
}

/** Every regular file under `dir` by content: for each file (inode) holding it, its names outside the worker's own folders. */
function contents(dir: string): Map<string, string[][]> {
    const byInode = new Map<number, { text: string; names: string[] }>();
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
        const file = path.join(entry.parentPath, entry.name);
        const stats = fs.lstatSync(file);
        if (!stats.isFile()) continue;
        const known = byInode.get(stats.ino) ?? { text: fs.readFileSync(file, "utf8"), names: [] };
        const relative = path.relative(dir, file);
        // A receipt is a second name of a moved file: not a place of its own.
        if (!WORKER_OWN_FOLDERS.some((own) => relative.split(path.sep).includes(own))) known.names.push(relative);
        byInode.set(stats.ino, known);
    }
    const found = new Map<string, string[][]>();
    for (const { text, names } of byInode.values()) found.set(text, [...(found.get(text) ?? []), names]);
    return found;
}

describe("names reused while the worker moves them (a second process renaming files in)", function () {
    this.timeout(120_000);
    let emulator: Emulator;
    let folders: DataFolders;
    let worker: Worker | undefined;

    before(async () => {
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator?.stop();
    });
    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(async () => {
        await worker?.stop();
        folders.remove();
    });

    it(`loses no version of ${NAMES} names and deletes no message whose file is still to come`, async () => {
        const queue = createQueuePair(emulator, { maxReceiveCount: 2, visibilityTimeout: 1 });
        const stage = path.join(folders.root, "stage");
        fs.mkdirSync(stage);
        worker = new Worker(
            { ...DEFAULTS, queueUrl: queue.url, region: TEST_REGION, sourceDir: folders.source, destinationDir: folders.destination, receiveLoops: 4, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1 },
            { sqs: workerSqs(emulator.endpoint), logger: new Logger("off", undefined, () => undefined) },
        );
        await worker.start();

        const renamer = spawn(process.execPath, ["--import", "tsx", RENAMER], {
            env: {
                PATH: process.env.PATH ?? "",
                SOURCE_DIR: folders.source,
                DESTINATION_DIR: folders.destination,
                SUFFIX,
                STAGE_DIR: stage,
                SQS_QUEUE_URL: queue.url,
                AWS_ENDPOINT_URL_SQS: emulator.endpoint,
                NAMES: String(NAMES),
                CONCURRENCY: "32",
                DEADLINE_MS: "60000",
            },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        renamer.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        renamer.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => renamer.on("exit", resolve));
        assert.equal(code, 0, output);
        const { midMove } = JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as { midMove: number };

        await waitFor("the queue to drain (version 2 messages to the dead-letter queue)", () => {
            const state = queueState(emulator, queue.name);
            return state.ready.length + state.inflight.length + state.delayed.length === 0;
        }, 60_000);
        await worker.stop();

        const names = Array.from({ length: NAMES }, (_, i) => `reused-${String(i).padStart(4, "0")}`);
        const found = contents(folders.root);
        const dead = queueState(emulator, queue.deadLetterName).ready;
        const lost: string[] = [];
        const misplaced: string[] = [];
        const stranded: string[] = [];
        for (const name of names) {
            const at = [path.join("destinationfolder", name + SUFFIX), path.join("sourcefolder", name)];
            for (const version of [1, 2]) {
                const files = found.get(content(name, version));
                if (files === undefined) lost.push(`${name} v${version}`);
                else if (files.length !== 1 || files[0].length !== 1 || !at.includes(files[0][0])) misplaced.push(`${name} v${version} at ${JSON.stringify(files)}`);
            }
            // One version is in the source: a message naming it must still exist (dead-lettered as a conflict), not be deleted as "already done".
            if (dead.filter((body) => body === name).length !== 1) stranded.push(name);
        }
        const report = `${midMove} of ${NAMES} second versions renamed in mid-move; lost: ${lost.length} ${JSON.stringify(lost.slice(0, 5))}; misplaced: ${misplaced.length} ${JSON.stringify(misplaced.slice(0, 5))}; in the source without a message: ${stranded.length} ${JSON.stringify(stranded.slice(0, 5))}`;
        assert.deepEqual([lost.length, misplaced.length, stranded.length], [0, 0, 0], report);
        assert.ok(midMove > 0, `the race was run: ${report}`);
        console.log(`      (${midMove} of ${NAMES} second versions renamed onto a name whose move was in progress)`);
        assert.equal(dead.length, NAMES, `one message per name dead-lettered, the other deleted: ${report}`);
    });
});
