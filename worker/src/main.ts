/**
 * Entry point: reads the environment, builds the SQS client (the AWS SDK's), runs the worker, and stops it cleanly on SIGTERM/SIGINT (ECS sends SIGTERM and waits 30 s before SIGKILL).
 * Exit codes: 0 after a clean stop, 2 for a bad setting, 3 for folders that are not usable at
 * start (nothing received), 1 for anything else (a Node.js too old among them).
 */
// First: refuses an old Node.js before anything that may break on it loads.
import "./node-check";
import { describeError } from "./errors";
import { FolderError } from "./folders";
import { Logger } from "./log";
import { parseWorkerEnvironment, WorkerConfigError, type WorkerOptions } from "./options";
import { createSqsClient, describeConnection } from "./sqs";
import { Worker } from "./worker";

function fail(code: number, event: string, fields: Record<string, unknown>): never {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "error", event, ...fields })}\n`);
    process.exit(code);
}

async function main(): Promise<void> {
    let options: WorkerOptions;
    try {
        options = parseWorkerEnvironment(process.env);
    } catch (error) {
        if (error instanceof WorkerConfigError) fail(2, "bad-configuration", { variable: error.variable, error: error.message });
        throw error;
    }
    const sqs = createSqsClient(options);
    const logger = new Logger(options.logFileNames, options.logHashKey);
    const worker = new Worker(options, { sqs, logger, describeSqs: () => describeConnection(sqs, options.queueUrl) });

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) fail(130, "forced-exit", { signal, reason: "second signal while stopping" });
        logger.info("stopping", { signal });
        worker.stop().then(
            () => process.exit(0),
            (error: unknown) => fail(1, "stop-failed", { error: describeError(error) }),
        );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    try {
        await worker.start();
    } catch (error) {
        if (error instanceof FolderError) {
            // One line: the first unusable folder in full, any other by name and problem.
            const [first, ...others] = error.problems;
            fail(3, "folders-unusable", { ...first, ...(others.length > 0 ? { alsoUnusable: others.map(({ folder, problem }) => ({ folder, problem })) } : {}) });
        }
        fail(1, "start-failed", { error: describeError(error), hint: `check that ${options.sourceDir} and ${options.destinationDir} exist and are writable by uid ${process.getuid?.() ?? "?"}` });
    }
}

if (require.main === module) {
    main().catch((error: unknown) => fail(1, "crashed", { error: describeError(error) }));
}
