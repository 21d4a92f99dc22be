/**
 * The poll loop: several receive loops long-poll the queue for batches of file names, move the
 * files a batch at a time, and delete the messages whose outcome allows it once the move is on
 * disk. SQS errors back off with jitter; `stop()` stops receiving and finishes what is in flight.
 */
import {
    ChangeMessageVisibilityBatchCommand,
    DeleteMessageBatchCommand,
    ReceiveMessageCommand,
    type Message,
    type SQSClient,
} from "@aws-sdk/client-sqs";
import { setMaxListeners } from "node:events";
import { describeError, InvalidFileNameError, SqsCallError } from "./errors";
import { checkFileName } from "./file-name";
import { Logger } from "./log";
import { FileMover, type FileSystem, type MoveOutcome } from "./mover";
import type { WorkerOptions } from "./options";

/** What the worker needs from the outside world; tests inject their own. */
export interface WorkerDependencies {
    /** The SQS client (only `send` is used). */
    readonly sqs: Pick<SQSClient, "send">;
    /** Where log lines go. Default: JSON lines on stdout in the options' file-name mode. */
    readonly logger?: Logger;
    /** File-system calls, for fault injection. Default: node:fs/promises. */
    readonly fileSystem?: FileSystem;
    /** Source of randomness for backoff jitter. Default: Math.random. */
    readonly random?: () => number;
}

/** Counters since start; read by tests and the benchmark. */
export interface WorkerStats {
    received: number;
    moved: number;
    alreadyDone: number;
    missing: number;
    conflicts: number;
    rejected: number;
    failed: number;
    deleted: number;
    sqsErrors: number;
}

/** Backoff after SQS errors: full jitter between half and all of min(cap, base * 2^(n-1)). */
export const BACKOFF = { baseMs: 200, capMs: 20_000 } as const;
/** How long `stop()` may take before it gives up on deletes still failing (ECS waits 30 s). */
const STOP_DEADLINE_MS = 20_000;
/** Delete attempts per batch before leaving the messages to come back (they are then already done). */
const DELETE_ATTEMPTS = 5;

export function backoffDelay(failures: number, random: () => number = Math.random): number {
    const ceiling = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.max(0, failures - 1));
    return Math.round(ceiling * (0.5 + random() * 0.5));
}

type Entry = { readonly message: Message; readonly name?: string; outcome?: MoveOutcome };

export class Worker {
    readonly stats: WorkerStats = { received: 0, moved: 0, alreadyDone: 0, missing: 0, conflicts: 0, rejected: 0, failed: 0, deleted: 0, sqsErrors: 0 };
    private readonly sqs: Pick<SQSClient, "send">;
    private readonly logger: Logger;
    private readonly mover: FileMover;
    private readonly random: () => number;
    private readonly receiveAbort = new AbortController();
    private readonly pendingDeletes = new Set<Promise<void>>();
    /** Files being moved right now; a stop that gives up reports them (their messages come back). */
    private movesInFlight = 0;
    private readonly wakeups = new Set<() => void>();
    /** Loops parked while the queue is empty; the first loop to receive messages wakes them. */
    private readonly parked = new Set<() => void>();
    private loops: Promise<void>[] = [];
    private stopping = false;
    private stopped?: Promise<void>;

    constructor(
        readonly options: WorkerOptions,
        dependencies: WorkerDependencies,
    ) {
        this.sqs = dependencies.sqs;
        this.logger = dependencies.logger ?? new Logger(options.logFileNames, options.logHashKey);
        this.mover = new FileMover(options, dependencies.fileSystem);
        this.random = dependencies.random ?? Math.random;
        // Every receive loop listens on the one stop signal.
        setMaxListeners(options.receiveLoops * 4 + 10, this.receiveAbort.signal);
    }

    /** Prepares the folders and starts the receive loops; resolves once they run. */
    async start(): Promise<void> {
        await this.mover.ensureFolders();
        const swept = await this.mover.sweepPartials();
        const { queueUrl, region, sourceDir, destinationDir, processedSuffix, logFileNames, receiveLoops, batchSize, waitTimeSeconds, visibilityTimeoutSeconds } = this.options;
        this.logger.info("started", {
            queueUrl,
            region,
            sourceDir,
            destinationDir,
            processedSuffix,
            logFileNames,
            receiveLoops,
            batchSize,
            waitTimeSeconds,
            visibilityTimeoutSeconds,
            ...(swept > 0 ? { partialCopiesRemoved: swept } : {}),
        });
        this.loops = Array.from({ length: receiveLoops }, (_, index) => this.receiveLoop(index));
    }

