/**
 * The worker image the region stack built and pushed, run as the ECS agent runs the anywhere
 * stack's task on a host: `npm run e2e` runs it after `pulumi up -s region`; by hand, in a sandbox
 * whose region stack is up (the registry must be serving, so through the sandbox):
 *
 *   bash e2e/sandbox.sh node --import tsx "$PWD/e2e/image-run.ts" [<image reference>]
 *
 * The container definition is the anywhere stack's own (`externalWorkerContainer`, the one
 * function the stack's task definition is made with), with the region stack's image and log
 * group, the queue an SQS emulator's (fauxqs, in this process, on loopback), turned into a
 * `podman run` by e2e/lib/ecs-run.ts; the data folder is prepared by the host script the stack
 * runs on a site (`prepareDataCommand`: hosts/bootstrap/prepare-data.sh), run here as root.
 * Where it differs from a host, and why: podman 4.3 in place of Docker (the ECS agent's runtime);
 * host network mode in place of the task's bridge, so that the container reaches the emulator on
 * this machine's loopback (host is one of the EXTERNAL task's modes; nothing here may leave
 * loopback); static keys in the environment in place of the agent's task-role endpoint; podman's
 * own log in place of awslogs; the health check run by `podman healthcheck run` (podman runs it
 * from systemd timers, and there is no systemd here), each run one of ECS's 30 s ticks.
 *
 * Checks, linux/amd64: it starts as uid 10001 on a read-only root and sends its first
 * ReceiveMessage (timed from `podman start`, three starts); the five demo files move and their
 * messages are deleted; the health check says healthy, then unhealthy after its retries once the
 * data folders are unwritable, then healthy again; hostile names touch nothing and are deleted
 * never; SIGTERM with moves in flight (a backlog of 1,000 files, sent while the container is
 * paused) finishes them (every file moved or untouched, as many moved
 * as deleted) and the container exits 0 within the stop timeout; its peak memory (the node
 * process's VmHWM and the container's cgroup) stays under the task's hard limit. linux/arm64,
 * under emulation (qemu-user-static): it starts and sends its first receive.
 * Ends with `image-run: all N checks held` or `image-run: N of M checks failed`; exit 1 then.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { externalWorkerContainer, EXTERNAL_NETWORK_MODE } from "../infra/anywhere/index";
import { prepareDataCommand } from "../infra/anywhere/host-commands";
import { DATA_MOUNT_PATH, WORKER_UID, type WorkerContainerDefinition } from "../infra/worker-task";
import { startTcpProxy, type TcpProxy } from "../test-support/tcp-proxy";
import { dataEntries, HOSTILE_BODIES, snapshot, sqsClient, startEmulator, TEST_CREDENTIALS, waitFor, type Emulator } from "../worker/test/support/harness";
import { podmanRunArgs } from "./lib/ecs-run";
import { Podman, podmanUnavailable } from "./lib/podman";

const SUFFIX = "_has_been_processed";
const DEMO_FILES = ["001", "002", "003", "004", "005"];
/** Files being moved when SIGTERM comes: enough, and large enough (64 KiB, copied and synced: root owns them), that it lands mid-way. */
const STOP_FILES = 1000;
const START_SAMPLES = 3;

class CheckFailed extends Error {
    override name = "CheckFailed";
}

function expect(condition: unknown, message: string): asserts condition {
    if (!condition) throw new CheckFailed(message);
}

/** Sees every ReceiveMessage the worker sends through the proxy in front of the emulator. */
class ReceiveWatch {
    private waiting: Array<(at: number) => void> = [];
    count = 0;

    seen(chunk: Buffer): void {
        if (!chunk.includes("AmazonSQS.ReceiveMessage")) return;
        this.count++;
        const now = performance.now();
        for (const resolve of this.waiting.splice(0)) resolve(now);
    }

    /** When the next ReceiveMessage arrives (NaN after `timeoutMs`). */
    next(timeoutMs: number): Promise<number> {
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(Number.NaN), timeoutMs);
            this.waiting.push((at) => {
                clearTimeout(timer);
                resolve(at);
            });
        });
    }
}

