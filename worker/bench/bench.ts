/**
 * `npm run bench [-- --quick] [--node=/path/to/node ...] [--baseline=/other/worker/dist/main.js
 * --baseline-flags="--flag ..." | --baseline-commit=<git revision>] [--focus] [--rounds=N]
 * [--messages=N] [--links=loopback,wan]`: how close the worker gets to what the queue allows,
 * beside the alternatives (and another build of the worker, to compare under the same
 * conditions), on one SQS emulator (fauxqs, in this process, loopback only) and real files.
 * Each worker under test is a child process (of `--node`, default the node running the bench), so
 * its peak memory (VmHWM) and its startup are its own; `--node` given more than once measures
 * each contender under each node, interleaved in every round. `--baseline-commit` builds the
 * worker of that revision (`git archive`, `tsc`) into .bench/baseline-<revision> and runs it with
 * WORKER_NODE_FLAGS (or `--baseline-flags`). `--focus` measures only the worker, the baseline and
 * the ceiling the worker is held to; `--rounds` sets the rounds (default 3); `--messages` the
 * messages per round of those three; `--links` which links (default both).
 * Two links: loopback, and a WAN-like link of about 50 ms round trip (a proxy that holds each
 * chunk 25 ms each way; `tc netem` is not available here).
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTcpProxy, type TcpProxy } from "../../test-support/tcp-proxy";
import { DEFAULTS, WORKER_NODE_FLAGS } from "../src/options";
import { createQueuePair, makeDataFolders, sqsClient, startEmulator, workerProcessEnv, type Emulator } from "../test/support/harness";

const ROOT = path.resolve(__dirname, "..", "..");
const CONTENDERS = path.join(__dirname, "contenders");

export interface Contender {
    readonly label: string;
    readonly command: string[];
    readonly env?: Record<string, string>;
    /** Message count per link, before --quick scaling. */
    readonly messages: { loopback: number; wan: number };
    readonly isCeiling?: boolean;
    /** The ceiling the worker is held to ("vs ceiling"): its loops and pipelined deletes, no file work. */
    readonly isReference?: boolean;
    readonly isWalkthrough?: boolean;
    /** The worker of this checkout, or the baseline build (what `--focus` keeps beside the reference). */
    readonly isWorker?: boolean;
}

export interface Measurement {
    readonly label: string;
    /** `node --version` of the node that ran it. */
    readonly node?: string;
    readonly link: "loopback" | "wan";
    readonly messages: number;
    readonly seconds: number;
    readonly perSecond: number;
    readonly peakRssMb: number;
    readonly complete: boolean;
    /** CPU time (user + system) the worker process used per 1,000 messages, in ms. */
    readonly cpuMsPer1000: number;
    /** Slowest and fastest rate over the rounds, when measured more than once. */
    readonly spread?: readonly [number, number];
    /** Startup, process spawn to its first ReceiveMessage on the wire (loopback, empty queue): median and range. */
    readonly startupMs?: { readonly median: number; readonly range: readonly [number, number] };
}

/** Another build of the worker and the node flags it ran with, measured beside this one. */
interface Baseline {
    readonly main: string;
    readonly flags: readonly string[];
}

