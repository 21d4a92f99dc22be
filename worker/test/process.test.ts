/** The worker as ECS runs it: a child process configured by environment, stopped by signals. */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Logger, Worker } from "../src/index";
import { DEFAULTS } from "../src/options";
import { startCannedServer } from "./support/canned-server";
import { buildWorker, createQueuePair, jsonLines, makeDataFolders, queueState, sqsClient, startEmulator, startWorkerProcess, TEST_REGION, waitFor, workerProcessEnv, workerSqs, type Emulator } from "./support/harness";

/** Credentials the worker must never print (the emulator does not check signatures). */
const KEY = { id: "AKIDPROCESSTEST00001", secret: "process-test-secret-key", token: "process-test-session-token" };

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
    });

    it("with the task role from the container endpoint ECS sets: `container` in the started line, files moved, no key or token printed", async () => {
        const role = { AccessKeyId: "ASIAPROCESSTESTROLE1", SecretAccessKey: "role-secret-access-key", Token: "role-session-token", Expiration: new Date(Date.now() + 3_600_000).toISOString() };
        const authorization = "container-authorization-token";
        const credentials = await startCannedServer((request) => (request.headers.authorization === authorization ? { body: role } : { status: 401, body: {} }));
        const folders = makeDataFolders();
        try {
            const queue = createQueuePair(emulator);
            fs.writeFileSync(path.join(folders.source, "from-the-role"), "x");
            const worker = startWorkerProcess(
                workerProcessEnv(emulator.endpoint, queue.url, folders, {
                    AWS_ACCESS_KEY_ID: "",
                    AWS_SECRET_ACCESS_KEY: "",
                    AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentials.url}/v2/credentials/task`,
                    AWS_CONTAINER_AUTHORIZATION_TOKEN: authorization,
                }),
            );
            await sqsClient(emulator.endpoint).send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: "0", MessageBody: "from-the-role" }] }));
            await waitFor("the move", () => fs.existsSync(path.join(folders.destination, "from-the-role" + DEFAULTS.processedSuffix)), 20_000).catch((error: unknown) => {
                throw new Error(`${String(error)}; the worker printed: ${worker.output().slice(0, 2000)}`);
            });
            worker.child.kill("SIGTERM");
            const exit = await worker.exited;
            assert.equal(exit.code, 0, exit.stdout);
            const started = jsonLines(exit.stdout).find((line) => line.event === "started");
            assert.deepEqual([started?.credentials, started?.sqsEndpoint], ["container", emulator.endpoint]);
            assert.equal(credentials.requests.length, 1, "fetched once");
            for (const secret of [role.AccessKeyId, role.SecretAccessKey, role.Token, authorization]) assert.ok(!exit.stdout.includes(secret), "no key or token in the logs");
        } finally {
            folders.remove();
            await credentials.close();
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
            const worker = startWorkerProcess(
                workerProcessEnv(emulator.endpoint, queue.url, folders, { VISIBILITY_TIMEOUT_SECONDS: "5", AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_SESSION_TOKEN: KEY.token }),
            );
            await waitFor("some files moved", () => fs.readdirSync(folders.destination).length >= 200, 20_000);
            const signalled = Date.now();
            worker.child.kill("SIGTERM");
            const exit = await worker.exited;
            const stopMs = Date.now() - signalled;
            assert.equal(exit.code, 0, exit.stdout.slice(-2000));
            assert.ok(stopMs < 10_000, `stopped in ${stopMs} ms (ECS allows 30 s)`);
            assert.match(exit.stdout, /"event":"stopped"/);
            const started = jsonLines(exit.stdout).find((line) => line.event === "started");
            assert.deepEqual([started?.credentials, started?.sqsEndpoint], ["environment", emulator.endpoint], "the start-up line names the source of the credentials and the endpoint");
            for (const secret of Object.values(KEY)) assert.ok(!exit.stdout.includes(secret), "no key in the logs");

            // Nothing half-moved: each file is in exactly one of the two folders, and no partial copy exists.
            const source = new Set(fs.readdirSync(folders.source));
            const destination = new Set(fs.readdirSync(folders.destination));
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
                return state.ready.length + state.inflight.length === 0 && fs.readdirSync(folders.source).length === 0;
            }, 30_000);
            await drain.stop();
            assert.equal(fs.readdirSync(folders.destination).length, names.length);
            assert.equal(queueState(emulator, queue.deadLetterName).ready.length, 0, "no valid message in the dead-letter queue");
        } finally {
            folders.remove();
        }
    });
});
