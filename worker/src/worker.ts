/**
 * The poll loop: several receive loops long-poll the queue for batches of file names, move the
 * files a batch at a time, and delete the messages whose outcome allows it once the move is on
 * disk. SQS errors back off with jitter; `stop()` stops receiving and finishes what is in flight.
 *
 * A fault of the worker's side (a folder gone, a lost mount, a read-only or full file system) is
 * not the message's: the worker stops receiving, gives back the messages in hand untouched (as soon
 * as its own long polls have returned, so that they cannot take them straight back), and re-checks
 * the folders with backoff, resuming by itself when they are usable again.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { setMaxListeners } from "node:events";
import { describeError, InvalidFileNameError, SqsCallError } from "./errors";
import { checkFileName } from "./file-name";
import { FolderCheck, type FolderProblem } from "./folders";
import { Logger } from "./log";
import { FileMover, type FileSystem, type MoveOutcome } from "./mover";
import type { WorkerOptions } from "./options";
import type { SqsConnection, SqsSender } from "./sqs";

/** What the worker needs from the outside world; tests inject their own. */
export interface WorkerDependencies {
    /** The SQS client (the SDK's SQSClient, made by sqs.ts's createSqsClient). */
    readonly sqs: SqsSender;
    /** Where the calls go and whose credentials they carry, for the `started` line (sqs.ts's describeConnection). */
    readonly describeSqs?: () => Promise<SqsConnection>;
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
    /** Times the worker found its own side at fault (folders unusable) and stopped receiving. */
    faults: number;
    /** Messages given back untouched (visibility 0) because of such a fault. */
    returned: number;
}

/** Backoff after SQS errors: full jitter between half and all of min(cap, base * 2^(n-1)). */
export const BACKOFF = { baseMs: 200, capMs: 20_000 } as const;
/** How long `stop()` may take before it gives up on deletes still failing (ECS waits 30 s). */
const STOP_DEADLINE_MS = 20_000;
/** Delete attempts per batch before leaving the messages to come back (they are then already done). */
const DELETE_ATTEMPTS = 5;

/**
 * Re-checks of the folders during a fault of the worker's: from a quarter second (a blip) to every
 * 5 s (a mount lost for minutes costs a stat, an access, a probe file and a statfs per check).
 */
export const FOLDER_RECHECK = { baseMs: 250, capMs: 5_000 } as const;

export function backoffDelay(failures: number, random: () => number = Math.random, limits: { baseMs: number; capMs: number } = BACKOFF): number {
    const ceiling = Math.min(limits.capMs, limits.baseMs * 2 ** Math.max(0, failures - 1));
    return Math.round(ceiling * (0.5 + random() * 0.5));
}

/**
 * Outcomes that rest on what the folders showed (a source not there, a failed operation): only
 * these can be the worker's fault rather than the message's. `moved` is durable, `conflict` and
 * `rejected` saw the file itself.
 */
const FOLDER_DEPENDENT = new Set<MoveOutcome["kind"]>(["missing", "already-done", "failed"]);

type Entry = { readonly message: Message; readonly name?: string; outcome?: MoveOutcome };

/** A fault of the worker's side in progress: receiving stops until `resumed`. */
interface Outage {
    readonly problem: FolderProblem;
    readonly since: number;
    readonly resumed: Promise<void>;
    release(): void;
    /** Messages to give back, kept invisible until no receive of this worker is in flight. */
    readonly held: Message[];
    readonly heartbeats: Array<{ stop(): void }>;
    returned: number;
}

