/**
 * The container health check (`healthCheck` in infra/worker-task.ts runs `node dist/health.js` in
 * the image): exit 0 while both folders are usable, 1 with one JSON line saying why otherwise, so
 * ECS shows the task unhealthy while its data mount is lost. The same checks as at start, reading
 * the same environment; it creates no folder. A mount that hangs fails it by the check's timeout.
 * Its line shows names and paths only as `LOG_FILE_NAMES` allows, as the worker's do.
 */
import { FolderCheck } from "./folders";
import { configErrorMessage, Logger, logModeOf, stdoutNow } from "./log";
import { parseWorkerEnvironment, WorkerConfigError } from "./options";

/** Until the settings are read: hides names as `LOG_FILE_NAMES` asks, not yet knowing the folders. */
let logger = new Logger(logModeOf(process.env), undefined, stdoutNow);

async function main(): Promise<number> {
    let options;
    try {
        options = parseWorkerEnvironment(process.env);
    } catch (error) {
        logger.error("unhealthy", { error: error instanceof WorkerConfigError ? configErrorMessage(error, process.env) : logger.describe(error) });
        return 1;
    }
    logger = new Logger(options.logFileNames, options.logHashKey, stdoutNow, { SOURCE_DIR: options.sourceDir, DESTINATION_DIR: options.destinationDir });
    const problems = await new FolderCheck(options).check();
    if (problems.length === 0) return 0;
    logger.error("unhealthy", { problems: problems.map((problem) => logger.problem(problem)) });
    return 1;
}

main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
        logger.error("unhealthy", { error: logger.describe(error) });
        process.exitCode = 1;
    },
);
