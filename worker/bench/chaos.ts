/**
 * `npm run chaos [-- --quick]`: the worker loses nothing under faults. 10,000 files and messages
 * (2,000 with --quick) plus invalid messages; the worker is killed with SIGKILL at five random
 * moments and restarted; the SQS endpoint is cut for 10 s once (at a proxy, so the queue keeps its
 * state); then the data mount is lost (both folders gone) for longer than maxReceiveCount x
 * visibility while the last fifth of the messages arrives, and a worker started meanwhile must
 * refuse to start; SIGTERM at the end. It then checks every file and message and exits 1 on any
 * loss or on a good message dead-lettered. Loopback only, bounded in time.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTcpProxy } from "../../test-support/tcp-proxy";
import { WORKER_NODE_FLAGS } from "../src/options";
import { createQueuePair, dataEntries, makeDataFolders, queueState, snapshot, sqsClient, startEmulator, workerProcessEnv } from "../test/support/harness";

const ROOT = path.resolve(__dirname, "..", "..");
const INVALID = ["../x", "   ", "a/b", "..", "/etc/passwd", "../outside/sentinel-1"];
const SUFFIX = "_has_been_processed";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

async function main(): Promise<void> {
    const quick = process.argv.includes("--quick");
    const count = quick ? 2_000 : 10_000;
    const maxReceiveCount = 6;
    const visibility = 5;
    // Longer than maxReceiveCount x visibility: a worker that blamed the messages would dead-letter them all.
    const lostMountMs = (maxReceiveCount * visibility + 5) * 1000;
    const deadline = Date.now() + (quick ? 150_000 : 300_000) + lostMountMs;
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(ROOT, "worker", "tsconfig.build.json")], { stdio: "inherit" });

    const emulator = await startEmulator();
    const proxy = await startTcpProxy({ targetPort: emulator.port });
    const folders = makeDataFolders("ecs-anywhere-chaos-");
    const children: ChildProcess[] = [];
    const failures: string[] = [];
    try {
        // Invalid messages must reach the dead-letter queue; valid ones must never (a kill costs a receive, so allow several).
        const queue = createQueuePair(emulator, { visibilityTimeout: visibility, maxReceiveCount });
        const names = Array.from({ length: count }, (_, i) => `chaos-${String(i).padStart(6, "0")}`);
        // The last fifth's messages are sent while the mount is lost, so the worker surely has work then.
        const lateNames = names.slice(Math.floor(count * 0.8));
        for (const name of names) fs.writeFileSync(path.join(folders.source, name), `payload of ${name}\n`);
        for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(folders.outside, `sentinel-${i}`), `sentinel ${i}\n`);
        const outsideBefore = createHash("sha256").update(JSON.stringify(snapshot(folders.outside))).digest("hex");

        const sqs = sqsClient(emulator.endpoint);
        const sendAll = async (bodies: readonly string[]) => {
            for (let i = 0; i < bodies.length; i += 200) {
                await Promise.all(
                    Array.from({ length: Math.ceil(Math.min(200, bodies.length - i) / 10) }, (_, b) => {
                        const batch = bodies.slice(i + b * 10, i + b * 10 + 10);
                        return sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })) }));
                    }),
                );
            }
        };
        await sendAll([...names.slice(0, names.length - lateNames.length), ...INVALID]);
        console.log(`seeded ${names.length} files, ${names.length - lateNames.length} of their messages (the rest during the lost mount) and ${INVALID.length} invalid messages`);

        let current: ChildProcess | undefined;
        let workerOutput = "";
        const spawnWorker = () =>
            spawn(process.execPath, [...WORKER_NODE_FLAGS, path.join(ROOT, "worker", "dist", "main.js")], {
                stdio: ["ignore", "pipe", "ignore"],
                env: workerProcessEnv(proxy.url, queue.url, folders, { VISIBILITY_TIMEOUT_SECONDS: String(visibility), RECEIVE_WAIT_SECONDS: "2" }),
            });
        const startWorker = () => {
            const child = spawnWorker();
            child.stdout?.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
            children.push(child);
            current = child;
        };
        const moved = () => dataEntries(folders.destination).length;

        startWorker();
        for (let kill = 1; kill <= 5; kill++) {
            await sleep(random(200, quick ? 700 : 1500));
            current?.kill("SIGKILL");
            console.log(`SIGKILL ${kill} at ${moved()} files moved; restarting`);
            startWorker();
        }
        await sleep(random(200, 800));
        proxy.cut();
        console.log(`endpoint cut for 10 s at ${moved()} files moved`);
        await sleep(10_000);
        proxy.restore();
        console.log("endpoint restored");

        // The data mount lost: both folders gone from under the worker, as when /data is unmounted.
        const unmounted = path.join(folders.root, ".unmounted");
        fs.mkdirSync(unmounted);
        fs.renameSync(folders.source, path.join(unmounted, "sourcefolder"));
        fs.renameSync(folders.destination, path.join(unmounted, "destinationfolder"));
        const lostAt = Date.now();
        console.log(`data mount lost at ${dataEntries(path.join(unmounted, "destinationfolder")).length} files moved; sending the last ${lateNames.length} messages`);
        await sendAll(lateNames);
        // A worker (re)started meanwhile must refuse at once, before receiving anything.
        const restarted = spawnWorker();
        children.push(restarted);
        let restartedOutput = "";
        restarted.stdout?.on("data", (chunk: Buffer) => (restartedOutput += chunk.toString()));
        const restartedCode = await Promise.race([new Promise<number | null>((resolve) => restarted.once("exit", (code) => resolve(code))), sleep(15_000).then(() => "timeout" as const)]);
        console.log(`a worker started while the mount is lost: exit ${restartedCode}${/"event":"folders-unusable"/.test(restartedOutput) ? ", folders-unusable" : ""}`);
        if (restartedCode !== 3 || !/"event":"folders-unusable"/.test(restartedOutput)) failures.push(`a worker started without its folders exited ${restartedCode} (expected 3 with a folders-unusable line): ${restartedOutput.slice(0, 500)}`);
        await sleep(Math.max(0, lostMountMs - (Date.now() - lostAt)));
        const deadDuringLoss = queueState(emulator, queue.deadLetterName).ready.filter((body) => !INVALID.includes(body));
        if (deadDuringLoss.length > 0) failures.push(`${deadDuringLoss.length} good messages dead-lettered while the mount was lost`);
        fs.renameSync(path.join(unmounted, "sourcefolder"), folders.source);
        fs.renameSync(path.join(unmounted, "destinationfolder"), folders.destination);
        fs.rmdirSync(unmounted);
        console.log(`data mount back after ${((Date.now() - lostAt) / 1000).toFixed(1)} s (maxReceiveCount ${maxReceiveCount} x visibility ${visibility} s = ${maxReceiveCount * visibility} s)`);

        // Done when every valid file is moved, the main queue is empty and the invalid ones are dead-lettered.
        while (Date.now() < deadline) {
            const main = queueState(emulator, queue.name);
            const dead = queueState(emulator, queue.deadLetterName);
            if (main.ready.length + main.inflight.length + main.delayed.length === 0 && dead.ready.length >= INVALID.length && moved() >= count) break;
            await sleep(250);
        }
        const exited = new Promise<number | null>((resolve) => current?.once("exit", (code) => resolve(code)));
        const stopAt = Date.now();
        current?.kill("SIGTERM");
        const code = await Promise.race([exited, sleep(30_000).then(() => "timeout" as const)]);
        console.log(`SIGTERM: exit ${code} after ${Date.now() - stopAt} ms`);
        if (code !== 0) failures.push(`the worker exited ${code} on SIGTERM (expected 0 within 30 s)`);

        // The figures and the checks.
        const destination = dataEntries(folders.destination);
        const expected = new Set(names.map((name) => name + SUFFIX));
        const unexpected = destination.filter((name) => !expected.has(name));
        const missing = [...expected].filter((name) => !destination.includes(name));
        const wrongContent = names.filter((name) => fs.existsSync(path.join(folders.destination, name + SUFFIX)) && fs.readFileSync(path.join(folders.destination, name + SUFFIX), "utf8") !== `payload of ${name}\n`);
        const leftInSource = dataEntries(folders.source);
        const outsideAfter = createHash("sha256").update(JSON.stringify(snapshot(folders.outside))).digest("hex");
        const main = queueState(emulator, queue.name);
        const dead = queueState(emulator, queue.deadLetterName);
        const deadSorted = [...dead.ready].sort();
        const invalidSorted = [...INVALID].sort();

        console.log(`files in destination: ${destination.length} (expected ${count}), missing ${missing.length}, unexpected ${unexpected.length}, wrong content ${wrongContent.length}`);
        console.log(`files left in source: ${leftInSource.length}; outside folder unchanged: ${outsideBefore === outsideAfter}`);
        console.log(`main queue: ${main.ready.length} ready, ${main.inflight.length} in flight; dead-letter queue: ${dead.ready.length} (${JSON.stringify(deadSorted)})`);
        console.log(`worker processes started: ${children.length} (5 killed with SIGKILL, 1 refused to start without its folders, 1 stopped with SIGTERM)`);
        const faults = (workerOutput.match(/"event":"worker-fault"/g) ?? []).length;
        const cleared = (workerOutput.match(/"event":"worker-fault-cleared"/g) ?? []).length;
        console.log(`lost mount: ${faults} worker-fault line(s), ${cleared} worker-fault-cleared line(s)`);
        if (faults === 0 || cleared === 0) failures.push(`the worker logged ${faults} worker-fault and ${cleared} worker-fault-cleared lines for the lost mount (expected at least one of each)`);

        if (destination.length !== count || missing.length > 0 || unexpected.length > 0) failures.push(`destination holds ${destination.length} files, ${missing.length} missing, ${unexpected.length} unexpected (${unexpected.slice(0, 5).join(", ")})`);
        if (wrongContent.length > 0) failures.push(`${wrongContent.length} files have the wrong content`);
        if (leftInSource.length > 0) failures.push(`${leftInSource.length} files left in the source folder: ${leftInSource.slice(0, 5).join(", ")}`);
        if (outsideBefore !== outsideAfter) failures.push("a file outside the data folders changed");
        if (main.ready.length + main.inflight.length + main.delayed.length > 0) failures.push(`${main.ready.length + main.inflight.length} messages left in the main queue`);
        if (JSON.stringify(deadSorted) !== JSON.stringify(invalidSorted)) failures.push(`the dead-letter queue holds ${JSON.stringify(deadSorted)}, expected exactly the invalid messages ${JSON.stringify(invalidSorted)}`);
    } finally {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await proxy.close();
        await emulator.stop();
        folders.remove();
    }
    if (failures.length > 0) {
        console.error(`\nCHAOS FAILED:\n- ${failures.join("\n- ")}`);
        process.exit(1);
    }
    console.log("\nchaos passed: every valid file moved exactly once, nothing lost, nothing outside touched, only the invalid messages dead-lettered, the lost mount ridden out");
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
