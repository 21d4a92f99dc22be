/**
 * The engine's own record of what it did: the event log `pulumi up|preview|destroy --event-log
 * <file>` writes (one JSON event a line, in the engine's sequence), read into resource steps, and
 * the questions the e2e asks of them.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** One resource step as the engine reports it in its event log. */
export interface EngineStep {
    /** The engine's sequence number: the order steps started and ended in. */
    readonly sequence: number;
    /** `start` (resourcePreEvent), `done` (resOutputsEvent) or `failed` (resOpFailedEvent). */
    readonly phase: "start" | "done" | "failed";
    /** `create`, `update`, `delete`, `replace`, `create-replacement`, `delete-replaced`, `same`, `read`... */
    readonly op: string;
    readonly urn: string;
    readonly type: string;
    /** The resource's logical name (last part of the URN). */
    readonly name: string;
    /** When the engine reported it (Unix seconds). */
    readonly timestamp: number;
}

interface StepPayload {
    readonly metadata: { op: string; urn: string; type: string };
    /** Set on the steps of a preview (the one `up` runs before it acts, too). */
    readonly planning?: boolean;
}

interface EngineEventLine {
    readonly sequence: number;
    readonly timestamp: number;
    readonly resourcePreEvent?: StepPayload;
    readonly resOutputsEvent?: StepPayload;
    readonly resOpFailedEvent?: StepPayload;
}

/** The resource steps the engine carried out (not those it only planned) in its event log (`pulumi up --event-log <file>`). */
export function readEngineSteps(file: string): EngineStep[] {
    if (!fs.existsSync(file)) return [];
    const steps: EngineStep[] = [];
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as EngineEventLine;
        const [phase, payload] = event.resourcePreEvent
            ? (["start", event.resourcePreEvent] as const)
            : event.resOutputsEvent
              ? (["done", event.resOutputsEvent] as const)
              : event.resOpFailedEvent
                ? (["failed", event.resOpFailedEvent] as const)
                : [undefined, undefined];
        if (!phase || payload.planning) continue;
        const { op, urn, type } = payload.metadata;
        steps.push({ sequence: event.sequence, phase, op, urn, type, name: urn.split("::").pop() ?? "", timestamp: event.timestamp });
    }
    return steps.sort((a, b) => a.sequence - b.sequence);
}

/** Operations that change a resource (anything but `same`, `read`, `refresh`). */
const CHANGING = new Set(["create", "update", "delete", "replace", "create-replacement", "delete-replaced", "discard-replaced", "import", "import-replacement", "remove-pending-replace"]);

/**
 * The steps that changed something and finished or failed (each resource step once); the stack
 * itself and the provider instances (`pulumi:*`) are the engine's own, not something touched.
 */
export function changed(steps: readonly EngineStep[]): EngineStep[] {
    return steps.filter((step) => step.phase !== "start" && CHANGING.has(step.op) && !step.type.startsWith("pulumi:"));
}

/** `op name` of each step, for messages. */
export function describeSteps(steps: readonly EngineStep[]): string {
    return steps.map((step) => `${step.op} ${step.name}`).join(", ") || "nothing";
}

/** The first step of `host`'s `step` resource with operation `op` and phase `phase`, or undefined. */
export function hostStep(steps: readonly EngineStep[], op: string, host: string, step: string, phase: EngineStep["phase"] = "done"): EngineStep | undefined {
    return steps.find((s) => s.phase === phase && s.op === op && s.type === "command:remote:Command" && s.name.endsWith(`-${host}-${step}`));
}

/** The changed steps of `host`'s resources. */
export function changedOn(steps: readonly EngineStep[], host: string): EngineStep[] {
    return changed(steps).filter((s) => s.name.includes(`-${host}-`));
}

/** The first failed step of `host`'s resources. */
export function failedOn(steps: readonly EngineStep[], host: string): EngineStep | undefined {
    return steps.find((s) => s.phase === "failed" && s.name.includes(`-${host}-`));
}

/** Seconds from the start of `step`'s resource step to `step` (its end or failure), by the engine's clock. */
export function secondsTo(steps: readonly EngineStep[], step: EngineStep): number {
    const started = steps.find((s) => s.phase === "start" && s.urn === step.urn);
    return step.timestamp - (started?.timestamp ?? step.timestamp);
}

/** Whether the newest event log in `folder` (`events-<n>.jsonl`) shows a carried-out step of a resource named `...<suffix>` started. */
export function startedInLatestEventLog(folder: string, suffix: string): boolean {
    const logs = fs.readdirSync(folder).filter((f) => /^events-\d+\.jsonl$/.test(f)).sort((a, b) => Number(a.match(/\d+/)?.[0]) - Number(b.match(/\d+/)?.[0]));
    const latest = logs.at(-1);
    if (latest === undefined) return false;
    return fs
        .readFileSync(path.join(folder, latest), "utf8")
        .split("\n")
        .some((line) => line.includes('"resourcePreEvent"') && line.includes(`${suffix}"`) && !line.includes('"planning":true'));
}
