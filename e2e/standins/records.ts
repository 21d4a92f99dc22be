/**
 * Records of what the stand-ins hold alive. Each stand-in provider kind keeps its live resources
 * in `$E2E_STANDIN_STATE/<provider>.json`: a map from record key (`<urn>#<physical id>`, see
 * `recordKey`) to `{type, name, id, urn, created, outputs}`. Outputs are stored with every secret written as
 * "[secret]" (see call-log's `redact`), so no secret reaches these files either.
 *
 * Several provider processes may touch one file at once (the engine starts a provider per
 * command, a preview and an update overlap, two stacks can run side by side), so every change is
 * a read-modify-write under a lock file (`<provider>.json.lock`, created exclusively) and every
 * write goes to a temporary file renamed over the old one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { redact } from "./call-log";

export interface LiveRecord {
    /** Resource type token, e.g. `aws:sqs/queue:Queue`. */
    readonly type: string;
    /** Logical name (from the URN). */
    readonly name: string;
    readonly id: string;
    readonly urn: string;
    /** ISO time of creation. */
    readonly created: string;
    /** The resource's outputs as last written, secrets redacted. */
    readonly outputs?: Record<string, unknown>;
}

export interface LiveResource {
    readonly provider: string;
    readonly type: string;
    readonly name: string;
    readonly id: string;
}

const LOCK_TIMEOUT_MS = 15_000;
/** A lock older than this is taken to belong to a process that died holding it. */
const STALE_LOCK_MS = 30_000;

function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Runs `fn` holding `<file>.lock`; synchronous, so callers stay simple and ordered. */
function withLock<T>(file: string, fn: () => T): T {
    const lock = `${file}.lock`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
        try {
            const fd = fs.openSync(lock, "wx");
            fs.writeSync(fd, String(process.pid));
            fs.closeSync(fd);
            break;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
            try {
                const holder = Number(fs.readFileSync(lock, "utf8"));
                const age = Date.now() - fs.statSync(lock).mtimeMs;
                if ((holder > 0 && !processAlive(holder)) || age > STALE_LOCK_MS) {
                    fs.rmSync(lock, { force: true });
                    continue;
                }
            } catch {
                // The holder released it between our calls: try again.
                continue;
            }
            if (Date.now() > deadline) throw new Error(`stand-in records: ${lock} is still held after ${LOCK_TIMEOUT_MS} ms`);
            sleepSync(Math.min(5 * (attempt + 1), 50));
        }
    }
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { force: true });
    }
}

function readMap(file: string): Record<string, LiveRecord> {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, LiveRecord>;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
        throw new Error(`stand-in records: ${file} is not readable JSON: ${(error as Error).message}`);
    }
}

function writeMap(file: string, map: Record<string, LiveRecord>): void {
    const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(map, null, 2)}\n`);
    fs.renameSync(temporary, file);
}

/**
 * The key a record is stored under: the URN plus the physical identity (an ARN where the id is
 * not unique, e.g. a task definition's id is its family, shared by every revision). A
 * replacement that keeps the URN therefore gets its own record.
 */
export function recordKey(urn: string, physicalId: string): string {
    return `${urn}#${physicalId}`;
}

/**
 * One provider kind's live records. Without a state folder (unit tests that do not care) every
 * change is dropped and every lookup finds nothing.
 */
export class RecordStore {
    readonly file: string | undefined;

    constructor(
        readonly provider: string,
        readonly stateDir: string | undefined = process.env.E2E_STANDIN_STATE,
    ) {
        this.file = stateDir ? path.join(stateDir, `${provider}.json`) : undefined;
        if (stateDir) fs.mkdirSync(stateDir, { recursive: true });
    }

    get enabled(): boolean {
        return this.file !== undefined;
    }

    add(key: string, record: Omit<LiveRecord, "created"> & { created?: string }): void {
        const file = this.file;
        if (!file) return;
        const stored: LiveRecord = {
            type: record.type,
            name: record.name,
            id: record.id,
            urn: record.urn,
            created: record.created ?? new Date().toISOString(),
            ...(record.outputs ? { outputs: redact(record.outputs) as Record<string, unknown> } : {}),
        };
        withLock(file, () => {
            const map = readMap(file);
            map[key] = stored;
            writeMap(file, map);
        });
    }

    /** Replaces the stored outputs of a live record (after an update); false if it is gone. */
    update(key: string, outputs: Record<string, unknown>): boolean {
        const file = this.file;
        if (!file) return false;
        return withLock(file, () => {
            const map = readMap(file);
            const current = map[key];
            if (!current) return false;
            map[key] = { ...current, outputs: redact(outputs) as Record<string, unknown> };
            writeMap(file, map);
            return true;
        });
    }

    /** Removes a record; returns whether it was there. */
    remove(key: string): boolean {
        const file = this.file;
        if (!file) return false;
        return withLock(file, () => {
            const map = readMap(file);
            if (!(key in map)) return false;
            delete map[key];
            writeMap(file, map);
            return true;
        });
    }

    get(key: string): LiveRecord | undefined {
        return this.file ? readMap(this.file)[key] : undefined;
    }

    all(): LiveRecord[] {
        return this.file ? Object.values(readMap(this.file)) : [];
    }
}

/** Stores whose name starts with this keep history (what was, not what lives): liveResources skips them. */
export const HISTORY_PREFIX = "history-";

/**
 * Every resource still alive in any stand-in's records under `stateDir` (each `<provider>.json`),
 * e.g. to assert that `pulumi destroy` left nothing behind.
 */
export function liveResources(stateDir: string): LiveResource[] {
    if (!fs.existsSync(stateDir)) return [];
    const result: LiveResource[] = [];
    for (const entry of fs.readdirSync(stateDir).sort()) {
        if (!entry.endsWith(".json") || entry.startsWith(HISTORY_PREFIX)) continue;
        const provider = entry.slice(0, -".json".length);
        const map = readMap(path.join(stateDir, entry));
        for (const record of Object.values(map)) {
            if (!record || typeof record !== "object" || typeof record.type !== "string") continue;
            result.push({ provider, type: record.type, name: record.name, id: record.id });
        }
    }
    return result;
}