function contenders(node: string, wanLoops: number, baseline?: Baseline, messages?: number): Contender[] {
    const worker = { messages: { loopback: messages ?? 10_000, wan: messages ?? 5_000 }, isWorker: true };
    return [
        { label: "ecs-anywhere worker (defaults)", command: [node, ...WORKER_NODE_FLAGS, path.join(ROOT, "worker", "dist", "main.js")], ...worker },
        ...(baseline ? [{ label: "baseline worker (--baseline)", command: [node, ...baseline.flags, baseline.main], ...worker }] : []),
        { label: "walkthrough loop (no sleep)", command: [node, path.join(CONTENDERS, "walkthrough.cjs")], messages: { loopback: 2_000, wan: 150 }, isWalkthrough: true },
        { label: "sqs-consumer (defaults)", command: [node, path.join(CONTENDERS, "sqs-consumer.cjs")], messages: { loopback: 2_000, wan: 150 } },
        { label: "sqs-consumer (tuned: batch 10, 4 consumers)", command: [node, path.join(CONTENDERS, "sqs-consumer.cjs")], env: { TUNED: "1", LOOPS: "4" }, messages: { loopback: 10_000, wan: 3_000 } },
        { label: "ceiling (receive-10 + delete-batch, no file work)", command: [node, path.join(CONTENDERS, "ceiling.cjs")], env: { LOOPS: "4" }, messages: { loopback: 10_000, wan: 5_000 }, isCeiling: true },
        { label: `ceiling, ${wanLoops} loops`, command: [node, path.join(CONTENDERS, "ceiling.cjs")], env: { LOOPS: String(wanLoops) }, messages: { loopback: 0, wan: 5_000 }, isCeiling: true },
        {
            label: `ceiling, ${DEFAULTS.receiveLoops} loops, deletes pipelined`,
            command: [node, path.join(CONTENDERS, "ceiling.cjs")],
            env: { LOOPS: String(DEFAULTS.receiveLoops), PIPELINED: "1" },
            messages: { loopback: messages ?? 10_000, wan: messages ?? 5_000 },
            isCeiling: true,
            isReference: true,
        },
    ];
}

/** user + system CPU seconds of a live process, from /proc. */
function cpuSeconds(pid: number): number {
    try {
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
        return Number.NaN;
    }
}

function peakRssMb(pid: number): number {
    try {
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        return kb / 1024;
    } catch {
        return Number.NaN;
    }
}

/** Sends `names` as messages, 10 a batch, 20 batches at a time. */
async function seed(endpoint: string, queueUrl: string, names: string[]): Promise<void> {
    const sqs = sqsClient(endpoint);
    const batches: string[][] = [];
    for (let i = 0; i < names.length; i += 10) batches.push(names.slice(i, i + 10));
    for (let i = 0; i < batches.length; i += 20) {
        await Promise.all(
            batches.slice(i, i + 20).map((batch) => sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })) }))),
        );
    }
    sqs.destroy();
}

/** `contender` started as the image starts the worker, on `queueUrl` through `endpoint`, on `folders`. */
function spawnContender(contender: Contender, endpoint: string, queueUrl: string, folders: { source: string; destination: string }): ChildProcess {
    return spawn(contender.command[0], contender.command.slice(1), {
        stdio: ["ignore", "ignore", "inherit"],
        env: workerProcessEnv(endpoint, queueUrl, folders, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...contender.env }),
    });
}

