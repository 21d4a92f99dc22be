/**
 * The translation of the anywhere stack's container definition into `podman run` arguments
 * (e2e/lib/ecs-run.ts), as the e2e runs the worker image: every field the definition sets reaches
 * the container, a field it does not know or a volume the task lacks is refused.
 */
import * as assert from "node:assert/strict";
import { EXTERNAL_NETWORK_MODE, externalWorkerContainer } from "../../infra/anywhere/index";
import { podmanRunArgs, TranslationError, type TaskSettings } from "../lib/ecs-run";

const definition = externalWorkerContainer({ image: "127.0.0.1:5000/worker:latest@sha256:" + "a".repeat(64), queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/q", region: "eu-west-1", logGroupName: "/ecs/worker" }, "hash");
const task: TaskSettings = { networkMode: EXTERNAL_NETWORK_MODE, volumes: [{ name: "data", hostPath: "/srv/data" }], containerName: "ecs-worker-1" };

/** The value after each occurrence of `flag`. */
function values(args: readonly string[], flag: string): string[] {
    return args.flatMap((arg, i) => (arg === flag ? [args[i + 1]] : []));
}

describe("e2e: the EXTERNAL task's container definition as a podman run (e2e/lib/ecs-run.ts)", () => {
    const { args, notes } = podmanRunArgs(definition, task);

    it("runs the definition's image, named as the task says, in the task's network mode", () => {
        assert.equal(args.at(-1), definition.image);
        assert.deepEqual([values(args, "--name"), values(args, "--network")], [["ecs-worker-1"], ["bridge"]]);
    });

    it("as the definition's user, on a read-only root with nothing writable added (Docker's ReadonlyRootfs; podman would add tmpfs)", () => {
        assert.deepEqual(values(args, "--user"), ["10001:10001"]);
        assert.ok(args.includes("--read-only") && args.includes("--read-only-tmpfs=false"));
        assert.ok(!args.includes("--privileged"));
    });

    it("with exactly the definition's environment, and the agent's variables after it", () => {
        assert.deepEqual(values(args, "--env"), definition.environment.map(({ name, value }) => `${name}=${value}`));
        const withAgent = podmanRunArgs(definition, { ...task, agentEnvironment: { AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:1" } }).args;
        assert.equal(values(withAgent, "--env").at(-1), "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:1");
    });

    it("with the task's host folder bound read-write at the mount point", () => {
        assert.deepEqual(values(args, "--volume"), ["/srv/data:/data:rw"]);
    });

    it("with the health check, limits and stop timeout of the definition", () => {
        assert.deepEqual(values(args, "--health-cmd"), [JSON.stringify(["node", "/app/dist/health.js"])]);
        assert.deepEqual(
            ["--health-interval", "--health-timeout", "--health-retries", "--health-start-period", "--cpu-shares", "--memory", "--memory-reservation", "--stop-timeout"].map((flag) => values(args, flag)[0]),
            ["30s", "10s", "3", "15s", "256", "256m", "64m", "30"],
        );
    });

    it("says what it does not carry over: the awslogs driver", () => {
        assert.deepEqual(notes, ["logConfiguration awslogs: the output stays with podman (podman logs); no CloudWatch here"]);
    });

    it("refuses a field it does not know, a volume the task lacks, and a health check of another kind", () => {
        assert.throws(() => podmanRunArgs({ ...definition, ...{ linuxParameters: { initProcessEnabled: true } } }, task), (error: unknown) => error instanceof TranslationError && /linuxParameters/.test(error.message));
        assert.throws(() => podmanRunArgs(definition, { ...task, volumes: [] }), /volume "data" is not one of the task's \(none\)/);
        assert.throws(() => podmanRunArgs({ ...definition, healthCheck: { ...definition.healthCheck, command: ["NONE"] } }, task), /expected \["CMD", \.\.\.\]/);
    });
});
