/**
 * The one container definition both stacks use, as a pure function: its health check, and the
 * folder-creation setting the region task turns on and hosts leave off.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { IMAGE_UID } from "../../worker/src/folders";
import { ENVIRONMENT_VARIABLES, parseWorkerEnvironment } from "../../worker/src/options";
import { WORKER_HEALTH_CHECK, WORKER_HEALTH_SCRIPT, WORKER_UID, workerContainerDefinition, type WorkerContainerSettings } from "../worker-task";
import { REPOSITORY_ROOT } from "./support/example-config";

const base: WorkerContainerSettings = {
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1@sha256:" + "a".repeat(64),
    queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ecs-anywhere-queue",
    region: "eu-west-1",
    logGroupName: "/ecs/ecs-anywhere-region",
    logStreamPrefix: "region",
    logFileNames: "plain",
};

const environmentOf = (settings: WorkerContainerSettings) => Object.fromEntries(workerContainerDefinition(settings).environment.map(({ name, value }) => [name, value]));

describe("worker container definition", () => {
    describe("health check", () => {
        it("is the same in the region task and on hosts", () => {
            const inRegion = workerContainerDefinition({ ...base, createFolders: true });
            const onHost = workerContainerDefinition({ ...base, logStreamPrefix: "external", logFileNames: "hash", cpu: 256, memory: 256, memoryReservation: 64 });
            assert.deepEqual(inRegion.healthCheck, onHost.healthCheck);
            assert.deepEqual(inRegion.healthCheck, { ...WORKER_HEALTH_CHECK, command: ["CMD", "node", WORKER_HEALTH_SCRIPT] });
        });

        it("stays inside the ranges ECS accepts, and a check ends before the next starts", () => {
            const { interval, timeout, retries, startPeriod } = workerContainerDefinition(base).healthCheck;
            assert.ok(interval >= 5 && interval <= 300, `interval ${interval}`);
            assert.ok(timeout >= 2 && timeout <= 60 && timeout < interval, `timeout ${timeout}`);
            assert.ok(retries >= 1 && retries <= 10, `retries ${retries}`);
            assert.ok(startPeriod >= 0 && startPeriod <= 300, `startPeriod ${startPeriod}`);
        });

        it("runs the worker's health script where the image puts it, with node (the image has no curl)", () => {
            const dockerfile = fs.readFileSync(path.join(REPOSITORY_ROOT, "worker", "Dockerfile"), "utf8");
            const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
            const dist = /^COPY (?:--link )?--from=build \/src\/worker\/dist (\/\S+)$/m.exec(finalStage)?.[1];
            assert.ok(dist, "the compiled worker is copied to a folder named in full in the last stage");
            assert.equal(WORKER_HEALTH_SCRIPT, `${dist}/health.js`);
            assert.ok(fs.existsSync(path.join(REPOSITORY_ROOT, "worker", "src", "health.ts")), "worker/src/health.ts compiles to dist/health.js");
            assert.doesNotMatch(dockerfile, /\bcurl\b/);
        });
    });

    describe("folder creation (CREATE_FOLDERS)", () => {
        it("is off unless the caller turns it on, and the worker's parser reads it so", () => {
            const off = environmentOf(base);
            assert.equal(off.CREATE_FOLDERS, "false");
            assert.equal(parseWorkerEnvironment(off).createFolders, false);
            const on = environmentOf({ ...base, createFolders: true });
            assert.equal(on.CREATE_FOLDERS, "true");
            assert.equal(parseWorkerEnvironment(on).createFolders, true);
        });

        it("puts only variables the worker reads in the environment", () => {
            for (const name of Object.keys(environmentOf({ ...base, createFolders: true }))) assert.ok((ENVIRONMENT_VARIABLES as readonly string[]).includes(name), name);
        });
    });

    it("runs as the uid the worker's folder checks name in their fixes", () => {
        assert.equal(WORKER_UID, IMAGE_UID);
        assert.equal(workerContainerDefinition(base).user, `${IMAGE_UID}:${IMAGE_UID}`);
    });
});
