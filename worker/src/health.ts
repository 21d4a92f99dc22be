/**
 * The container health check (`healthCheck` in infra/worker-task.ts runs `node dist/health.js` in
 * the image): exit 0 while both folders are usable, 1 with one JSON line saying why otherwise, so
 * ECS shows the task unhealthy while its data mount is lost. The same checks as at start, reading
 * the same environment; it creates no folder. A mount that hangs fails it by the check's timeout.
 */
import { FolderCheck } from "./folders";
import { parseWorkerEnvironment } from "./options";

function report(fields: Record<string, unknown>): void {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "error", event: "unhealthy", ...fields })}\n`);
}

async function main(): Promise<number> {
    let options;
    try {
        options = parseWorkerEnvironment(process.env);
    } catch (error) {
        report({ error: error instanceof Error ? error.message : String(error) });
        return 1;
    }
    const problems = await new FolderCheck(options).check();
    if (problems.length === 0) return 0;
    report({ problems });
    return 1;
}

main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
        report({ error: error instanceof Error ? error.message : String(error) });
        process.exitCode = 1;
    },
);
