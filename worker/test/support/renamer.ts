/**
 * The second process of reused-names.test.ts: a producer that reuses file names while the worker
 * moves them. For each name it renames version 1 into the source folder and sends its message,
 * waits until the worker has taken version 1 (the source name free, or naming the destination's
 * file), then renames version 2 onto the same name, often while the move of version 1 is still in
 * progress, and sends a second message: for half of the names the message goes first (a reused
 * name whose file is not there yet), for the other half the file does.
 *
 * It never replaces a file that is not at the destination already: version 2 is renamed in only
 * while the source name is free or names the destination's file. So a content that goes missing
 * was removed by the worker. Prints one JSON line: how many renames landed mid-move (version 1
 * not yet at the destination, still at the source name too, or its move's receipt not yet released
 * after its message's delete).
 *
 * Environment: SOURCE_DIR, DESTINATION_DIR, SUFFIX, STAGE_DIR (where versions are written first,
 * same file system), SQS_QUEUE_URL, AWS_ENDPOINT_URL_SQS, NAMES, CONCURRENCY, DEADLINE_MS.
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import * as fs from "node:fs";
import * as path from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import { RECEIPT_FOLDER } from "../../src/mover";

function required(name: string): string {
    const value = process.env[name];
    if (value === undefined || value === "") throw new Error(`renamer: ${name} is not set`);
    return value;
}

const source = required("SOURCE_DIR");
const destination = required("DESTINATION_DIR");
const suffix = required("SUFFIX");
const stage = required("STAGE_DIR");
const queueUrl = required("SQS_QUEUE_URL");
const count = Number(required("NAMES"));
const concurrency = Number(required("CONCURRENCY"));
const deadline = Date.now() + Number(required("DEADLINE_MS"));
const sqs = new SQSClient({ region: "us-east-1", endpoint: required("AWS_ENDPOINT_URL_SQS"), credentials: { accessKeyId: "test", secretAccessKey: "test" } });

/** The content of `version` of `name`: what the test looks for at the end. */
function content(name: string, version: number): string {
    return `${name} version ${version}\n`;
}

function inode(file: string): number | undefined {
    try {
        return fs.lstatSync(file).ino;
    } catch {
        return undefined;
    }
}

let midMove = 0;

/** Whether the worker's receipts folder holds a name of the file `ino` (its move or its message's delete not finished). */
function receiptOf(ino: number): boolean {
    const receipts = path.join(destination, RECEIPT_FOLDER);
    try {
        return fs.readdirSync(receipts).some((entry) => inode(path.join(receipts, entry)) === ino);
    } catch {
        return false;
    }
}

/** Renames `version` of `name` in, only if that replaces nothing but the destination's own file; returns its inode. */
function renameIn(name: string, version: number, previous?: number): number {
    const staged = path.join(stage, `${name}.${version}`);
    fs.writeFileSync(staged, content(name, version));
    const current = inode(path.join(source, name));
    const moved = inode(path.join(destination, name + suffix));
    if (current !== undefined && current !== moved) throw new Error(`renamer: ${name} holds a file not yet moved; renaming onto it would lose it`);
    if (previous !== undefined && (current !== undefined || moved === undefined || receiptOf(previous))) midMove++;
    const renamed = fs.lstatSync(staged).ino;
    fs.renameSync(staged, path.join(source, name));
    return renamed;
}

async function send(name: string): Promise<void> {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: name }));
}

async function reuse(name: string, index: number): Promise<void> {
    const first = renameIn(name, 1);
    await send(name);
    // Version 1 taken: the source name free (the move done, or in progress) or naming the destination's file.
    const taken = () => {
        const current = inode(path.join(source, name));
        return current === undefined || current === inode(path.join(destination, name + suffix));
    };
    while (!taken()) {
        if (Date.now() > deadline) throw new Error(`renamer: ${name} version 1 not moved before the deadline`);
        await turn();
    }
    if (index % 2 === 0) {
        renameIn(name, 2, first);
        await send(name);
    } else {
        await send(name);
        renameIn(name, 2, first);
    }
}

async function main(): Promise<void> {
    const names = Array.from({ length: count }, (_, i) => `reused-${String(i).padStart(4, "0")}`);
    let next = 0;
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < names.length; i = next++) await reuse(names[i], i);
        }),
    );
    process.stdout.write(`${JSON.stringify({ names: names.length, midMove })}\n`);
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
