/**
 * `npm run demo`: the walkthrough's five-file test, offline. An SQS emulator runs in this
 * process on loopback, the worker runs against it and a temporary data folder, five messages
 * name five files, and both folders are listed before and after.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import * as fs from "node:fs";
import * as path from "node:path";
import { Logger, parseWorkerEnvironment, Worker } from "./src/index";
import { createQueuePair, dataEntries, makeDataFolders, sqsClient, startEmulator, TEST_REGION, waitFor, workerSqs } from "./test/support/harness";

function listing(dir: string): string {
    const names = dataEntries(dir).sort();
    const lines = names.map((name) => {
        const stats = fs.statSync(path.join(dir, name));
        return `  -rw-r--r-- ${String(stats.size).padStart(4)} ${stats.mtime.toISOString().slice(0, 16).replace("T", " ")} ${name}`;
    });
    return [`${dir}: ${names.length} file(s)`, ...lines].join("\n");
}

async function main(): Promise<void> {
    const emulator = await startEmulator();
    const folders = makeDataFolders("ecs-anywhere-demo-");
    try {
        const queue = createQueuePair(emulator);
        const names = ["001", "002", "003", "004", "005"];
        for (const name of names) fs.writeFileSync(path.join(folders.source, name), `file ${name}\n`);

        console.log(`SQS emulator on ${emulator.endpoint}, queue ${queue.url}\n`);
        console.log("Before:");
        console.log(listing(folders.source));
        console.log(listing(folders.destination));

        const options = parseWorkerEnvironment({
            SQS_QUEUE_URL: queue.url,
            AWS_REGION: TEST_REGION,
            SOURCE_DIR: folders.source,
            DESTINATION_DIR: folders.destination,
        });
        const sqs = sqsClient(emulator.endpoint);
        const logLines: string[] = [];
        const worker = new Worker(options, { sqs: workerSqs(emulator.endpoint), logger: new Logger("plain", undefined, (line) => logLines.push(line)) });
        const started = Date.now();
        await worker.start();

        console.log(`\nSending ${names.length} messages: ${names.join(", ")}`);
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: names.map((name, i) => ({ Id: String(i), MessageBody: name })) }));
        await waitFor("the five files to be moved and their messages deleted", () => worker.stats.moved === names.length && worker.stats.deleted === names.length);
        await worker.stop();

        console.log("\nWorker log:");
        for (const line of logLines) {
            const event = JSON.parse(line) as { event: string; file?: string; via?: string };
            if (event.event === "moved") console.log(`  moved ${event.file} (${event.via})`);
        }
        console.log(`\nAfter (${Date.now() - started} ms):`);
        console.log(listing(folders.source));
        console.log(listing(folders.destination));
        const left = dataEntries(folders.source).length;
        const moved = fs.readdirSync(folders.destination).filter((name) => name.endsWith("_has_been_processed")).length;
        if (left !== 0 || moved !== names.length) throw new Error(`expected 0 files left and ${names.length} processed, found ${left} and ${moved}`);
        console.log(`\nDemo passed: ${moved} files processed, source folder empty.`);
    } finally {
        folders.remove();
        await emulator.stop();
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
