/**
 * Entry point: reads the environment, builds the SQS client (the AWS SDK's), runs the worker, and stops it cleanly on SIGTERM/SIGINT (ECS sends SIGTERM and waits 30 s before SIGKILL).
 * Exit codes: 0 after a clean stop, 2 for a bad setting, 3 for folders that are not usable at
 * start (nothing received), 1 for anything else (a Node.js too old among them). Every line it
 * writes, an uncaught error's included, shows names and paths only as `LOG_FILE_NAMES` allows.
 */
// First: refuses an old Node.js before anything that may break on it loads.
import "./node-check";
import { FolderError } from "./folders";
import { configErrorMessage, Logger, logModeOf } from "./log";
import { parseWorkerEnvironment, WorkerConfigError, type WorkerOptions } from "./options";
import { createSqsClient, describeConnection } from "./sqs";
import { Worker } from "./worker";

function fail(code: number, event: string, fields: Record<string, unknown>): never {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "error", event, ...fields })}\n`);
    process.exit(code);
}

/** Until the settings are read: hides names as `LOG_FILE_NAMES` asks, not yet knowing the folders. */
let logger = new Logger(logModeOf(process.env), undefined);

async function main(): Promise<void> {
    let options: WorkerOptions;
    try {
        options = parseWorkerEnvironment(process.env);
    } catch (error) {
        if (error instanceof WorkerConfigError) fail(2, "bad-configuration", { variable: error.variable, error: configErrorMessage(error, process.env) });
        throw error;
    }
    const sqs = createSqsClient(options);
    logger = new Logger(options.logFileNames, options.logHashKey, undefined, { SOURCE_DIR: options.sourceDir, DESTINATION_DIR: options.destinationDir });
    const worker = new Worker(options, { sqs, logger, describeSqs: () => describeConnection(sqs, options.queueUrl) });

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) fail(130, "forced-exit", { signal, reason: "second signal while stopping" });
        logger.info("stopping", { signal });
        worker.stop().then(
            () => process.exit(0),
            (error: unknown) => fail(1, "stop-failed", { error: logger.describe(error) }),
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
            fail(3, "folders-unusable", { ...logger.problem(first), ...(others.length > 0 ? { alsoUnusable: others.map(({ folder, problem }) => ({ folder: logger.path(folder), problem })) } : {}) });
        }
        const shown = (folder: string, variable: string) => logger.path(folder) ?? `$${variable}`;
        fail(1, "start-failed", { error: logger.describe(error), hint: `check that ${shown(options.sourceDir, "SOURCE_DIR")} and ${shown(options.destinationDir, "DESTINATION_DIR")} exist and are writable by uid ${process.getuid?.() ?? "?"}` });
    }
}

if (require.main === module) {
    // Node's own report of an uncaught error would print its message, paths and all, on stderr.
    const crashed = (error: unknown) => fail(1, "crashed", { error: logger.describe(error) });
    process.on("uncaughtException", crashed);
    process.on("unhandledRejection", crashed);
    main().catch(crashed);
}
