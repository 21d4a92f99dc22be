/**
 * Moves named files from the source folder to the destination folder, as the message-handling
 * table in DESIGN.md says: never overwrite, never follow a link out of the folders, and make a
 * move durable (destination linked and synced before the source is removed and synced).
 *
 * Work is done a batch at a time so that the two folder syncs are paid once per batch.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { errorCode, MoveError } from "./errors";
import { PROBE_NAME, type FolderFileSystem } from "./folders";

/** What happened to one file; only `moved` and `already-done` allow the message to be deleted. */
export type MoveOutcome =
    | { readonly kind: "moved"; readonly via: "link" | "copy" }
    | { readonly kind: "already-done" }
    | { readonly kind: "missing" }
    | { readonly kind: "conflict"; readonly reason: string }
    | { readonly kind: "rejected"; readonly reason: string }
    | { readonly kind: "failed"; readonly error: MoveError };

export interface MoverOptions {
    readonly sourceDir: string;
    readonly destinationDir: string;
    readonly processedSuffix: string;
}

/** The file-system calls the mover and the folder checks make; tests may wrap them to inject faults. */
export type FileSystem = Pick<typeof fsp, "lstat" | "link" | "unlink" | "open" | "mkdir" | "readdir" | "utimes"> & FolderFileSystem;

/** Errors from `link` after which a copy is the way to move the file. */
const COPY_INSTEAD = new Set(["EXDEV", "EPERM", "ENOTSUP", "EOPNOTSUPP", "EMLINK", "EACCES"]);
/** Leftovers of an interrupted copy look like this; only the worker makes such names. */
const PARTIAL = /^\.ecs-anywhere-[0-9a-f]{16}\.partial$/;
/**
 * Copies are written in this folder inside the destination (same device, so they can be linked
 * into place), so that sweeping leftovers reads only this folder, never the whole destination.
 */
export const PARTIAL_FOLDER = ".ecs-anywhere-partial";
/** Opens for reading without following a link and without blocking on a FIFO swapped in. */
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/**
 * What the source name must still be for its removal: the inode, and for a copy also its size and
 * times (a file rewritten in place keeps its inode but not its copy's content).
 */
type Version = Pick<Stats, "dev" | "ino"> & Partial<Pick<Stats, "size" | "mtimeMs" | "ctimeMs">>;
/** The file is at its destination name and still at its source name, which is `source`. */
type Staged = { readonly kind: "staged"; readonly via: "link" | "copy"; readonly source: Version };

export class FileMover {
    private readonly fs: FileSystem;
    /** The folders as path prefixes ending in "/": a checked name is appended, not joined (no normalising per call). */
    private readonly sourcePrefix: string;
    private readonly destinationPrefix: string;

    constructor(
        private readonly options: MoverOptions,
        fileSystem: FileSystem = fsp,
    ) {
        this.fs = fileSystem;
        this.sourcePrefix = folderPrefix(options.sourceDir);
        this.destinationPrefix = folderPrefix(options.destinationDir);
    }

    /** Removes partial copies an interrupted worker left behind more than `olderThanMs` ago. */
    async sweepPartials(olderThanMs = 3_600_000): Promise<number> {
        let removed = 0;
        let entries: string[];
        try {
            entries = await this.fs.readdir(this.partialFolder());
        } catch (error) {
            // Not there (no copy made yet), or not a folder (then copies fail and say so): nothing to sweep.
            if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return 0;
            throw error;
        }
        for (const entry of entries) {
            if (!PARTIAL.test(entry)) continue;
            const file = path.join(this.partialFolder(), entry);
            try {
                const stats = await this.fs.lstat(file);
                if (stats.isFile() && Date.now() - stats.mtimeMs > olderThanMs) {
                    await this.fs.unlink(file);
                    removed++;
                }
            } catch (error) {
                if (errorCode(error) !== "ENOENT") throw error;
            }
        }
        return removed;
    }

    /**
     * Moves each named file (names already checked by `checkFileName`). The outcome of each is
     * durable when this returns: a `moved` file is in the destination and gone from the source
     * on disk, so its message may be deleted.
     */
    async moveBatch(names: readonly string[], messageIds: readonly (string | undefined)[] = []): Promise<MoveOutcome[]> {
        const staged: Array<MoveOutcome | Staged> = await Promise.all(
            names.map((name, i) => this.stage(name).catch((error: unknown) => this.failure("stage", name, messageIds[i], error))),
        );
        // "Already done" deletes a message too, so its folders are synced as well: the move that
        // did it may have died, or failed to sync, before its own syncs.
        const deletable = (kind: string): boolean => kind === "staged" || kind === "moved" || kind === "already-done";
        if (!staged.some((s) => deletable(s.kind))) return staged as MoveOutcome[];

        // The destination link must be on disk before the source name is removed.
        try {
            await this.syncFolder(this.options.destinationDir);
        } catch (error) {
            return staged.map((s, i) => (deletable(s.kind) ? this.failure("sync destination folder", names[i], messageIds[i], error) : (s as MoveOutcome)));
        }
        const finished = await Promise.all(
            staged.map(async (s, i): Promise<MoveOutcome> => {
                if (s.kind !== "staged") return s;
                try {
                    await this.removeSource(names[i], s.source);
                } catch (error) {
                    return this.failure("remove source", names[i], messageIds[i], error);
                }
                return { kind: "moved", via: s.via };
            }),
        );
        try {
            await this.syncFolder(this.options.sourceDir);
        } catch (error) {
            return finished.map((o, i) => (deletable(o.kind) ? this.failure("sync source folder", names[i], messageIds[i], error) : o));
        }
        return finished;
    }

