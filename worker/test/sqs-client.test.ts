/** The worker's SQS client: the SDK's middleware resolved once per kind of call, against the emulator. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import { resolveOnce } from "../src/index";
import { createQueuePair, queueState, sqsClient, startEmulator, type Emulator } from "./support/harness";

type Resolve = typeof ReceiveMessageCommand.prototype.resolveMiddleware;

/** Counts how often the SDK resolves the middleware stack of each command class while `body` runs. */
async function countingResolutions<T>(body: (counts: Map<string, number>) => Promise<T>): Promise<T> {
    const counts = new Map<string, number>();
    const commands = [ReceiveMessageCommand, DeleteMessageBatchCommand] as unknown as Array<{ name: string; prototype: { resolveMiddleware: Resolve } }>;
    // The method may be inherited: put back exactly what each prototype had of its own.
    const owned = commands.map((command) => Object.getOwnPropertyDescriptor(command.prototype, "resolveMiddleware"));
    for (const command of commands) {
        const original = command.prototype.resolveMiddleware;
        command.prototype.resolveMiddleware = function (this: unknown, ...args: Parameters<Resolve>) {
            counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
            return original.apply(this as never, args);
        } as Resolve;
    }
    try {
        return await body(counts);
    } finally {
        commands.forEach((command, i) => {
            const descriptor = owned[i];
            if (descriptor) Object.defineProperty(command.prototype, "resolveMiddleware", descriptor);
            else delete (command.prototype as Partial<{ resolveMiddleware: Resolve }>).resolveMiddleware;
        });
    }
}

describe("worker SQS client", function () {
    this.timeout(30_000);
    let emulator: Emulator;

    before(async () => {
        emulator = await startEmulator();
    });
    after(async () => {
        await emulator?.stop();
    });

    it("resolves the SDK's middleware once per command class and abort signal, and still receives and deletes", async () => {
        const queue = createQueuePair(emulator, { visibilityTimeout: 30 });
        const raw = sqsClient(emulator.endpoint);
        await raw.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: `m${i}` })) }));
        const sqs = resolveOnce(raw);
        const first = new AbortController();
        const second = new AbortController();
        const received = await countingResolutions(async (counts) => {
            const bodies: string[] = [];
            for (const signal of [first.signal, first.signal, first.signal, second.signal]) {
                const output = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 3, WaitTimeSeconds: 0 }), { abortSignal: signal });
                const messages = output.Messages ?? [];
                bodies.push(...messages.map((message) => message.Body ?? ""));
                const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })) }));
                assert.equal(deleted.Successful?.length, messages.length);
            }
            assert.deepEqual(Object.fromEntries(counts), { ReceiveMessageCommand: 2, DeleteMessageBatchCommand: 1 }, "one receive handler per signal, one delete handler");
            return bodies;
        });
        assert.deepEqual([...received].sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort(), "every message received once");
        const state = queueState(emulator, queue.name);
        assert.equal(state.ready.length + state.inflight.length, 0, "every message deleted");
    });

    it("a receive on a cached handler still ends when its signal aborts, and one sent after the abort fails at once", async () => {
        const queue = createQueuePair(emulator);
        const sqs = resolveOnce(sqsClient(emulator.endpoint));
        const stop = new AbortController();
        const receive = () => sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 20 }), { abortSignal: stop.signal });
        // An empty queue answers a first short poll, so the handler is cached before the long poll.
        await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0 }), { abortSignal: stop.signal });
        const started = Date.now();
        const waiting = receive();
        setTimeout(() => stop.abort(), 200);
        await assert.rejects(waiting, (error: Error) => error.name === "AbortError");
        assert.ok(Date.now() - started < 5_000, `the long poll ended ${Date.now() - started} ms after it began (it waits 20 s unaborted)`);
        const again = Date.now();
        await assert.rejects(receive(), (error: Error) => error.name === "AbortError");
        assert.ok(Date.now() - again < 1_000, "a receive with an aborted signal does not go out");
    });

    it("sends with other options go through the client's own send, uncached", async () => {
        const queue = createQueuePair(emulator);
        const sqs = resolveOnce(sqsClient(emulator.endpoint));
        const signal = new AbortController().signal;
        await countingResolutions(async (counts) => {
            for (let i = 0; i < 3; i++) await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0 }), { abortSignal: signal, requestTimeout: 5_000 });
            assert.equal(counts.get("ReceiveMessageCommand"), 3);
        });
    });
});