/** SIGTERM, as ECS stops a task; SIGKILL after 5 s. */
async function stopContender(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

export async function measure(emulator: Emulator, contender: Contender, link: "loopback" | "wan", count: number, endpoint: string, timeoutMs: number): Promise<Measurement> {
    const folders = makeDataFolders("ecs-anywhere-bench-");
    try {
        const queue = createQueuePair(emulator, { visibilityTimeout: 60, maxReceiveCount: 1000 });
        const names = Array.from({ length: count }, (_, i) => `file-${String(i).padStart(6, "0")}`);
        if (!contender.isCeiling) for (const name of names) fs.writeFileSync(path.join(folders.source, name), "x");
        await seed(emulator.endpoint, queue.url, names);

        const child = spawnContender(contender, endpoint, queue.url, folders);
        let firstReceive = Number.NaN;
        let finished = Number.NaN;
        let peak = 0;
        const deadline = performance.now() + timeoutMs;
        while (performance.now() < deadline) {
            const state = emulator.server.inspectQueue(queue.name);
            const ready = state?.messages.ready.length ?? 0;
            const inflight = state?.messages.inflight.length ?? 0;
            if (Number.isNaN(firstReceive) && ready < count) firstReceive = performance.now();
            if (ready + inflight === 0) {
                finished = performance.now();
                break;
            }
            peak = Math.max(peak, peakRssMb(child.pid ?? 0) || 0);
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        peak = Math.max(peak, peakRssMb(child.pid ?? 0) || 0);
        const cpu = cpuSeconds(child.pid ?? 0);
        await stopContender(child);

        const complete = !Number.isNaN(finished) && (contender.isCeiling === true || fs.readdirSync(folders.destination).length === count);
        const end = Number.isNaN(finished) ? performance.now() : finished;
        const seconds = (end - firstReceive) / 1000;
        return { label: contender.label, link, messages: count, seconds, perSecond: count / seconds, peakRssMb: peak, complete, cpuMsPer1000: (cpu * 1000 * 1000) / count };
    } finally {
        folders.remove();
    }
}

/**
 * Milliseconds from spawning `contender` (its entrypoint, as the image starts it) to its first
 * ReceiveMessage request reaching the queue, on an empty queue through a proxy that only watches.
 */
export async function measureStartup(emulator: Emulator, contender: Contender, timeoutMs = 10_000): Promise<number> {
    const folders = makeDataFolders("ecs-anywhere-bench-startup-");
    let received!: (at: number) => void;
    const firstReceive = new Promise<number>((resolve) => (received = resolve));
    const proxy = await startTcpProxy({
        targetPort: emulator.port,
        onClientData: (chunk) => {
            if (chunk.includes("AmazonSQS.ReceiveMessage")) received(performance.now());
        },
    });
    try {
        const queue = createQueuePair(emulator);
        const spawned = performance.now();
        const child = spawnContender(contender, proxy.url, queue.url, folders);
        let timer: NodeJS.Timeout | undefined;
        const first = await Promise.race([firstReceive, new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Number.NaN), timeoutMs)))]);
        clearTimeout(timer);
        await stopContender(child);
        return first - spawned;
    } finally {
        await proxy.close();
        folders.remove();
    }
}

/** The round with the median rate, carrying the spread of all rounds and the highest peak RSS. */
function median(measured: Measurement[]): Measurement {
    const sorted = [...measured].sort((a, b) => a.perSecond - b.perSecond);
    const middle = sorted[Math.floor(sorted.length / 2)];
    if (sorted.length === 1) return middle;
    return {
        ...middle,
        complete: measured.every((m) => m.complete),
        peakRssMb: Math.max(...measured.map((m) => m.peakRssMb)),
        spread: [sorted[0].perSecond, sorted[sorted.length - 1].perSecond],
    };
}

function nodeTable(rows: Measurement[], reference: string): string {
    const ceiling = rows.find((r) => r.label === reference)?.perSecond ?? Number.NaN;
    const walkthrough = rows.find((r) => r.label.startsWith("walkthrough"))?.perSecond ?? Number.NaN;
    const withStartup = rows.some((r) => r.startupMs !== undefined);
    const startup = (r: Measurement) => (r.startupMs ? ` ${r.startupMs.median.toFixed(0)}; ${r.startupMs.range[0].toFixed(0)}–${r.startupMs.range[1].toFixed(0)} |` : " |");
    const lines = [
        `| worker | messages | msg/s (median; range) | vs ceiling | vs walkthrough | peak RSS (MB) |${withStartup ? " startup to first receive (ms; range) |" : ""} CPU ms / 1000 msgs |`,
        `|---|---:|---:|---:|---:|---:|${withStartup ? "---:|" : ""}---:|`,
        ...rows.map(
            (r) =>
                `| ${r.label}${r.complete ? "" : " (INCOMPLETE)"} | ${r.messages} | ${r.perSecond.toFixed(0)}${r.spread ? `; ${r.spread[0].toFixed(0)}–${r.spread[1].toFixed(0)}` : ""} | ${((100 * r.perSecond) / ceiling).toFixed(0)}% | ${Number.isNaN(walkthrough) ? "–" : `${(r.perSecond / walkthrough).toFixed(1)}x`} | ${r.peakRssMb.toFixed(1)} |${withStartup ? startup(r) : ""} ${r.cpuMsPer1000.toFixed(0)} |`,
        ),
    ];
    return lines.join("\n");
}

