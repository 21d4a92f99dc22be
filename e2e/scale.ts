/**
 * `npm run e2e:scale [-- 1,8,32] [--parallel N]`: wall times of the real engine with the real
 * command provider (the figures in docs/performance.md):
 * - how long a bad config value takes to be reported, beside a `preview` that finds no change, for
 *   both stacks (the median of 3 runs each);
 * - `pulumi up -s anywhere` and `pulumi destroy -s anywhere` for 1, 8 and 32 test hosts. One region
 *   stack serves every size; each size gets its own anywhere stack (anywhere-s<N>) on fresh hosts.
 *   From the engine's event log it also reports how many resource steps ran at once at most and how
 *   long each host step took (median), which shows where hosts wait on each other. `--parallel N`
 *   passes `--parallel N` to up and destroy (default: the engine's, 4 per CPU).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MAX_HOSTS_PER_PROCESS, TestBed } from "../hosts/test/testbed";
import type { EngineStep } from "./lib/engine-log";
import { configureSite, expect, REGION, Sandbox, sandboxUnavailable, standinState } from "./lib/sandbox";

/** Resources whose steps run nothing: the stack and the hosts' components (in flight as long as their children). */
const LOGICAL = new Set(["pulumi:pulumi:Stack", "ecs-anywhere:hosts:ManagedHost"]);

/** The most resource operations in flight at once (started, not yet done or failed), by event order. */
function maxInFlight(steps: readonly EngineStep[]): number {
    let running = 0;
    let most = 0;
    for (const step of steps) {
        if (step.op === "same" || step.op === "read" || LOGICAL.has(step.type)) continue;
        running += step.phase === "start" ? 1 : -1;
        most = Math.max(most, running);
    }
    return most;
}

/** Median seconds from start to done of the steps whose name ends with `-<step>`, by the engine's clock. */
function medianStepSeconds(steps: readonly EngineStep[], step: string): number | undefined {
    const durations: number[] = [];
    for (const done of steps.filter((s) => s.phase === "done" && s.name.endsWith(`-${step}`) && s.op !== "same")) {
        const started = steps.find((s) => s.phase === "start" && s.urn === done.urn);
        if (started) durations.push(done.timestamp - started.timestamp);
    }
    durations.sort((a, b) => a - b);
    return durations.length === 0 ? undefined : durations[Math.floor(durations.length / 2)];
}

/** The median of `runs` runs of `command`, in seconds; each must end as `expectFailure` says. */
async function medianSeconds(sandbox: Sandbox, args: readonly string[], expectFailure: boolean, runs = 3): Promise<number> {
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) seconds.push((await sandbox.pulumi(args, { expectFailure })).seconds);
    return seconds.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/** Time to a bad config value's error against a no-change preview of `stack`, as a table row. */
async function errorRow(sandbox: Sandbox, stack: string, key: string, bad: string): Promise<string> {
    const preview = await medianSeconds(sandbox, ["preview", "-s", stack, "--expect-no-changes"], false);
    const good = (await sandbox.pulumi(["config", "get", "-s", stack, key])).output.trim().split("\n").pop() ?? "";
    await sandbox.pulumi(["config", "set", "-s", stack, key, bad]);
    let error: number;
    try {
        error = await medianSeconds(sandbox, ["preview", "-s", stack], true);
    } finally {
        await sandbox.pulumi(["config", "set", "-s", stack, key, good]);
    }
    return `| ${stack} | \`${key}: ${bad}\` | ${preview.toFixed(1)} s | ${error.toFixed(1)} s | ${(error / preview).toFixed(2)}x |`;
}

function parseArguments(argv: readonly string[]): { sizes: number[]; parallel?: number } {
    const rest = [...argv];
    let parallel: number | undefined;
    const flag = rest.indexOf("--parallel");
    if (flag >= 0) {
        parallel = Number(rest[flag + 1]);
        if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel takes a whole number of at least 1 (got ${rest[flag + 1]})`);
        rest.splice(flag, 2);
    }
    const sizes = (rest[0] ?? "1,8,32").split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_HOSTS_PER_PROCESS)) throw new Error(`sizes must be whole numbers 1 to ${MAX_HOSTS_PER_PROCESS}, e.g. 1,8,32 (got ${rest[0]})`);
    return { sizes, ...(parallel === undefined ? {} : { parallel }) };
}

async function main(): Promise<void> {
    const { sizes, parallel } = parseArguments(process.argv.slice(2));
    const unavailable = sandboxUnavailable();
    if (unavailable !== undefined) {
        console.log(`e2e:scale: SKIPPED: it ${unavailable}`);
        return;
    }
    const sandbox = new Sandbox();
    const rows: string[] = [];
    const flags = parallel === undefined ? [] : ["--parallel", String(parallel)];
    let first: number | undefined;
    try {
        await sandbox.pulumi(["stack", "init", "region"]);
        await sandbox.pulumi(["config", "set", "-s", "region", "aws:region", REGION]);
        const region = await sandbox.pulumi(["up", "-s", "region", "--yes"]);
        rows.push(`| region stack | - | ${region.seconds.toFixed(1)} s | | | | |`);
        await sandbox.pulumi(["config", "set", "-s", "region", "ecs-anywhere:memory", "512"]);
        const errorRows = [await errorRow(sandbox, "region", "ecs-anywhere:memory", "4096")];
        console.log(errorRows[0]);
        for (const size of sizes) {
            const bed = new TestBed({ stateDir: standinState(sandbox.state) });
            try {
                const hosts = [];
                for (let i = 0; i < size; i++) hosts.push(await bed.addHost(`h${i + 1}`));
                const dataDir = path.join(sandbox.state, `data-${size}`);
                fs.mkdirSync(dataDir);
                const stack = `anywhere-s${size}`;
                await configureSite(sandbox, stack, bed, hosts, dataDir);
                const up = await sandbox.pulumi(["up", "-s", stack, "--yes", ...flags]);
                if (errorRows.length === 1) {
                    errorRows.push(await errorRow(sandbox, stack, "ecs-anywhere:dataDir", "data"));
                    console.log(errorRows[1]);
                }
                for (const host of hosts) expect(host.installerRuns().length === 1, `${host.name} was not registered once`);
                const destroy = await sandbox.pulumi(["destroy", "-s", stack, "--yes", ...flags]);
                first ??= up.seconds;
                const steps = ["preflight", "install", "data", "verify"].map((step) => `${step} ${medianStepSeconds(up.steps, step) ?? "-"} s`).join(", ");
                rows.push(`| anywhere | ${size} | ${up.seconds.toFixed(1)} s | ${(up.seconds / first).toFixed(2)}x | ${destroy.seconds.toFixed(1)} s | ${maxInFlight(up.steps)} | ${steps} |`);
                console.log(rows[rows.length - 1]);
            } finally {
                await bed.cleanUp();
            }
        }
        await sandbox.pulumi(["destroy", "-s", "region", "--yes"]);
        console.log(`\n| stack | bad value | preview, no change | preview, bad value | ratio |\n|---|---|---|---|---|`);
        for (const row of errorRows) console.log(row);
        console.log(`\n| stack | hosts | pulumi up | vs 1 host | pulumi destroy | operations at once (most) | median host step (up) |\n|---|---|---|---|---|---|---|`);
        for (const row of rows) console.log(row);
    } finally {
        if (process.env.E2E_KEEP) console.log(`e2e:scale: state kept in ${sandbox.state} (run.log, events-*.jsonl)`);
        else fs.rmSync(sandbox.state, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(error instanceof Error ? error.message : String(error));
        process.exitCode = 1;
    });
}