    /**
     * Removes the source name if it still names the file that was moved. A file written under
     * the same name since (a producer reusing names) is left for its own message.
     */
    private async removeSource(name: string, moved: Version): Promise<void> {
        const source = this.sourcePath(name);
        // Gone already: another worker finishing the same interrupted move got there first.
        const current = await this.lstatOrNull(source);
        if (current === null || !sameVersion(current, moved)) return;
        try {
            await this.fs.unlink(source);
        } catch (error) {
            if (errorCode(error) !== "ENOENT") throw error;
        }
    }

    private partialFolder(): string {
        return path.join(this.options.destinationDir, PARTIAL_FOLDER);
    }

    /** The source file of a name checked by `checkFileName` (no "/", not "." or ".."). */
    sourcePath(name: string): string {
        return this.sourcePrefix + name;
    }

    /** The destination file of a checked name (the suffix has no "/" either). */
    destinationPath(name: string): string {
        return this.destinationPrefix + name + this.options.processedSuffix;
    }

    /**
     * Puts the file at its destination name (the source still exists), or decides the outcome.
     * The link is tried first: it never overwrites (EEXIST) and it tells a missing source
     * (ENOENT) apart, so the common case costs one link and one lstat.
     */
    private async stage(name: string): Promise<MoveOutcome | Staged> {
        const source = this.sourcePath(name);
        const destination = this.destinationPath(name);
        const destinationName = name + this.options.processedSuffix;
        if (destinationName === PARTIAL_FOLDER || destinationName === PROBE_NAME) return { kind: "rejected", reason: `its destination name ${destinationName} is the worker's own` };
        try {
            await this.fs.link(source, destination);
        } catch (error) {
            const code = errorCode(error);
            if (code === "ENOENT") {
                if ((await this.lstatOrNull(source)) !== null) throw error;
                return (await this.lstatOrNull(destination)) === null ? { kind: "missing" } : { kind: "already-done" };
            }
            if (code === "EEXIST") return this.settleTaken(name);
            if (code !== undefined && COPY_INSTEAD.has(code)) {
                const sourceStats = await this.fs.lstat(source);
                if (!sourceStats.isFile()) return { kind: "rejected", reason: `source is not a regular file (${describeType(sourceStats)})` };
                return this.copy(name, sourceStats);
            }
            throw error;
        }
        // link() does not follow a symbolic link: it names the link itself. Only regular files move.
        const linked = await this.fs.lstat(destination);
        if (!linked.isFile()) {
            await this.fs.unlink(destination);
            return { kind: "rejected", reason: `source is not a regular file (${describeType(linked)})` };
        }
        // One inode under both names: a rewrite in place is in the destination too, so the inode suffices.
        return { kind: "staged", via: "link", source: inode(linked) };
    }

    /** The destination name is taken (EEXIST): decides from what both names hold now. */
    private async settleTaken(name: string): Promise<MoveOutcome | Staged> {
        const [sourceStats, destinationStats] = await Promise.all([this.lstatOrNull(this.sourcePath(name)), this.lstatOrNull(this.destinationPath(name))]);
        if (sourceStats === null) return destinationStats === null ? { kind: "missing" } : { kind: "already-done" };
        if (!sourceStats.isFile()) return { kind: "rejected", reason: `source is not a regular file (${describeType(sourceStats)})` };
        if (destinationStats === null) return { kind: "conflict", reason: "destination appeared and vanished" };
        return this.settleExisting(name, sourceStats, destinationStats);
    }

    /**
     * Both names exist. The same file under both names (a move interrupted between link and
     * unlink), or a copy with the same content (a cross-device move interrupted the same way; the
     * copy is synced before it counts), is finished; anything else is a conflict: never overwrite.
     */
    private async settleExisting(name: string, sourceStats: Stats, destinationStats: Stats): Promise<MoveOutcome | Staged> {
        if (sameFile(sourceStats, destinationStats)) return { kind: "staged", via: "link", source: inode(sourceStats) };
        if (destinationStats.isFile() && destinationStats.size === sourceStats.size) {
            if (await this.sameContent(this.sourcePath(name), this.destinationPath(name))) return { kind: "staged", via: "copy", source: version(sourceStats) };
        }
        return { kind: "conflict", reason: "destination already exists with other content" };
    }