interface Run {
    readonly podman: Podman;
    readonly image: string;
    readonly region: Record<string, string>;
    readonly emulator: Emulator;
    readonly proxy: TcpProxy;
    readonly watch: ReceiveWatch;
    readonly sqs: SQSClient;
    readonly data: string;
    readonly figures: string[];
    /** The image id pulled for each platform. */
    readonly pulled: Record<string, string>;
    containers: number;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

/** The anywhere stack's container definition, on the emulator's queue `queueName`, for the image `imageId`. */
function definitionFor(run: Run, queueName: string, imageId: string): { definition: WorkerContainerDefinition; args: string[] } {
    const queue = run.emulator.server.createQueue(queueName, { region: run.region.region });
    const definition = externalWorkerContainer({ image: run.image, queueUrl: queue.queueUrl, region: run.region.region, logGroupName: run.region.logGroupName }, "hash");
    const { args } = podmanRunArgs(
        // The agent pulls the definition's image for its host's platform; here each platform's was pulled by that reference, and is run by its id.
        { ...definition, image: imageId },
        {
            // Host, not the task's bridge: the emulator is on this machine's loopback.
            networkMode: "host",
            volumes: [{ name: "data", hostPath: run.data }],
            containerName: `ecs-worker-${process.pid}-${++run.containers}`,
            agentEnvironment: {
                AWS_EXECUTION_ENV: "AWS_ECS_EXTERNAL",
                AWS_ENDPOINT_URL_SQS: run.proxy.url,
                AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
                AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
            },
        },
    );
    return { definition, args };
}

/** Creates the container, starts it, and times `podman start` to its first ReceiveMessage. */
async function startTimed(run: Run, args: string[], timeoutMs: number): Promise<{ id: string; ms: number }> {
    const id = await run.podman.must(["create", ...args]);
    const first = run.watch.next(timeoutMs);
    const started = performance.now();
    await run.podman.must(["start", id]);
    const at = await first;
    if (Number.isNaN(at)) throw new CheckFailed(`no ReceiveMessage within ${timeoutMs / 1000} s of podman start; its output:\n${(await logs(run, id)).slice(-1500)}`);
    return { id, ms: at - started };
}

async function logs(run: Run, id: string): Promise<string> {
    const result = await run.podman.run(["logs", id]);
    return result.stdout + result.stderr;
}

async function events(run: Run, id: string, name: string): Promise<Array<Record<string, unknown>>> {
    return (await logs(run, id))
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((event) => event.event === name);
}

function inspect(run: Run, id: string, format: string): Promise<string> {
    return run.podman.must(["inspect", "--format", format, id]);
}

async function send(run: Run, queueUrl: string, bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
        const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body }));
        const sent = await run.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        expect((sent.Failed ?? []).length === 0, `the emulator refused ${JSON.stringify(sent.Failed)}`);
    }
}

function queueCounts(run: Run, name: string): { ready: number; inflight: number } {
    const state = run.emulator.server.inspectQueue(name);
    if (!state) throw new CheckFailed(`no queue ${name}`);
    return { ready: state.messages.ready.length, inflight: state.messages.inflight.length };
}

function healthStatus(run: Run, id: string): Promise<string> {
    return inspect(run, id, "{{.State.Health.Status}}");
}

/** Empties both data folders (root's files and the worker's). */
function clearData(run: Run): void {
    for (const folder of ["sourcefolder", "destinationfolder"]) {
        for (const entry of fs.readdirSync(path.join(run.data, folder))) fs.rmSync(path.join(run.data, folder, entry), { recursive: true, force: true });
    }
}

/** The moved files in the destination folder (beside it: the worker's folder of partial copies). */
function processed(run: Run): string[] {
    return fs.readdirSync(path.join(run.data, "destinationfolder")).filter((name) => name.endsWith(SUFFIX));
}

function writeFiles(run: Run, names: readonly string[], size = 0): void {
    for (const name of names) fs.writeFileSync(path.join(run.data, "sourcefolder", name), `content of ${name}\n`.padEnd(size, "."));
}