    /** Stops receiving, finishes the batches in flight and their deletes. Safe to call twice. */
    stop(): Promise<void> {
        this.stopped ??= this.shutDown();
        return this.stopped;
    }

    private async shutDown(): Promise<void> {
        this.stopping = true;
        this.receiveAbort.abort();
        for (const wake of this.wakeups) wake();
        this.wakeParked();
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<"deadline">((resolve) => {
            timer = setTimeout(() => resolve("deadline"), STOP_DEADLINE_MS);
        });
        const drained = (async () => {
            await Promise.all(this.loops);
            while (this.pendingDeletes.size > 0) await Promise.all([...this.pendingDeletes]);
        })();
        const result = await Promise.race([drained, deadline]);
        clearTimeout(timer);
        if (result === "deadline") {
            // Safe to leave: an unfinished move has either not removed its source or already has its
            // destination on disk, and every message not deleted comes back after its visibility timeout.
            this.logger.warn("stop-deadline", { seconds: STOP_DEADLINE_MS / 1000, movesAbandoned: this.movesInFlight, deleteBatchesAbandoned: this.pendingDeletes.size });
        }
        this.logger.info("stopped", { ...this.stats });
    }

    private wakeParked(): void {
        for (const wake of this.parked) wake();
        this.parked.clear();
    }

    /**
     * One receive loop. While the queue is empty only loop 0 keeps long-polling (three requests a
     * minute, not three per loop); the others park until a loop receives messages again.
     */
    private async receiveLoop(index: number): Promise<void> {
        let failures = 0;
        while (!this.stopping) {
            let messages: Message[];
            try {
                const output = await this.sqs.send(
                    new ReceiveMessageCommand({
                        QueueUrl: this.options.queueUrl,
                        MaxNumberOfMessages: this.options.batchSize,
                        WaitTimeSeconds: this.options.waitTimeSeconds,
                        VisibilityTimeout: this.options.visibilityTimeoutSeconds,
                        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                    }),
                    { abortSignal: this.receiveAbort.signal },
                );
                messages = output.Messages ?? [];
                if (failures > 0) this.logger.info("sqs-recovered", { operation: "ReceiveMessage", afterFailures: failures });
                failures = 0;
            } catch (error) {
                if (this.stopping) break;
                failures++;
                this.stats.sqsErrors++;
                const retryInMs = backoffDelay(failures, this.random);
                this.logger.warn("sqs-error", { operation: "ReceiveMessage", error: new SqsCallError("ReceiveMessage", { cause: error }).message, failures, retryInMs });
                await this.pause(retryInMs);
                continue;
            }
            if (messages.length === 0) {
                if (index > 0 && !this.stopping) await new Promise<void>((resolve) => this.parked.add(resolve));
                continue;
            }
            if (this.parked.size > 0) this.wakeParked();
            this.stats.received += messages.length;
            await this.handleBatch(messages);
            // Keep deletes pipelined behind receives, but bounded.
            while (this.pendingDeletes.size > this.options.receiveLoops * 2) await Promise.race(this.pendingDeletes);
        }
    }

    private async handleBatch(messages: Message[]): Promise<void> {
        const entries: Entry[] = messages.map((message) => {
            try {
                return { message, name: checkFileName(message.Body, this.options.processedSuffix, message.MessageId) };
            } catch (error) {
                if (!(error instanceof InvalidFileNameError)) throw error;
                this.stats.rejected++;
                this.logger.warn("rejected", { messageId: message.MessageId, reason: error.reason, body: this.logger.fileName(message.Body ?? ""), receiveCount: receiveCount(message) });
                return { message };
            }
        });
        const valid = entries.filter((entry): entry is Entry & { name: string } => entry.name !== undefined);
        if (valid.length > 0) {
            const heartbeat = this.keepInvisible(valid.map((entry) => entry.message));
            this.movesInFlight += valid.length;
            try {
                const outcomes = await this.mover.moveBatch(
                    valid.map((entry) => entry.name),
                    valid.map((entry) => entry.message.MessageId),
                );
                valid.forEach((entry, i) => {
                    entry.outcome = outcomes[i];
                    this.record(entry.message, entry.name, outcomes[i]);
                });
            } finally {
                this.movesInFlight -= valid.length;
                heartbeat.stop();
            }
        }
        const done = valid.filter((entry) => entry.outcome?.kind === "moved" || entry.outcome?.kind === "already-done");
        if (done.length === 0) return;
        const deletion = this.deleteMessages(done.map((entry) => entry.message)).finally(() => this.pendingDeletes.delete(deletion));
        this.pendingDeletes.add(deletion);
    }

