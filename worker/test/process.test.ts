/** The worker as ECS runs it: a child process configured by environment, stopped by signals. */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Logger, Worker } from "../src/index";
import { DEFAULTS } from "../src/options";
import { buildWorker, createQueuePair, dataEntries, jsonLines, makeDataFolders, queueState, sqsClient, startEmulator, startWorkerProcess, TEST_REGION, waitFor, workerSqs, type Emulator } from "./support/harness";

/** A secret key the worker must never print (the emulator does not check signatures). */
const SECRET = "process-test-secret-key";

describe("worker process", function () {
    this.timeout(60_000);
    let emulator: Emulator;

    before(async function () {
        this.timeout(120_000);
        buildWorker();
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator?.stop();
    });

    it("exits 2 at once naming a missing or bad variable", async () => {
        const missing = await startWorkerProcess({}).exited;
        assert.equal(missing.code, 2);
        assert.match(missing.stdout, /"variable":"SQS_QUEUE_URL"/);
        const bad = await startWorkerProcess({ SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q", LOG_FILE_NAMES: "everything" }).exited;
        assert.equal(bad.code, 2);
        assert.match(bad.stdout, /LOG_FILE_NAMES: expected plain, hash or off, got \\"everything\\"/);
        const endpoint = await startWorkerProcess({ SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q", AWS_ENDPOINT_URL_SQS: "localhost:4566" }).exited;
        assert.equal(endpoint.code, 2);
        assert.match(endpoint.stdout, /"variable":"AWS_ENDPOINT_URL_SQS".*expected an http\(s\) URL/);
        // A container credentials endpoint the SDK refuses (plain http to another host), set by hand: found once the folders pass.
        const folders = makeDataFolders();
        try {
            const credentials = await startWorkerProcess({ SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q", SOURCE_DIR: folders.source, DESTINATION_DIR: folders.destination, AWS_ACCESS_KEY_ID: "", AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://example.com/creds" }).exited;
            assert.equal(credentials.code, 2, credentials.stdout);
            assert.match(credentials.stdout, /"event":"bad-configuration".*"variable":"AWS_CONTAINER_CREDENTIALS_FULL_URI".*http:\/\/example\.com\/creds.*use https/);
        } finally {
            folders.remove();
        }
    });

    it("on SIGTERM mid-run finishes what is in flight, exits 0, and loses nothing", async () => {
        const folders = makeDataFolders();
        try {
            const queue = createQueuePair(emulator, { visibilityTimeout: 5 });
            const names = Array.from({ length: 3000 }, (_, i) => `t${String(i).padStart(5, "0")}`);
            for (const name of names) fs.writeFileSync(path.join(folders.source, name), name);
            const sqs = sqsClient(emulator.endpoint);
            await Promise.all(
                Array.from({ length: names.length / 10 }, (_, b) =>
                    sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: names.slice(b * 10, b * 10 + 10).map((name, i) => ({ Id: String(i), MessageBody: name })) })),
                ),
            );
            const worker = startWorkerProcess({
                SQS_QUEUE_URL: queue.url,
                AWS_REGION: TEST_REGION,
                AWS_ENDPOINT_URL_SQS: emulator.endpoint,
                SOURCE_DIR: folders.source,
                DESTINATION_DIR: folders.destination,
                VISIBILITY_TIMEOUT_SECONDS: "5",
                AWS_SECRET_ACCESS_KEY: SECRET,
            });
            await waitFor("some files moved", () => dataEntries(folders.destination).length >= 200, 20_000);
            const signalled = Date.now();
            worker.child.kill("SIGTERM");
            const exit = await worker.exited;
            const stopMs = Date.now() - signalled;
            assert.equal(exit.code, 0, exit.stdout.slice(-2000));
            assert.ok(stopMs < 10_000, `stopped in ${stopMs} ms (ECS allows 30 s)`);
            assert.match(exit.stdout, /"event":"stopped"/);
            const started = jsonLines(exit.stdout).find((line) => line.event === "started");
            assert.deepEqual([started?.credentials, started?.sqsEndpoint], ["environment", emulator.endpoint], "the start-up line names the credentials chain and the endpoint");
            assert.ok(!exit.stdout.includes(SECRET), "no secret in the logs");

            // Nothing half-moved: each file is in exactly one of the two folders, and no partial copy exists.
            const source = new Set(dataEntries(folders.source));
            const destination = new Set(dataEntries(folders.destination));
            for (const name of names) {
                const inSource = source.has(name);
                const inDestination = destination.has(name + DEFAULTS.processedSuffix);
                assert.ok(inSource !== inDestination, `${name}: in source ${inSource}, in destination ${inDestination}`);
            }
            assert.equal(source.size + destination.size, names.length);
            assert.ok(source.size > 0, "the signal came mid-run");

            // Nothing lost: a fresh worker drains the rest; every file ends in the destination once.
            const drain = new Worker(
                { ...DEFAULTS, queueUrl: queue.url, region: TEST_REGION, sourceDir: folders.source, destinationDir: folders.destination, waitTimeSeconds: 1, visibilityTimeoutSeconds: 5 },
                { sqs: workerSqs(emulator.endpoint), logger: new Logger("off", undefined, () => undefined) },
            );
            await drain.start();
            await waitFor("the queue to drain", () => {
                const state = queueState(emulator, queue.name);
                return state.ready.length + state.inflight.length === 0 && dataEntries(folders.source).length === 0;
            }, 30_000);
            await drain.stop();
            assert.equal(dataEntries(folders.destination).length, names.length);
            assert.equal(queueState(emulator, queue.deadLetterName).ready.length, 0, "no valid message in the dead-letter queue");
        } finally {
            folders.remove();
        }
    });
});