function medianOf(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

/** The value of `--name=value` (the last one given). */
function option(args: readonly string[], name: string): string | undefined {
    return options(args, name).at(-1);
}

/** Every value of `--name=value`, in order. */
function options(args: readonly string[], name: string): string[] {
    return args.filter((arg) => arg.startsWith(`--${name}=`)).map((arg) => arg.slice(name.length + 3));
}

/** The worker of git revision `revision` of this repository, built once into .bench/baseline-<revision>. */
function buildBaseline(revision: string): string {
    const commit = execFileSync("git", ["-C", ROOT, "rev-parse", "--verify", `${revision}^{commit}`], { encoding: "utf8" }).trim();
    // Inside the checkout, so that the build finds this checkout's node_modules.
    const dir = path.join(ROOT, ".bench", `baseline-${commit.slice(0, 12)}`);
    const main = path.join(dir, "worker", "dist", "main.js");
    if (fs.existsSync(main)) return main;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    console.log(`building the worker of ${commit.slice(0, 12)} (git archive, tsc) into ${path.relative(ROOT, dir)}...`);
    const archive = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", commit, "tsconfig.json", "worker/src", "worker/tsconfig.build.json", "worker/package.json"]);
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(dir, "worker", "tsconfig.build.json")], { stdio: "inherit" });
    return main;
}