    private record(message: Message, name: string, outcome: MoveOutcome): void {
        const fields = { messageId: message.MessageId, file: this.logger.fileName(name) };
        switch (outcome.kind) {
            case "moved":
                this.stats.moved++;
                this.logger.info("moved", { ...fields, via: outcome.via });
                return;
            case "already-done":
                this.stats.alreadyDone++;
                this.logger.info("already-done", { ...fields, reason: "source gone and destination present: a repeated delivery" });
                return;
            case "missing":
                this.stats.missing++;
                this.logger.warn("skipped", { ...fields, reason: "file not in the source folder yet; the message will be retried", receiveCount: receiveCount(message) });
                return;
            case "conflict":
                this.stats.conflicts++;
                this.logger.warn("conflict", { ...fields, reason: `${outcome.reason}; nothing overwritten, message left for the dead-letter queue`, receiveCount: receiveCount(message) });
                return;
            case "rejected":
                this.stats.rejected++;
                this.logger.warn("rejected", { ...fields, reason: outcome.reason, receiveCount: receiveCount(message) });
                return;
            case "failed":
                this.stats.failed++;
                this.logger.error("move-failed", { ...fields, error: `${outcome.error.message}: ${describeError(outcome.error.cause)}` });
                return;
        }
    }

    /** Extends the visibility of `messages` every half timeout until stopped, so a slow move keeps them. */
    private keepInvisible(messages: Message[]): { stop(): void } {
        const periodMs = (this.options.visibilityTimeoutSeconds * 1000) / 2;
        let timer: NodeJS.Timeout | undefined;
        const beat = () => {
            timer = setTimeout(() => {
                this.sqs
                    .send(
                        new ChangeMessageVisibilityBatchCommand({
                            QueueUrl: this.options.queueUrl,
                            Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: this.options.visibilityTimeoutSeconds })),
                        }),
                    )
                    .catch((error: unknown) => this.logger.warn("sqs-error", { operation: "ChangeMessageVisibilityBatch", error: describeError(error) }));
                beat();
            }, periodMs);
            timer.unref();
        };
        beat();
        return { stop: () => clearTimeout(timer) };
    }

    private async deleteMessages(messages: Message[]): Promise<void> {
        let remaining = messages;
        for (let attempt = 1; attempt <= DELETE_ATTEMPTS && remaining.length > 0; attempt++) {
            try {
                const output = await this.sqs.send(
                    new DeleteMessageBatchCommand({
                        QueueUrl: this.options.queueUrl,
                        Entries: remaining.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
                    }),
                );
                const failed = new Set((output.Failed ?? []).map((failure) => failure.Id));
                this.stats.deleted += remaining.length - failed.size;
                for (const failure of output.Failed ?? []) {
                    this.logger.warn("delete-failed", { messageId: remaining[Number(failure.Id)]?.MessageId, code: failure.Code, senderFault: failure.SenderFault });
                }
                // A sender fault (an expired receipt handle) will not succeed on retry: the message comes back and is then already done.
                remaining = remaining.filter((_, i) => failed.has(String(i)) && !(output.Failed ?? []).find((f) => f.Id === String(i))?.SenderFault);
            } catch (error) {
                this.stats.sqsErrors++;
                const retryInMs = backoffDelay(attempt, this.random);
                this.logger.warn("sqs-error", { operation: "DeleteMessageBatch", error: new SqsCallError("DeleteMessageBatch", { cause: error }).message, attempt, retryInMs });
                if (attempt < DELETE_ATTEMPTS) await this.pause(retryInMs, { evenWhenStopping: true });
            }
        }
        if (remaining.length > 0) {
            this.logger.warn("delete-abandoned", { messages: remaining.length, reason: "the files are moved; the messages will come back and be deleted as already done" });
        }
    }

    /** Waits `ms`, or less if the worker is stopping (unless told to wait even then). */
    private pause(ms: number, options: { evenWhenStopping?: boolean } = {}): Promise<void> {
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                this.wakeups.delete(wake);
                resolve();
            };
            const wake = () => {
                if (!options.evenWhenStopping) done();
            };
            const timer = setTimeout(done, ms);
            this.wakeups.add(wake);
        });
    }
}

function receiveCount(message: Message): number | undefined {
    const count = message.Attributes?.ApproximateReceiveCount;
    return count === undefined ? undefined : Number(count);
}