/** The resident high-water mark of the container's main process and its cgroup's, in MiB, with the cgroup's limit hits. */
async function memoryOf(run: Run, id: string): Promise<{ vmHwm: number; cgroupPeak: number; failcnt: number }> {
    const pid = await inspect(run, id, "{{.State.Pid}}");
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const vmHwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
    const cgroup = /^\d+:memory:(.+)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
    const memory = cgroup === undefined ? undefined : path.join("/sys/fs/cgroup/memory", cgroup);
    if (memory === undefined || !fs.existsSync(path.join(memory, "memory.max_usage_in_bytes"))) return { vmHwm, cgroupPeak: Number.NaN, failcnt: Number.NaN };
    const read = (file: string) => Number(fs.readFileSync(path.join(memory, file), "utf8").trim());
    return { vmHwm, cgroupPeak: read("memory.max_usage_in_bytes") / 1024 / 1024, failcnt: read("memory.failcnt") };
}

// --- the checks ------------------------------------------------------------------------------------

/** The amd64 container the checks after the first share: started once, stopped by the SIGTERM check. */
interface Main {
    readonly id: string;
    readonly definition: WorkerContainerDefinition;
    readonly queueUrl: string;
    readonly startedAt: number;
}

let amd64: Main | undefined;

function mainContainer(): Main {
    if (!amd64) throw new CheckFailed("the amd64 container did not start");
    return amd64;
}

/** `check`, with the container's last output added to its failure. */
async function withOutput(run: Run, id: string, check: () => Promise<void>): Promise<void> {
    try {
        await check();
    } catch (error) {
        throw new CheckFailed(`${error instanceof Error ? error.message : String(error)}\nthe container's last output:\n${(await logs(run, id)).slice(-2000)}`);
    }
}

type Check = readonly [title: string, run: (run: Run) => Promise<void>];

