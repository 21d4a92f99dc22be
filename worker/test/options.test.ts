import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULTS, parseWorkerEnvironment, WORKER_NODE_FLAGS, WorkerConfigError } from "../src/options";

const QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/ecs-anywhere-queue";

describe("worker options", () => {
    it("applies the documented defaults and reads the region from the queue URL", () => {
        const options = parseWorkerEnvironment({ SQS_QUEUE_URL: QUEUE });
        assert.equal(options.region, "eu-west-1");
        assert.equal(options.sourceDir, DEFAULTS.sourceDir);
        assert.equal(options.destinationDir, DEFAULTS.destinationDir);
        assert.equal(options.processedSuffix, "_has_been_processed");
        assert.equal(options.logFileNames, "plain");
        assert.equal(options.createFolders, false, "folders are made only where a task asks for it");
    });

    it("accepts the walkthrough's EFS_* folder names as aliases", () => {
        const options = parseWorkerEnvironment({ SQS_QUEUE_URL: QUEUE, EFS_SOURCE_FOLDER: "/mnt/in", EFS_DESTINATION_FOLDER: "/mnt/out" });
        assert.equal(options.sourceDir, "/mnt/in");
        assert.equal(options.destinationDir, "/mnt/out");
    });

    const bad: Array<[Record<string, string>, string]> = [
        [{}, "SQS_QUEUE_URL"],
        [{ SQS_QUEUE_URL: "not a url" }, "SQS_QUEUE_URL"],
        [{ SQS_QUEUE_URL: "http://127.0.0.1:1/000000000000/q" }, "AWS_REGION"],
        [{ SQS_QUEUE_URL: QUEUE, AWS_REGION: "Europe" }, "AWS_REGION"],
        [{ SQS_QUEUE_URL: QUEUE, SOURCE_DIR: "relative/path" }, "SOURCE_DIR"],
        [{ SQS_QUEUE_URL: QUEUE, SOURCE_DIR: "/d", DESTINATION_DIR: "/d/" }, "DESTINATION_DIR"],
        [{ SQS_QUEUE_URL: QUEUE, PROCESSED_SUFFIX: "a/b" }, "PROCESSED_SUFFIX"],
        [{ SQS_QUEUE_URL: QUEUE, LOG_FILE_NAMES: "yes" }, "LOG_FILE_NAMES"],
        [{ SQS_QUEUE_URL: QUEUE, RECEIVE_LOOPS: "0" }, "RECEIVE_LOOPS"],
        [{ SQS_QUEUE_URL: QUEUE, RECEIVE_BATCH_SIZE: "11" }, "RECEIVE_BATCH_SIZE"],
        [{ SQS_QUEUE_URL: QUEUE, CREATE_FOLDERS: "yes" }, "CREATE_FOLDERS"],
    ];
    for (const [env, variable] of bad) {
        it(`names ${variable} when given ${JSON.stringify(env)}`, () => {
            assert.throws(
                () => parseWorkerEnvironment(env),
                (error: unknown) => error instanceof WorkerConfigError && error.variable === variable && error.message.startsWith(variable),
            );
        });
    }
});

describe("worker runtime flags", () => {
    it("the image entrypoint and `npm run worker` start node with WORKER_NODE_FLAGS and nothing else", () => {
        const root = path.resolve(__dirname, "..", "..");
        const dockerfile = fs.readFileSync(path.join(root, "worker", "Dockerfile"), "utf8");
        const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
        // Exactly: the benchmark and the chaos run measure what the image runs.
        assert.deepEqual(entrypoint, ["node", ...WORKER_NODE_FLAGS, "/app/dist/main.js"]);
        const scripts = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        assert.ok(scripts.worker.includes(`node ${WORKER_NODE_FLAGS.join(" ")} worker/dist/main.js`), scripts.worker);
    });

    it("the image runs as uid 10001, the uid hosts and EFS prepare /data for", () => {
        const dockerfile = fs.readFileSync(path.resolve(__dirname, "..", "Dockerfile"), "utf8");
        assert.match(dockerfile, /^USER 10001:10001$/m);
        assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\}/m);
    });
});