function table(results: Measurement[], link: "loopback" | "wan", reference: string): string {
    const rows = results.filter((r) => r.link === link);
    const nodes = [...new Set(rows.map((r) => r.node))];
    return nodes.map((node) => (nodes.length > 1 ? `Node ${node}:\n\n` : "") + nodeTable(rows.filter((r) => r.node === node), reference)).join("\n\n");
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const quick = args.includes("--quick");
    const focus = args.includes("--focus");
    const roundsArg = option(args, "rounds");
    const roundCount = roundsArg === undefined ? (quick ? 1 : 3) : Number(roundsArg);
    if (!Number.isInteger(roundCount) || roundCount < 1) throw new Error(`--rounds: expected a whole number of at least 1, got ${JSON.stringify(roundsArg)}`);
    const messagesArg = option(args, "messages");
    const messages = messagesArg === undefined ? undefined : Number(messagesArg);
    if (messages !== undefined && (!Number.isInteger(messages) || messages < 20)) throw new Error(`--messages: expected a whole number of at least 20, got ${JSON.stringify(messagesArg)}`);
    const links = (option(args, "links") ?? "loopback,wan").split(",");
    if (links.length === 0 || links.some((link) => link !== "loopback" && link !== "wan")) throw new Error(`--links: expected loopback, wan or both (comma-separated), got ${JSON.stringify(option(args, "links"))}`);
    const nodes = options(args, "node");
    if (nodes.length === 0) nodes.push(process.execPath);
    const scale = quick ? 0.1 : 1;
    const wanLoops = 16;
    const baselineMain = option(args, "baseline");
    const baselineCommit = option(args, "baseline-commit");
    if (baselineMain !== undefined && baselineCommit !== undefined) throw new Error("--baseline and --baseline-commit: give one of them");
    const baselineFlags = option(args, "baseline-flags");
    const nodeVersions = new Map(nodes.map((node) => [node, execFileSync(node, ["--version"], { encoding: "utf8" }).trim()]));
    console.log(`ecs-anywhere bench${quick ? " (quick)" : ""}: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}, workers on node ${[...nodeVersions].map(([node, version]) => `${version} (${node})`).join(", ")}, bench on ${process.version}`);
    console.log(`command line: npm run bench -- ${args.join(" ")}`);
    console.log("building the worker (npm run build -w worker)...");
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(ROOT, "worker", "tsconfig.build.json")], { stdio: "inherit" });
    const baselineBuild = baselineCommit === undefined ? baselineMain : buildBaseline(baselineCommit);
    const baseline = baselineBuild ? { main: path.resolve(baselineBuild), flags: baselineFlags === undefined ? (baselineCommit === undefined ? [] : [...WORKER_NODE_FLAGS]) : baselineFlags.split(/\s+/).filter(Boolean) } : undefined;
    /** Every contender under every node; the node named in the label when there are several. */
    const allContenders = () =>
        nodes.flatMap((node) =>
            contenders(node, wanLoops, baseline, messages).map((contender) => ({ ...contender, node: nodeVersions.get(node) ?? node, key: nodes.length > 1 ? `${contender.label} @ ${nodeVersions.get(node)}` : contender.label })),
        );

    const emulator = await startEmulator();
    const proxy: TcpProxy = await startTcpProxy({ targetPort: emulator.port, delayMs: 25 });
    const results: Measurement[] = [];
    try {
        for (const link of links as Array<"loopback" | "wan">) {
            const endpoint = link === "loopback" ? emulator.endpoint : proxy.url;
            const all = allContenders().filter((contender) => contender.messages[link] > 0 && (!focus || contender.isWorker || contender.isReference));
            const rounds = new Map<string, Measurement[]>();
            const startups = new Map<string, number[]>();
            // Every contender is measured once a round, so drift on this shared machine hits all alike.
            for (let round = 0; round < roundCount; round++) {
                for (const contender of all) {
                    const count = Math.max(20, Math.round(contender.messages[link] * scale));
                    process.stdout.write(`${link}: ${contender.key}, ${count} messages${round > 0 ? `, round ${round + 1}` : ""}... `);
                    const result = { ...(await measure(emulator, contender, link, count, endpoint, quick ? 20_000 : 120_000)), node: contender.node };
                    rounds.set(contender.key, [...(rounds.get(contender.key) ?? []), result]);
                    let started = "";
                    if (link === "loopback") {
                        // Startup three times a round: it is short, and the machine is shared.
                        const times = [];
                        for (let i = 0; i < 3; i++) times.push(await measureStartup(emulator, contender));
                        startups.set(contender.key, [...(startups.get(contender.key) ?? []), ...times]);
                        started = `, startup ${times.map((t) => t.toFixed(0)).join("/")} ms`;
                    }
                    console.log(`${result.perSecond.toFixed(0)} msg/s, peak RSS ${result.peakRssMb.toFixed(1)} MB, CPU ${result.cpuMsPer1000.toFixed(0)} ms/1000${started}${result.complete ? "" : " (did not finish in time)"}`);
                }
            }
            for (const [key, measured] of rounds) {
                const times = startups.get(key);
                results.push({ ...median(measured), ...(times ? { startupMs: { median: medianOf(times), range: [Math.min(...times), Math.max(...times)] as const } } : {}) });
            }
        }
    } finally {
        await proxy.close();
        await emulator.stop();
    }
    const reference = contenders(nodes[0], wanLoops).find((contender) => contender.isReference)?.label ?? "";
    console.log(`\nWorkers on node ${[...nodeVersions.values()].join(", ")}; "vs ceiling" is against "${reference}" on the same node; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}.`);
    if (baseline) console.log(`Baseline worker: node ${[...baseline.flags, baseline.main].join(" ")}${baselineCommit === undefined ? "" : ` (built from ${baselineCommit})`}`);
    if (links.includes("loopback")) {
        console.log("\nLoopback (CPU is the bound: the emulator, this process and the worker share the machine):\n");
        console.log(table(results, "loopback", reference));
    }
    if (links.includes("wan")) {
        console.log("\nWAN-like link, 50 ms round trip (round trips x loops are the bound):\n");
        console.log(table(results, "wan", reference));
    }
    const out = path.join(ROOT, ".bench");
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `bench-${quick ? "quick" : "full"}.json`), JSON.stringify({ nodes: [...nodeVersions.values()], args, ...(baseline ? { baseline } : {}), results }, null, 2));
    console.log(`\nraw figures: .bench/bench-${quick ? "quick" : "full"}.json`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
}