    /** Cross-device (or un-linkable) move: copy to a private temporary name, sync, then link into place. */
    private async copy(name: string, sourceStats: Stats): Promise<MoveOutcome | Staged> {
        const source = this.sourcePath(name);
        const destination = this.destinationPath(name);
        await this.fs.mkdir(this.partialFolder(), { recursive: true, mode: 0o700 });
        const partial = path.join(this.partialFolder(), `.ecs-anywhere-${randomBytes(8).toString("hex")}.partial`);
        const input = await this.fs.open(source, READ_FLAGS);
        try {
            if (!sameFile(await input.stat(), sourceStats)) return { kind: "rejected", reason: "source changed while it was being moved" };
            const output = await this.fs.open(partial, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
            try {
                const buffer = Buffer.allocUnsafe(1024 * 1024);
                for (let position = 0; ; ) {
                    const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
                    if (bytesRead === 0) break;
                    for (let written = 0; written < bytesRead; ) {
                        written += (await output.write(buffer, written, bytesRead - written)).bytesWritten;
                    }
                    position += bytesRead;
                }
                await output.chmod(sourceStats.mode & 0o7777);
                await output.sync();
                // Rewritten in place while it was read: the copy may be torn. Try again later.
                if (!sameVersion(await input.stat(), version(sourceStats))) throw new Error("the source changed while it was being copied");
            } finally {
                await output.close();
            }
            await this.fs.utimes(partial, sourceStats.atime, sourceStats.mtime);
            try {
                await this.fs.link(partial, destination);
            } catch (error) {
                if (errorCode(error) !== "EEXIST") throw error;
                // Another delivery of the same message may have copied it first: settled as if found so.
                return this.settleTaken(name);
            }
            return { kind: "staged", via: "copy", source: version(sourceStats) };
        } finally {
            await input.close();
            await this.fs.unlink(partial).catch(() => undefined);
        }
    }

    /** True if `a` and `b` hold the same bytes; `b` is then synced, so that it is on disk. */
    private async sameContent(a: string, b: string): Promise<boolean> {
        const opened = await Promise.allSettled([this.fs.open(a, READ_FLAGS), this.fs.open(b, READ_FLAGS)]);
        const failed = opened.find((result) => result.status === "rejected");
        if (failed !== undefined) {
            await Promise.all(opened.map((result) => (result.status === "fulfilled" ? result.value.close() : undefined)));
            throw failed.reason;
        }
        const [x, y] = opened.map((result) => (result as PromiseFulfilledResult<fsp.FileHandle>).value);
        try {
            const size = 64 * 1024;
            const bufferX = Buffer.alloc(size);
            const bufferY = Buffer.alloc(size);
            for (let position = 0; ; position += size) {
                const [readX, readY] = await Promise.all([x.read(bufferX, 0, size, position), y.read(bufferY, 0, size, position)]);
                if (readX.bytesRead !== readY.bytesRead) return false;
                if (readX.bytesRead === 0) {
                    await y.sync();
                    return true;
                }
                if (!bufferX.subarray(0, readX.bytesRead).equals(bufferY.subarray(0, readY.bytesRead))) return false;
            }
        } finally {
            await Promise.all([x.close(), y.close()]);
        }
    }

    private async syncFolder(dir: string): Promise<void> {
        const handle = await this.fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
        try {
            await handle.sync();
        } finally {
            await handle.close();
        }
    }

    private async lstatOrNull(file: string): Promise<Stats | null> {
        try {
            return await this.fs.lstat(file);
        } catch (error) {
            if (errorCode(error) === "ENOENT") return null;
            throw error;
        }
    }

    private failure(step: string, name: string, messageId: string | undefined, error: unknown): MoveOutcome {
        return { kind: "failed", error: new MoveError(`${step} failed for ${JSON.stringify(name)}`, messageId, { cause: error }) };
    }
}

function folderPrefix(folder: string): string {
    const resolved = path.resolve(folder);
    return resolved.endsWith(path.sep) ? resolved : resolved + path.sep;
}

function sameFile(a: Pick<Stats, "dev" | "ino">, b: Pick<Stats, "dev" | "ino">): boolean {
    return a.dev === b.dev && a.ino === b.ino;
}

/** The file `stats` describes, whatever it holds: what a link moves. */
function inode(stats: Stats): Version {
    return { dev: stats.dev, ino: stats.ino };
}

/** The inode, size and times of `stats`: what a copy was made of. */
function version(stats: Stats): Version {
    return { ...inode(stats), size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

/** Same file, and where `expected` names them, the same size and times. */
function sameVersion(current: Stats, expected: Version): boolean {
    if (!sameFile(current, expected)) return false;
    if (expected.size !== undefined && current.size !== expected.size) return false;
    if (expected.mtimeMs !== undefined && current.mtimeMs !== expected.mtimeMs) return false;
    return expected.ctimeMs === undefined || current.ctimeMs === expected.ctimeMs;
}

function describeType(stats: Stats): string {
    if (stats.isSymbolicLink()) return "a symbolic link";
    if (stats.isDirectory()) return "a folder";
    return "a special file";
}