const checks: Check[] = [
    [
        "linux/amd64: starts as the task says (uid 10001, read-only root, 256 MiB hard, 64 soft, 256 CPU shares) and sends its first ReceiveMessage",
        async (run) => {
            const times: number[] = [];
            for (let i = 0; i < START_SAMPLES; i++) {
                const { args } = definitionFor(run, `start-${i}`, run.pulled["linux/amd64"]);
                const { id, ms } = await startTimed(run, args, 30_000);
                times.push(ms);
                await withOutput(run, id, async () => {
                    const config = JSON.parse(await inspect(run, id, "{{json .HostConfig}}")) as { ReadonlyRootfs: boolean; Memory: number; MemoryReservation: number; CpuShares: number };
                    expect((await inspect(run, id, "{{.Config.User}}")) === `${WORKER_UID}:${WORKER_UID}`, "not run as 10001:10001");
                    expect(config.ReadonlyRootfs && config.Memory === 256 * 1024 * 1024 && config.MemoryReservation === 64 * 1024 * 1024 && config.CpuShares === 256, `host config ${JSON.stringify(config)}`);
                    const write = await run.podman.run(["exec", id, "sh", "-c", "touch /app/x || touch /tmp/x"]);
                    expect(write.status !== 0 && /Read-only file system/.test(write.stderr), `the root file system is writable: ${write.stderr}`);
                    const [started] = await events(run, id, "started");
                    expect(started?.credentials === "environment" && started?.logFileNames === "hash" && started?.createFolders === false, `started line ${JSON.stringify(started)}`);
                });
                await run.podman.must(["rm", "--force", "--time", "0", id]);
            }
            run.figures.push(`amd64 podman start to first receive ${times.map((t) => t.toFixed(0)).join(", ")} ms (median ${median(times).toFixed(0)})`);
            const { definition, args } = definitionFor(run, "main", run.pulled["linux/amd64"]);
            const { id } = await startTimed(run, args, 30_000);
            amd64 = { id, definition, queueUrl: definition.environment.find((v) => v.name === "SQS_QUEUE_URL")?.value ?? "", startedAt: Date.now() };
        },
    ],
    [
        "linux/amd64: the five demo files move and their messages are deleted (names hashed in the log)",
        async (run) => {
            const { id, queueUrl } = mainContainer();
            await withOutput(run, id, async () => {
                clearData(run);
                writeFiles(run, DEMO_FILES);
                await send(run, queueUrl, DEMO_FILES);
                await waitFor("the five demo files moved and deleted", () => processed(run).length === 5 && queueCounts(run, "main").inflight + queueCounts(run, "main").ready === 0, 30_000);
                expect(dataEntries(path.join(run.data, "sourcefolder")).length === 0, "the source folder is not empty");
                for (const name of DEMO_FILES) expect(fs.readFileSync(path.join(run.data, "destinationfolder", name + SUFFIX), "utf8") === `content of ${name}\n`, `${name} moved wrong`);
                const moved = await events(run, id, "moved");
                expect(moved.length === 5 && moved.every((e) => typeof e.file === "string" && !DEMO_FILES.includes(e.file)), `moved lines ${JSON.stringify(moved.slice(0, 2))}: expected five, names hashed (LOG_FILE_NAMES=hash)`);
            });
        },
    ],
    [
        "linux/amd64: the health check says healthy, unhealthy after its 3 retries once the data folders are unwritable, healthy again once they are not",
        async (run) => {
            const { id, definition, startedAt } = mainContainer();
            // Failures inside the start period do not count: past it first.
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, (definition.healthCheck.startPeriod + 1) * 1000 - (Date.now() - startedAt))));
            const check = async () => (await run.podman.run(["healthcheck", "run", id])).status;
            expect((await check()) === 0 && (await healthStatus(run, id)) === "healthy", `not healthy at first: ${await healthStatus(run, id)}`);
            const folders = ["sourcefolder", "destinationfolder"].map((folder) => path.join(run.data, folder));
            try {
                for (const folder of folders) fs.chmodSync(folder, 0o550);
                for (let i = 1; i <= definition.healthCheck.retries; i++) {
                    expect((await check()) !== 0, `health check ${i} passed with the folders unwritable`);
                    const status = await healthStatus(run, id);
                    expect(status === (i < definition.healthCheck.retries ? "healthy" : "unhealthy"), `after ${i} failed check(s): ${status}`);
                }
            } finally {
                for (const folder of folders) fs.chmodSync(folder, 0o770);
            }
            expect((await check()) === 0 && (await healthStatus(run, id)) === "healthy", "not healthy again once the folders are writable");
        },
    ],
    [
        `linux/amd64: ${HOSTILE_BODIES.length} hostile names and a link out of the folder are rejected: nothing touched, nothing deleted`,
        async (run) => {
            const { id, queueUrl } = mainContainer();
            await withOutput(run, id, async () => {
                clearData(run);
                fs.symlinkSync("/etc/passwd", path.join(run.data, "sourcefolder", "evil"));
                const before = snapshot(run.data);
                const rejectedBefore = (await events(run, id, "rejected")).length;
                await send(run, queueUrl, [...HOSTILE_BODIES, "evil"]);
                // All received (in flight, never deleted), then the log read once.
                await waitFor("every hostile message received", () => queueCounts(run, "main").inflight === HOSTILE_BODIES.length + 1, 30_000);
                await waitFor("every hostile message rejected", async () => (await events(run, id, "rejected")).length - rejectedBefore === HOSTILE_BODIES.length + 1, 10_000);
                expect(JSON.stringify(snapshot(run.data)) === JSON.stringify(before), "a hostile message changed the data folder");
                await new Promise((resolve) => setTimeout(resolve, 500));
                const counts = queueCounts(run, "main");
                expect(counts.ready + counts.inflight === HOSTILE_BODIES.length + 1, `hostile messages deleted: ${JSON.stringify(counts)} left of ${HOSTILE_BODIES.length + 1}`);
                fs.rmSync(path.join(run.data, "sourcefolder", "evil"));
            });
        },
    ],
    [
        `linux/amd64: SIGTERM while ${STOP_FILES} files move lets the moves in flight finish (each file moved or untouched, as many moved as deleted) and exits 0 within the stop timeout; peak memory stays under the task's hard limit`,
        async (run) => {
            const { id, definition, queueUrl } = mainContainer();
            await withOutput(run, id, async () => {
                const hostileLeft = queueCounts(run, "main").ready + queueCounts(run, "main").inflight;
                const names = Array.from({ length: STOP_FILES }, (_, i) => `stop-${String(i).padStart(4, "0")}`);
                writeFiles(run, names, 65536);
                // A backlog, as when files arrive faster than they move: sent while the container is paused.
                await run.podman.must(["pause", id]);
                await send(run, queueUrl, names);
                await run.podman.must(["unpause", id]);
                await waitFor("the first moves", () => processed(run).length >= 20, 30_000);
                const memory = await memoryOf(run, id);
                const stopStarted = performance.now();
                const stop = await run.podman.run(["stop", "--time", String(definition.stopTimeout), id], { timeoutMs: (definition.stopTimeout + 15) * 1000 });
                const stopSeconds = (performance.now() - stopStarted) / 1000;
                expect(stop.status === 0, `podman stop failed: ${stop.stderr}`);
                const exitCode = Number(await inspect(run, id, "{{.State.ExitCode}}"));
                expect(exitCode === 0 && stopSeconds < definition.stopTimeout, `exit code ${exitCode} after ${stopSeconds.toFixed(1)} s (stop timeout ${definition.stopTimeout} s)`);
                expect((await events(run, id, "stopping")).length === 1 && (await events(run, id, "stop-deadline")).length === 0, "no stopping line, or the stop deadline was reached");
                const moved = processed(run).filter((name) => name.startsWith("stop-"));
                const left = fs.readdirSync(path.join(run.data, "sourcefolder")).filter((name) => name.startsWith("stop-"));
                expect(moved.length + left.length === STOP_FILES, `${moved.length} moved + ${left.length} untouched of ${STOP_FILES}: a move was left half done`);
                expect(moved.every((name) => !left.includes(name.slice(0, -SUFFIX.length))), "a file is in both folders");
                const partial = path.join(run.data, "destinationfolder", ".ecs-anywhere-partial");
                expect(!fs.existsSync(partial) || fs.readdirSync(partial).length === 0, "a partial copy was left");
                const counts = queueCounts(run, "main");
                const messagesLeft = counts.ready + counts.inflight - hostileLeft;
                expect(messagesLeft === left.length, `${left.length} files untouched but ${messagesLeft} of their messages left: moved and deleted differ`);
                expect(moved.length > 0 && left.length > 0, `SIGTERM came ${left.length === 0 ? "after" : "before"} all the moves (${moved.length} moved): not mid-way`);
                const stopping = String((await events(run, id, "stopping"))[0]?.time);
                const finishedAfter = (await events(run, id, "moved")).filter((e) => String(e.time) > stopping).length;
                expect(finishedAfter > 0, "no move finished after SIGTERM: none was in flight, so this showed nothing");
                run.figures.push(`SIGTERM mid-way through ${STOP_FILES} moves: ${moved.length} moved (${finishedAfter} of them finished after SIGTERM), ${left.length} untouched, exit 0 in ${stopSeconds.toFixed(1)} s`);
                const limit = definition.memory ?? Number.NaN;
                expect(memory.vmHwm < limit && !(memory.cgroupPeak >= limit) && !(memory.failcnt > 0), `peak memory ${JSON.stringify(memory)} MiB against the task's ${limit} MiB`);
                expect((await inspect(run, id, "{{.State.OOMKilled}}")) === "false", "killed for memory");
                run.figures.push(`amd64 peak: node VmHWM ${memory.vmHwm.toFixed(1)} MiB, container cgroup ${memory.cgroupPeak.toFixed(1)} MiB (limit ${limit}, ${memory.failcnt} limit hits)`);
            });
        },
    ],
    [
        "linux/arm64 under emulation: starts and sends its first ReceiveMessage",
        async (run) => {
            clearData(run);
            const { args } = definitionFor(run, "arm64", run.pulled["linux/arm64"]);
            const { id, ms } = await startTimed(run, args, 120_000);
            await withOutput(run, id, async () => {
                const machine = (await run.podman.run(["exec", id, "uname", "-m"])).stdout.trim();
                expect(machine === "aarch64", `uname -m in the arm64 container says ${machine}`);
                expect((await events(run, id, "started")).length === 1, "no started line");
                run.figures.push(`arm64 (qemu) podman start to first receive ${ms.toFixed(0)} ms`);
                const stop = await run.podman.run(["stop", "--time", "30", id], { timeoutMs: 60_000 });
                const exitCode = await inspect(run, id, "{{.State.ExitCode}}");
                expect(stop.status === 0 && exitCode === "0", `arm64 stop: exit ${exitCode}`);
            });
        },
    ],
];

