/**
 * `npm run chaos [-- --quick]`: the worker loses nothing under faults. 10,000 files and messages
 * (2,000 with --quick) plus invalid messages; the worker is killed with SIGKILL at five random
 * moments and restarted; the SQS endpoint is cut for 10 s once (at a proxy, so the queue keeps its
 * state); SIGTERM at the end. It then checks every file and message and exits 1 on any loss.
 * Loopback only, bounded in time.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTcpProxy } from "../../test-support/tcp-proxy";
import { WORKER_NODE_FLAGS } from "../src/options";
import { createQueuePair, makeDataFolders, queueState, snapshot, sqsClient, startEmulator, workerProcessEnv } from "../test/support/harness";

const ROOT = path.resolve(__dirname, "..", "..");
const INVALID = ["../x", "   ", "a/b", "..", "/etc/passwd", "../outside/sentinel-1"];
const SUFFIX = "_has_been_processed";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

async function main(): Promise<void> {
    const quick = process.argv.includes("--quick");
    const count = quick ? 2_000 : 10_000;
    const deadline = Date.now() + (quick ? 150_000 : 300_000);
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(ROOT, "worker", "tsconfig.build.json")], { stdio: "inherit" });

    const emulator = await startEmulator();
    const proxy = await startTcpProxy({ targetPort: emulator.port });
    const folders = makeDataFolders("ecs-anywhere-chaos-");
    const children: ChildProcess[] = [];
    const failures: string[] = [];
    try {
        // Invalid messages must reach the dead-letter queue; valid ones must never (a kill costs a receive, so allow several).
        const queue = createQueuePair(emulator, { visibilityTimeout: 5, maxReceiveCount: 6 });
        const names = Array.from({ length: count }, (_, i) => `chaos-${String(i).padStart(6, "0")}`);
        for (const name of names) fs.writeFileSync(path.join(folders.source, name), `payload of ${name}\n`);
        for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(folders.outside, `sentinel-${i}`), `sentinel ${i}\n`);
        const outsideBefore = createHash("sha256").update(JSON.stringify(snapshot(folders.outside))).digest("hex");

        const sqs = sqsClient(emulator.endpoint);
        const bodies = [...names, ...INVALID];
        for (let i = 0; i < bodies.length; i += 200) {
            await Promise.all(
                Array.from({ length: Math.ceil(Math.min(200, bodies.length - i) / 10) }, (_, b) => {
                    const batch = bodies.slice(i + b * 10, i + b * 10 + 10);
                    return sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })) }));
                }),
            );
        }
        console.log(`seeded ${names.length} files and messages and ${INVALID.length} invalid messages`);

        let current: ChildProcess | undefined;
        const startWorker = () => {
            const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, path.join(ROOT, "worker", "dist", "main.js")], {
                stdio: ["ignore", "ignore", "ignore"],
                env: workerProcessEnv(proxy.url, queue.url, folders, { VISIBILITY_TIMEOUT_SECONDS: "5", RECEIVE_WAIT_SECONDS: "2" }),
            });
            children.push(child);
            current = child;
        };
        const moved = () => fs.readdirSync(folders.destination).length;

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
        const destination = fs.readdirSync(folders.destination);
        const expected = new Set(names.map((name) => name + SUFFIX));
        const unexpected = destination.filter((name) => !expected.has(name));
        const missing = [...expected].filter((name) => !destination.includes(name));
        const wrongContent = names.filter((name) => fs.existsSync(path.join(folders.destination, name + SUFFIX)) && fs.readFileSync(path.join(folders.destination, name + SUFFIX), "utf8") !== `payload of ${name}\n`);
        const leftInSource = fs.readdirSync(folders.source);
        const outsideAfter = createHash("sha256").update(JSON.stringify(snapshot(folders.outside))).digest("hex");
        const main = queueState(emulator, queue.name);
        const dead = queueState(emulator, queue.deadLetterName);
        const deadSorted = [...dead.ready].sort();
        const invalidSorted = [...INVALID].sort();

        console.log(`files in destination: ${destination.length} (expected ${count}), missing ${missing.length}, unexpected ${unexpected.length}, wrong content ${wrongContent.length}`);
        console.log(`files left in source: ${leftInSource.length}; outside folder unchanged: ${outsideBefore === outsideAfter}`);
        console.log(`main queue: ${main.ready.length} ready, ${main.inflight.length} in flight; dead-letter queue: ${dead.ready.length} (${JSON.stringify(deadSorted)})`);
        console.log(`worker processes started: ${children.length} (5 killed with SIGKILL, 1 stopped with SIGTERM)`);

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
    console.log("\nchaos passed: every valid file moved exactly once, nothing lost, nothing outside touched, invalid messages dead-lettered");
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