export class Worker {
    readonly stats: WorkerStats = { received: 0, moved: 0, alreadyDone: 0, missing: 0, conflicts: 0, rejected: 0, failed: 0, deleted: 0, sqsErrors: 0, faults: 0, returned: 0 };
    private readonly sqs: SqsSender;
    private readonly describeSqs?: () => Promise<SqsConnection>;
    private readonly logger: Logger;
    private readonly mover: FileMover;
    private readonly folders: FolderCheck;
    /** Set while the folders are unusable; receive loops wait on it. */
    private outage?: Outage;
    private recovery?: Promise<void>;
    /** Faults in a row without a file moved in between: each waits longer before it resumes. */
    private faultStreak = 0;
    /** ReceiveMessage calls awaiting their answer. */
    private receivesInFlight = 0;
    private readonly pendingReturns = new Set<Promise<void>>();
    private readonly random: () => number;
    private readonly receiveAbort = new AbortController();
    /** The options of every receive: the one stop signal. */
    private readonly receiveOptions = { abortSignal: this.receiveAbort.signal };
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
        if (dependencies.describeSqs !== undefined) this.describeSqs = dependencies.describeSqs;
        this.logger = dependencies.logger ?? new Logger(options.logFileNames, options.logHashKey);
        this.mover = new FileMover(options, dependencies.fileSystem);
        this.folders = new FolderCheck(options, dependencies.fileSystem);
        this.random = dependencies.random ?? Math.random;
        // Every receive loop listens on the one stop signal.
        setMaxListeners(options.receiveLoops * 4 + 10, this.receiveAbort.signal);
    }

    /**
     * Checks the folders (creating them only if `createFolders` allows) and starts the receive
     * loops; resolves once they run. Unusable folders throw `FolderError` before any receive.
     */
    async start(): Promise<void> {
        const created = await this.folders.prepare();
        const swept = await this.mover.sweepPartials();
        const connection = await this.describeSqs?.();
        const { queueUrl, region, sourceDir, destinationDir, processedSuffix, logFileNames, receiveLoops, batchSize, waitTimeSeconds, visibilityTimeoutSeconds, createFolders } = this.options;
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
            createFolders,
            ...connection,
            ...(created.length > 0 ? { foldersCreated: created } : {}),
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
        this.outage?.release();
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<"deadline">((resolve) => {
            timer = setTimeout(() => resolve("deadline"), STOP_DEADLINE_MS);
        });
        const drained = (async () => {
            await Promise.all([...this.loops, this.recovery]);
            while (this.pendingDeletes.size + this.pendingReturns.size > 0) await Promise.all([...this.pendingDeletes, ...this.pendingReturns]);
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
            if (this.outage !== undefined) {
                await this.outage.resumed;
                continue;
            }
            let messages: Message[];
            this.receivesInFlight++;
            try {
                const output = await this.sqs.send(
                    new ReceiveMessageCommand({
                        QueueUrl: this.options.queueUrl,
                        MaxNumberOfMessages: this.options.batchSize,
                        WaitTimeSeconds: this.options.waitTimeSeconds,
                        VisibilityTimeout: this.options.visibilityTimeoutSeconds,
                        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                    }),
                    this.receiveOptions,
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
            } finally {
                this.receivesInFlight--;
                if (this.outage !== undefined && this.receivesInFlight === 0) this.returnHeld(this.outage);
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
        // Received while the folders went away (a long poll that was waiting): not even looked at.
        if (this.outage !== undefined) return this.hold(messages);
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
        const valid = entries.filter((entry): entry is Entry & { name: string; outcome: MoveOutcome } => entry.name !== undefined);
        if (valid.length > 0) {
            const heartbeat = this.keepInvisible(valid.map((entry) => entry.message));
            this.movesInFlight += valid.length;
            try {
                const outcomes = await this.mover.moveBatch(
                    valid.map((entry) => entry.name),
                    valid.map((entry) => entry.message.MessageId),
                );
                valid.forEach((entry, i) => (entry.outcome = outcomes[i]));
            } finally {
                this.movesInFlight -= valid.length;
                heartbeat.stop();
            }
            const fault = valid.some((entry) => FOLDER_DEPENDENT.has(entry.outcome.kind)) ? await this.workerFault(valid.map((entry) => entry.outcome)) : undefined;
            const returned = fault === undefined ? [] : valid.filter((entry) => FOLDER_DEPENDENT.has(entry.outcome.kind));
            for (const entry of valid) if (!returned.includes(entry)) this.record(entry.message, entry.name, entry.outcome);
            if (fault !== undefined) {
                this.beginOutage(fault);
                this.hold(returned.map((entry) => entry.message));
            } else if (valid.some((entry) => entry.outcome.kind === "moved")) {
                this.faultStreak = 0;
            }
        }
        const done = valid.filter((entry) => entry.outcome.kind === "moved" || entry.outcome.kind === "already-done");
        if (done.length === 0) return;
        const deletion = this.deleteMessages(done.map((entry) => entry.message)).finally(() => this.pendingDeletes.delete(deletion));
        this.pendingDeletes.add(deletion);
    }

    /**
     * Whose fault a batch's folder-dependent outcomes are. The worker's if a folder fails the quick
     * check (stat and access: a folder gone, a lost mount, a permission or read-only error), or if
     * an operation failed with a code that is the file system's, not the file's (ENOSPC, EIO,
     * EMFILE...). Else the message's, as the handling table says. Only called for a batch with such
     * outcomes: a clean batch pays nothing.
     */
    private async workerFault(outcomes: readonly MoveOutcome[]): Promise<FolderProblem | undefined> {
        if (this.outage !== undefined) return this.outage.problem;
        const [problem] = await this.folders.check({ thorough: false });
        if (problem !== undefined) return problem;
        for (const outcome of outcomes) {
            const failure = outcome.kind === "failed" ? this.folders.describeFailure(outcome.error.cause) : undefined;
            if (failure !== undefined) return failure;
        }
        return undefined;
    }

    /*
     * On a fault of the worker's side the worker waits and re-checks, rather than exiting for ECS to
     * restart it. Why: a lost mount or a full disk usually comes back within minutes, and an exit
     * would meet the same folders at the next start (the start-up check exits at once), so ECS would
     * loop through failed tasks, count them against the deployment circuit breaker, and throttle
     * restarts, delaying the recovery past the mount's return. Waiting resumes within 5 s of the
     * folders coming back, with no new task; meanwhile the container health check (the same
     * checks, in infra/worker-task.ts) shows the task unhealthy, so ECS still replaces a task whose
     * mount stays broken. Either way each message in hand costs one receive, not all of them.
     */
    private beginOutage(problem: FolderProblem): void {
        if (this.outage !== undefined || this.stopping) return;
        let release!: () => void;
        const resumed = new Promise<void>((resolve) => (release = resolve));
        const outage: Outage = { problem, since: Date.now(), resumed, release, held: [], heartbeats: [], returned: 0 };
        this.outage = outage;
        this.stats.faults++;
        this.faultStreak++;
        this.logger.error("worker-fault", {
            ...problem,
            action: "stopped receiving; messages in hand given back untouched for a prompt retry; re-checking the folders with backoff and resuming when they are usable",
        });
        this.recovery = this.recover(outage);
    }

    private async recover(outage: Outage): Promise<void> {
        let checks = 0;
        let problems: FolderProblem[] = [outage.problem];
        while (!this.stopping && problems.length > 0) {
            // A fault that keeps coming back right after a passing check (a disk that fails only under load) waits longer each time.
            await this.pause(backoffDelay(this.faultStreak + checks, this.random, FOLDER_RECHECK));
            if (this.stopping) break;
            checks++;
            problems = await this.folders.check();
        }
        // Given back now at the latest: the loops are about to receive them again, and that receive does the work.
        this.returnHeld(outage);
        this.outage = undefined;
        outage.release();
        if (problems.length === 0) this.logger.info("worker-fault-cleared", { afterMs: Date.now() - outage.since, checks, messagesReturned: outage.returned });
    }

    /**
     * Gives `messages` back untouched. A long poll of this worker still waiting would take them
     * straight back (and a receive each), so during a fault they are held invisible until no
     * receive of this worker is in flight (at most the long-poll wait), then given back together.
     */
    private hold(messages: Message[]): void {
        if (messages.length === 0) return;
        const outage = this.outage;
        if (outage === undefined) {
            this.track(this.giveBack(messages));
            return;
        }
        outage.held.push(...messages);
        outage.returned += messages.length;
        outage.heartbeats.push(this.keepInvisible(messages));
        if (this.receivesInFlight === 0) this.returnHeld(outage);
    }

    private returnHeld(outage: Outage): void {
        if (outage.held.length === 0) return;
        for (const heartbeat of outage.heartbeats.splice(0)) heartbeat.stop();
        this.track(this.giveBack(outage.held.splice(0)));
    }

    private track(work: Promise<void>): void {
        const tracked = work.finally(() => this.pendingReturns.delete(tracked));
        this.pendingReturns.add(tracked);
    }

    /** Makes messages visible again at once (visibility 0), for a prompt retry. */
    private async giveBack(messages: Message[]): Promise<void> {
        this.stats.returned += messages.length;
        for (let i = 0; i < messages.length; i += 10) {
            const chunk = messages.slice(i, i + 10);
            try {
                const output = await this.sqs.send(
                    new ChangeMessageVisibilityBatchCommand({
                        QueueUrl: this.options.queueUrl,
                        Entries: chunk.map((message, j) => ({ Id: String(j), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
                    }),
                );
                for (const failure of output.Failed ?? []) {
                    this.logger.warn("give-back-failed", { messageId: chunk[Number(failure.Id)]?.MessageId, code: failure.Code, reason: "it comes back after its visibility timeout instead" });
                }
            } catch (error) {
                this.stats.sqsErrors++;
                this.logger.warn("sqs-error", { operation: "ChangeMessageVisibilityBatch", error: new SqsCallError("ChangeMessageVisibilityBatch", { cause: error }).message, messages: chunk.length, reason: "they come back after their visibility timeout instead" });
            }
        }
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
                    .catch((error: unknown) => this.logger.warn("sqs-error", { operation: "ChangeMessageVisibilityBatch", error: new SqsCallError("ChangeMessageVisibilityBatch", { cause: error }).message }));
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