function stackOutputs(): Record<string, string> {
    const shown = spawnSync("pulumi", ["stack", "output", "-s", "region", "--json"], { encoding: "utf8" });
    if (shown.status !== 0) throw new Error(`pulumi stack output -s region failed (is the region stack up?): ${shown.stderr}`);
    return JSON.parse(shown.stdout) as Record<string, string>;
}

async function main(): Promise<void> {
    const unavailable = podmanUnavailable();
    if (unavailable !== undefined) {
        console.log(`image-run: SKIPPED: running the image ${unavailable}`);
        return;
    }
    if (!process.env.E2E_REGISTRY) throw new Error("E2E_REGISTRY is not set: run this through the sandbox (bash e2e/sandbox.sh node --import tsx e2e/image-run.ts), whose registry holds the image");
    const region = stackOutputs();
    const image = process.argv[2] ?? region.imageUri;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-image-run-"));
    const podman = new Podman(path.join(work, "podman"));
    const watch = new ReceiveWatch();
    const emulator = await startEmulator();
    const proxy = await startTcpProxy({ targetPort: emulator.port, onClientData: (chunk) => watch.seen(chunk) });
    let failed = 0;
    const figures: string[] = [];
    try {
        // The agent pulls the definition's image: here each platform of it, by its digest.
        const pulled: Record<string, string> = {};
        for (const platform of ["linux/amd64", "linux/arm64"]) {
            const started = performance.now();
            pulled[platform] = (await podman.must(["pull", "--quiet", "--tls-verify=false", "--platform", platform, image], { timeoutMs: 300_000 })).split("\n").pop() ?? "";
            figures.push(`${platform} pulled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        }
        // The site's data folder, made by the host script the anywhere stack runs there.
        const data = path.join(work, "data");
        fs.mkdirSync(data);
        const prepared = spawnSync("sh", ["-c", prepareDataCommand({ hostName: "image-run", dataDir: data })], { encoding: "utf8" });
        if (prepared.status !== 0) throw new Error(`prepare-data.sh failed: ${prepared.stderr}`);
        const run: Run = { podman, image, region, emulator, proxy, watch, sqs: sqsClient(emulator.endpoint), data, figures, pulled, containers: 0 };
        console.log(`image-run: ${image}; the anywhere stack's container definition (network ${EXTERNAL_NETWORK_MODE} -> host here), data folder ${data} -> ${DATA_MOUNT_PATH}`);
        for (const [title, check] of checks) {
            try {
                await check(run);
                console.log(`  ok: ${title}`);
            } catch (error) {
                failed++;
                console.log(`  FAILED: ${title}\n    ${error instanceof Error ? error.message.split("\n").join("\n    ") : String(error)}`);
            }
        }
    } finally {
        console.log(`image-run: measured: ${figures.join("; ")}`);
        await proxy.close();
        await emulator.stop();
        await podman.run(["rm", "--all", "--force", "--time", "0"]);
        await podman.run(["rmi", "--all", "--force"]);
        fs.rmSync(work, { recursive: true, force: true });
    }
    console.log(failed === 0 ? `image-run: all ${checks.length} checks held` : `image-run: ${failed} of ${checks.length} checks failed`);
    process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
    console.log(`image-run: aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
});
