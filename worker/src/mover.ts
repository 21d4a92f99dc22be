/**
 * Moves named files from the source folder to the destination folder, as the message-handling
 * table in docs/worker.md says: never overwrite, never follow a link out of the folders, never
 * remove a file it has not moved, and make a move durable before its message may be deleted.
 *
 * A move on one file system (the common case: a file the worker may link):
 * 1. rename the source name to a new receipt, `<destination>/.ecs-anywhere-moved/<message id>.<n>`:
 *    a rename takes exactly the file the name holds at that instant, frees the name at once (a
 *    file a producer renames onto it later is a new file, never touched), and says which message
 *    took the file;
 * 2. link the receipt to the destination name (a link never replaces: EEXIST puts the file back
 *    under its name and the table decides);
 * 3. sync the destination and source folders. The message may then be deleted, and its receipt,
 *    a second name of the moved file, goes after the delete.
 * A file the kernel would not let the worker link (`fs.protected_hardlinks`: not its own, not
 * writable by it), or one on another device, is copied instead: copied to a partial file in the
 * destination, synced, renamed to the receipt and linked into place; its source name is then
 * renamed into `<source>/.ecs-anywhere-staging/` and removed there only if it is the file copied.
 *
 * The receipt is the evidence for "already done": a message whose file is not in the source is
 * deleted only if a receipt of that message (its SQS message id, the same on every delivery) is a
 * name of the destination's file. A destination without one may be another message's file (a name
 * reused before its new file arrived), so such a message is kept, retried, then dead-lettered.
 *
 * Work is done a batch at a time so that the folder syncs are paid once per batch.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { errorCode, MoveError } from "./errors";
import { PROBE_LINK_NAME, PROBE_NAME, type FolderFileSystem } from "./folders";

/** What happened to one file; only `moved` and `already-done` allow the message to be deleted. */
export type MoveOutcome =
    | {
          readonly kind: "moved";
          readonly via: "link" | "copy";
          /** To pass to `release()` once the message is deleted. */
          readonly receipts: readonly string[];
          /** A file renamed onto the source name during the move could not be linked back: it is in the staging folder's `kept/`. */
          readonly setAside?: true;
      }
    | { readonly kind: "already-done"; readonly receipts: readonly string[] }
    | { readonly kind: "missing" }
    /** The destination exists but no receipt shows that this message moved it. */
    | { readonly kind: "unconfirmed" }
    | { readonly kind: "conflict"; readonly reason: string }
    | { readonly kind: "rejected"; readonly reason: string }
    | { readonly kind: "failed"; readonly error: MoveError };

export interface MoverOptions {
    readonly sourceDir: string;
    readonly destinationDir: string;
    readonly processedSuffix: string;
}

/** What a sweep removed, put back or left for the operator. */
export interface SweepReport {
    readonly partialCopiesRemoved: number;
    readonly receiptsRemoved: number;
    readonly stagedRemoved: number;
    /** Files set aside after a race, linked back under their name in the source. */
    readonly restored: number;
    /** Files in the staging folder the worker may not remove and cannot put back: for the operator. */
    readonly setAside: number;
}

/** The file-system calls the mover and the folder checks make; tests may wrap them to inject faults. */
export type FileSystem = Pick<typeof fsp, "lstat" | "link" | "unlink" | "open" | "mkdir" | "readdir" | "utimes" | "rename" | "rmdir"> & FolderFileSystem;

/** Copies are written here, inside the destination (same device, so they can be linked into place). */
export const PARTIAL_FOLDER = ".ecs-anywhere-partial";
/** Receipts: in the destination, a second name of each moved file while its message is not yet deleted. */
export const RECEIPT_FOLDER = ".ecs-anywhere-moved";
/** In the source: where a source name is renamed to be removed, and `kept/` for files that could not be put back. */
export const STAGING_FOLDER = ".ecs-anywhere-staging";
const KEPT = "kept";
/** Leftovers of an interrupted copy look like this; only the worker makes such names. */
const PARTIAL = /^\.ecs-anywhere-[0-9a-f]{16}\.partial$/;
/** `<message key>.<unique>`, and `<unique>`: the names the worker gives receipts and staged files. */
const RECEIPT = /^([A-Za-z0-9_-]{1,128})\.([0-9a-f]{12}-[0-9a-z]+)$/;
const STAGED = /^[0-9a-f]{12}-[0-9a-z]+$/;
/** A partial copy or a staged file this old is no move's in progress. */
const LEFTOVER_AGE_MS = 3_600_000;
/**
 * A receipt is needed until its message is deleted, which is normally at once; one left by a crash
 * after the delete goes after a day (longer than any visibility timeout: a message not deleted
 * comes back before then, finds its receipt, and is deleted). It never holds the only copy of a
 * file the destination has not had.
 */
const RECEIPT_AGE_MS = 86_400_000;
/** Opens for reading without following a link and without blocking on a FIFO swapped in. */
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** What the source name must still be for its removal: the inode, and for a copy also its size and modification time. */
type Version = Pick<Stats, "dev" | "ino"> & Partial<Pick<Stats, "size" | "mtimeMs">>;
/** The file is at its destination name with a receipt; `moved` set: its source name is still to be removed, if it is still that. */
type Staged = { readonly kind: "staged"; readonly via: "link" | "copy"; readonly receipts: readonly string[]; readonly moved?: Version };
type Receipt = { readonly path: string; readonly key: string };
/** Why a file taken from its name is still in its receipt (it waits there for its message's next delivery). */
const STRANDED = "the file taken from its name could be neither linked into place nor put back: it waits in its receipt for the message's next delivery";

export class FileMover {
    private readonly fs: FileSystem;
    /** The folders as path prefixes ending in "/": a checked name is appended, not joined (no normalising per call). */
    private readonly sourcePrefix: string;
    private readonly destinationPrefix: string;
    private readonly partialFolder: string;
    private readonly receiptFolder: string;
    private readonly stagingFolder: string;
    /** Makes receipt and staging names unique across workers sharing the folders (EFS), without a random draw per file. */
    private readonly instance = randomBytes(6).toString("hex");
    private counter = 0;
    /** Who this process is, for `mayLink`. */
    private readonly uid = process.geteuid?.() ?? -1;
    private readonly groups = new Set([process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])]);

    constructor(
        private readonly options: MoverOptions,
        fileSystem: FileSystem = fsp,
    ) {
        this.fs = fileSystem;
        this.sourcePrefix = folderPrefix(options.sourceDir);
        this.destinationPrefix = folderPrefix(options.destinationDir);
        this.partialFolder = this.destinationPrefix + PARTIAL_FOLDER;
        this.receiptFolder = this.destinationPrefix + RECEIPT_FOLDER;
        this.stagingFolder = this.sourcePrefix + STAGING_FOLDER;
    }

    /**
     * Clears what interrupted work left (at start, then hourly): partial copies and staged names
     * of moved files older than an hour, receipts older than a day; links files set aside back
     * under their name where it is free. `now` is for tests.
     */
    async sweep(now = Date.now()): Promise<SweepReport> {
        const partialCopiesRemoved = await this.sweepFolder(this.partialFolder, (entry, stats) => PARTIAL.test(entry) && now - stats.mtimeMs > LEFTOVER_AGE_MS);
        let setAside = 0;
        const receiptsRemoved = await this.sweepFolder(this.receiptFolder, (entry, stats) => {
            if (!RECEIPT.test(entry) || now - stats.ctimeMs <= RECEIPT_AGE_MS) return false;
            // A second name of a moved file goes; a file whose only name this is (taken, never linked: its message lost) stays.
            if (stats.nlink >= 2) return true;
            setAside++;
            return false;
        });
        const stagedRemoved = await this.sweepFolder(this.stagingFolder, (entry, stats) => {
            if (!STAGED.test(entry) || now - stats.ctimeMs <= LEFTOVER_AGE_MS) return false;
            // A second name of a moved file (a removal cut short by a crash) goes; a file with no other name stays.
            if (stats.nlink >= 2) return true;
            setAside++;
            return false;
        });
        const kept = await this.restoreKept();
        return { partialCopiesRemoved, receiptsRemoved, stagedRemoved, restored: kept.restored, setAside: setAside + kept.left };
    }

    /**
     * Moves each named file (names already checked by `checkFileName`); `messageIds[i]` is the
     * message naming `names[i]`. The outcome of each is durable when this returns: a `moved` file
     * is in the destination and gone from the source on disk, so its message may be deleted.
     */
    async moveBatch(names: readonly string[], messageIds: readonly (string | undefined)[] = []): Promise<MoveOutcome[]> {
        const staged: Array<MoveOutcome | Staged> = await Promise.all(
            names.map((name, i) => this.stage(name, receiptKey(messageIds[i])).catch((error: unknown) => this.failure("stage", messageIds[i], error))),
        );
        // "Already done" deletes a message too, so its folders are synced as well: the move that
        // did it may have died, or failed to sync, before its own syncs.
        const deletable = (kind: string): boolean => kind === "staged" || kind === "moved" || kind === "already-done";
        if (!staged.some((s) => deletable(s.kind))) return staged as MoveOutcome[];
        const moved = (s: Staged): MoveOutcome => ({ kind: "moved", via: s.via, receipts: s.receipts });

        // Names taken and destinations linked: on disk before any message goes, and before a source
        // name still holding a copied file is removed. (The receipts folder is not synced: a
        // receipt lost in a crash costs only the evidence, and the message then waits in the
        // dead-letter queue; on ext4, XFS and NFS the other syncs commit it anyway.)
        try {
            await Promise.all([this.syncFolder(this.options.destinationDir), this.syncFolder(this.options.sourceDir)]);
        } catch (error) {
            return staged.map((s, i) => (deletable(s.kind) ? this.failure("sync folders", messageIds[i], error) : (s as MoveOutcome)));
        }
        if (!staged.some((s) => s.kind === "staged" && s.moved !== undefined)) return staged.map((s) => (s.kind === "staged" ? moved(s) : s));
        const finished = await Promise.all(
            staged.map(async (s, i): Promise<MoveOutcome> => {
                if (s.kind !== "staged") return s;
                if (s.moved === undefined) return moved(s);
                try {
                    const putBack = await this.removeSource(names[i], s.moved);
                    return { ...moved(s), ...(putBack ? {} : { setAside: true }) };
                } catch (error) {
                    return this.failure("remove source", messageIds[i], error);
                }
            }),
        );
        try {
            await this.syncFolder(this.options.sourceDir);
        } catch (error) {
            return finished.map((o, i) => (deletable(o.kind) ? this.failure("sync source folder", messageIds[i], error) : o));
        }
        return finished;
    }

    /** Removes the receipts of messages now deleted (best effort: one left behind is swept after a day). */
    async release(receipts: readonly string[]): Promise<void> {
        await Promise.all(receipts.map((receipt) => this.fs.unlink(receipt).catch(() => undefined)));
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
     * Puts the file at its destination name with a receipt (a copied file is still at its source
     * name), or decides the outcome. The common case costs four calls: lstat, rename, lstat, link.
     */
    private async stage(name: string, key: string): Promise<MoveOutcome | Staged> {
        const reserved = reservedName(name, name + this.options.processedSuffix);
        if (reserved !== undefined) return { kind: "rejected", reason: reserved };
        const source = this.sourcePath(name);
        const found = await this.lstatOrNull(source);
        if (found === null) return this.settleAbsent(name, key);
        if (!found.isFile()) return notAFile(found);
        // Taken first, a file the worker may not link could be put back only by a rename that might replace a newer one.
        if (!this.mayLink(found)) return this.copy(name, key, found);
        const receipt = this.receiptPath(key);
        try {
            await this.place(source, receipt, "rename");
        } catch (error) {
            const code = errorCode(error);
            // Taken since (by another message naming it): as if it had not been there. Still there,
            // it is the destination folder that is missing: a fault, thrown.
            if (code === "ENOENT" && (await this.lstatOrNull(source)) === null) return this.settleAbsent(name, key);
            if (code === "EXDEV") return this.copy(name, key, found);
            throw error;
        }
        // The name is free; the receipt holds what it held. Link that into place, and look at it
        // meanwhile: it is what was looked at above unless a file was renamed onto the name between.
        const destination = this.destinationPath(name);
        const [looked, linked] = await Promise.allSettled([this.fs.lstat(receipt), this.fs.link(receipt, destination)]);
        if (looked.status === "fulfilled" && looked.value.isFile() && this.mayLink(looked.value)) {
            if (linked.status === "fulfilled") return { kind: "staged", via: "link", receipts: [receipt] };
            // Back under its name. If even that cannot be done (the name taken again, or the fault
            // behind the error), it waits in its receipt, where the message's next delivery finds it.
            if ((await this.restore(receipt, name)) && errorCode(linked.reason) === "EEXIST") return this.settleTaken(name, key);
            throw linked.reason;
        }
        // Not a file the worker may link (one renamed in between), or not looked at: the link undone, the file put back.
        if (linked.status === "fulfilled") await this.fs.unlink(destination);
        const restored = await this.restore(receipt, name);
        if (looked.status === "rejected") throw looked.reason;
        if (!restored) throw new Error(STRANDED);
        return looked.value.isFile() ? this.copy(name, key, looked.value) : notAFile(looked.value);
    }

    /** Links a copy's receipt to the destination name; if that is taken, drops the receipt and settles what both names hold. */
    private async linkToDestination(name: string, key: string, receipt: string, staged: Staged): Promise<MoveOutcome | Staged> {
        try {
            await this.fs.link(receipt, this.destinationPath(name));
        } catch (error) {
            // A copy: the source name still holds the file.
            await this.fs.unlink(receipt).catch(() => undefined);
            if (errorCode(error) === "EEXIST") return this.settleTaken(name, key);
            throw error;
        }
        return staged;
    }

    /**
     * The source name is free: done if this message's receipt names the destination's file. A
     * receipt of this message that is its file's only name is a move cut short between taking the
     * name and linking the destination (a crash): it is finished, or put back if the destination
     * holds another file.
     */
    private async settleAbsent(name: string, key: string): Promise<MoveOutcome | Staged> {
        const [destination, mine] = await Promise.all([this.lstatOrNull(this.destinationPath(name)), this.receiptsFor(key)]);
        const done = destination === null ? [] : mine.filter((r) => sameFile(r.stats, destination)).map((r) => r.path);
        if (done.length > 0) return { kind: "already-done", receipts: done };
        const stranded = mine.find((r) => r.stats.isFile() && r.stats.nlink === 1);
        if (stranded === undefined) return destination === null ? { kind: "missing" } : { kind: "unconfirmed" };
        if (destination === null) {
            try {
                await this.fs.link(stranded.path, this.destinationPath(name));
                return { kind: "staged", via: "link", receipts: [stranded.path] };
            } catch (error) {
                if (errorCode(error) !== "EEXIST") throw error;
            }
        }
        if (!(await this.restore(stranded.path, name))) throw new Error(STRANDED);
        return this.settleTaken(name, key);
    }

    /** The destination name is taken (EEXIST): decides from what both names and the receipts show now. */
    private async settleTaken(name: string, key: string): Promise<MoveOutcome | Staged> {
        const [sourceStats, destinationStats] = await Promise.all([this.lstatOrNull(this.sourcePath(name)), this.lstatOrNull(this.destinationPath(name))]);
        if (destinationStats === null) return sourceStats === null ? { kind: "missing" } : { kind: "conflict", reason: "destination appeared and vanished" };
        const receipts = await this.receiptsOf(destinationStats);
        const ours = receipts.filter((r) => r.key === key).map((r) => r.path);
        if (sourceStats === null) return ours.length > 0 ? { kind: "already-done", receipts: ours } : { kind: "unconfirmed" };
        if (!sourceStats.isFile()) return notAFile(sourceStats);
        if (ours.length > 0) {
            // This message moved the destination's file. The source name still holds it (a removal
            // cut short: finish it), or holds a newer file, which is left for its own message.
            const finish = await this.settleExisting(name, sourceStats, destinationStats, ours);
            return finish.kind === "staged" ? finish : { kind: "already-done", receipts: ours };
        }
        if (receipts.length > 0) {
            // Another message moved it there: not this message's file.
            return sameFile(sourceStats, destinationStats) ? { kind: "unconfirmed" } : { kind: "conflict", reason: "destination already holds another message's file" };
        }
        // No receipt: a move cut short by a crash before its receipt reached the disk, or a file put there by hand.
        const settled = await this.settleExisting(name, sourceStats, destinationStats, []);
        if (settled.kind !== "staged") return settled;
        const receipt = this.receiptPath(key);
        await this.place(this.destinationPath(name), receipt, "link");
        return { ...settled, receipts: [receipt] };
    }

    /**
     * Both names exist. The same file under both names (a move cut short between link and
     * removal), or a copy with the same content and modification time (a cross-device move cut
     * short the same way: a copy keeps the time; it is synced before it counts), is finished;
     * anything else is a conflict: never overwrite.
     */
    private async settleExisting(name: string, sourceStats: Stats, destinationStats: Stats, receipts: readonly string[]): Promise<MoveOutcome | Staged> {
        if (sameFile(sourceStats, destinationStats)) return { kind: "staged", via: "link", moved: inode(sourceStats), receipts };
        if (destinationStats.isFile() && destinationStats.size === sourceStats.size && Math.abs(destinationStats.mtimeMs - sourceStats.mtimeMs) < 1) {
            if (await this.sameContent(this.sourcePath(name), this.destinationPath(name))) return { kind: "staged", via: "copy", moved: version(sourceStats), receipts };
        }
        return { kind: "conflict", reason: "destination already exists with other content" };
    }

    /** Cross-device (or un-linkable) move: copy to a private temporary name, sync, rename it to the receipt, link into place. */
    private async copy(name: string, key: string, sourceStats: Stats): Promise<MoveOutcome | Staged> {
        await this.makeFolder(this.partialFolder);
        const partial = path.join(this.partialFolder, `.ecs-anywhere-${randomBytes(8).toString("hex")}.partial`);
        const input = await this.fs.open(this.sourcePath(name), READ_FLAGS);
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
                if (rewritten(await input.stat(), sourceStats)) throw new Error("the source changed while it was being copied");
            } finally {
                await output.close();
            }
            // In seconds, not Dates: a Date would cut the time to the millisecond.
            await this.fs.utimes(partial, sourceStats.atimeMs / 1000, sourceStats.mtimeMs / 1000);
            const receipt = this.receiptPath(key);
            await this.place(partial, receipt, "rename");
            // Another delivery of the same message may have copied it first: settled as if found so.
            return await this.linkToDestination(name, key, receipt, { kind: "staged", via: "copy", moved: version(sourceStats), receipts: [receipt] });
        } finally {
            await input.close();
            await this.fs.unlink(partial).catch(() => undefined);
        }
    }

    /**
     * Takes the source name away if it still names the file moved: renamed into the staging folder
     * (which takes exactly what the name holds at that instant) and removed there. A file renamed
     * onto the name since (a producer reusing names) is linked back under its name for its own
     * message. Returns false if that could not be done (the name taken again, or the file not the
     * worker's to link): the file is then set aside in the staging folder's `kept/`, not removed.
     */
    private async removeSource(name: string, moved: Version): Promise<boolean> {
        const staged = path.join(this.stagingFolder, this.unique());
        try {
            await this.place(this.sourcePath(name), staged, "rename");
        } catch (error) {
            // Gone already: another delivery finishing the same move got there first.
            if (errorCode(error) === "ENOENT") return true;
            throw error;
        }
        let current: Stats;
        try {
            current = await this.fs.lstat(staged);
        } catch (error) {
            await this.restore(staged, name).catch(() => false);
            throw error;
        }
        if (sameVersion(current, moved)) {
            await this.fs.unlink(staged);
            return true;
        }
        if (await this.restore(staged, name)) return true;
        await this.setAside(staged, name);
        return false;
    }

    /** Links a file taken from the source back under its name, never replacing; false if that cannot be done. */
    private async restore(file: string, name: string): Promise<boolean> {
        try {
            await this.fs.link(file, this.sourcePath(name));
        } catch {
            return false;
        }
        await this.fs.unlink(file);
        return true;
    }

    /** Keeps a file no message of the worker's will find again (another message's, renamed in mid-move) in `kept/<unique>/<name>`. */
    private async setAside(file: string, name: string): Promise<void> {
        const kept = path.join(this.stagingFolder, KEPT, this.unique());
        await this.makeFolder(path.dirname(kept));
        await this.fs.mkdir(kept, { mode: 0o700 });
        await this.fs.rename(file, path.join(kept, name));
    }

    /** Links files set aside back under their name where it is free; counts those left. */
    private async restoreKept(): Promise<{ restored: number; left: number }> {
        const folder = path.join(this.stagingFolder, KEPT);
        let restored = 0;
        let left = 0;
        for (const unique of await this.listOrEmpty(folder)) {
            if (!STAGED.test(unique)) continue;
            for (const name of await this.listOrEmpty(path.join(folder, unique))) {
                const file = path.join(folder, unique, name);
                try {
                    await this.fs.link(file, this.sourcePath(name));
                    await this.fs.unlink(file);
                    restored++;
                } catch {
                    left++;
                }
            }
            await this.fs.rmdir(path.join(folder, unique)).catch(() => undefined);
        }
        return { restored, left };
    }

    /** Receipts that are names of the file `stats` describes, with the message key each was made for. */
    private async receiptsOf(stats: Stats): Promise<Receipt[]> {
        // A file with no other name has no receipt: the common answer, without listing the folder.
        if (stats.nlink < 2) return [];
        const found: Receipt[] = [];
        await Promise.all(
            (await this.listOrEmpty(this.receiptFolder)).map(async (entry) => {
                const match = RECEIPT.exec(entry);
                if (match === null) return;
                const receipt = path.join(this.receiptFolder, entry);
                const current = await this.lstatOrNull(receipt);
                if (current !== null && sameFile(current, stats)) found.push({ path: receipt, key: match[1] });
            }),
        );
        return found;
    }

    /** The receipts made for the message `key`, with what each is. */
    private async receiptsFor(key: string): Promise<Array<{ path: string; stats: Stats }>> {
        const found: Array<{ path: string; stats: Stats }> = [];
        await Promise.all(
            (await this.listOrEmpty(this.receiptFolder)).map(async (entry) => {
                if (!entry.startsWith(`${key}.`)) return;
                const receipt = path.join(this.receiptFolder, entry);
                const stats = await this.lstatOrNull(receipt);
                if (stats !== null) found.push({ path: receipt, stats });
            }),
        );
        return found;
    }

    /**
     * Whether the kernel lets this process hard-link the file (`fs.protected_hardlinks`): root, its
     * owner, or a regular file it may read and write that is neither setuid nor setgid-executable.
     * (ACLs are not read: a file they open is copied rather than linked.)
     */
    private mayLink(stats: Stats): boolean {
        if (this.uid === 0 || stats.uid === this.uid) return true;
        if ((stats.mode & 0o4000) !== 0 || (stats.mode & 0o2010) === 0o2010) return false;
        const bits = this.groups.has(stats.gid) ? (stats.mode >> 3) & 7 : stats.mode & 7;
        return (bits & 6) === 6;
    }

    /** A new receipt's name for the message `key`. */
    private receiptPath(key: string): string {
        return path.join(this.receiptFolder, `${key}.${this.unique()}`);
    }

    private unique(): string {
        return `${this.instance}-${(this.counter++).toString(36)}`;
    }

    /** `link` or `rename` `from` to `to`, making `to`'s folder (one of the worker's own) if `from` exists and it does not. */
    private async place(from: string, to: string, how: "link" | "rename"): Promise<void> {
        const act = () => (how === "link" ? this.fs.link(from, to) : this.fs.rename(from, to));
        try {
            await act();
        } catch (error) {
            if (errorCode(error) !== "ENOENT" || (await this.lstatOrNull(from)) === null) throw error;
            await this.makeFolder(path.dirname(to));
            await act();
        }
    }

    /** Makes one of the worker's own folders; never its parent (a data folder that is gone stays gone: a fault). */
    private async makeFolder(folder: string): Promise<void> {
        try {
            await this.fs.mkdir(folder, { mode: 0o700 });
        } catch (error) {
            if (errorCode(error) !== "EEXIST") throw error;
        }
    }

    /** Removes the entries of `folder` for which `remove` holds; nothing if it is not there. */
    private async sweepFolder(folder: string, remove: (entry: string, stats: Stats) => boolean): Promise<number> {
        let removed = 0;
        for (const entry of await this.listOrEmpty(folder)) {
            const file = path.join(folder, entry);
            try {
                const stats = await this.fs.lstat(file);
                if (stats.isFile() && remove(entry, stats)) {
                    await this.fs.unlink(file);
                    removed++;
                }
            } catch (error) {
                if (errorCode(error) !== "ENOENT") throw error;
            }
        }
        return removed;
    }

    /** The entries of `folder`, none if it is not there (no move needed it yet) or not a folder (moves then fail and say so). */
    private async listOrEmpty(folder: string): Promise<string[]> {
        try {
            return await this.fs.readdir(folder);
        } catch (error) {
            if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return [];
            throw error;
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

    /** fsync of a folder (concurrent batches each sync theirs: ext4 commits them together, and a shared one would make each wait longer). */
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

    private failure(step: string, messageId: string | undefined, error: unknown): MoveOutcome {
        return { kind: "failed", error: new MoveError(step, messageId, { cause: error }) };
    }
}

/** Why a name may not be moved because it, or its destination name, is one of the worker's own; else undefined. */
function reservedName(name: string, destinationName: string): string | undefined {
    if (name === STAGING_FOLDER) return "its name is the worker's own staging folder";
    if ([PARTIAL_FOLDER, RECEIPT_FOLDER, PROBE_NAME, PROBE_LINK_NAME].includes(destinationName)) return "its destination name is one the worker keeps for itself";
    return undefined;
}

/**
 * The start of a message's receipt names: its SQS message id (a UUID, the same on every delivery),
 * or a hash of anything else; a message without an id gets a key no later delivery can match.
 */
function receiptKey(messageId: string | undefined): string {
    if (messageId !== undefined && /^[A-Za-z0-9_-]{1,128}$/.test(messageId)) return messageId;
    return createHash("sha256")
        .update(messageId ?? randomBytes(16))
        .digest("hex")
        .slice(0, 32);
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

/** The inode, size and modification time of `stats`: what a copy was made of (a rename changes the inode's ctime, not these). */
function version(stats: Stats): Version {
    return { ...inode(stats), size: stats.size, mtimeMs: stats.mtimeMs };
}

/** Same file, and where `expected` names them, the same size and modification time. */
function sameVersion(current: Stats, expected: Version): boolean {
    if (!sameFile(current, expected)) return false;
    if (expected.size !== undefined && current.size !== expected.size) return false;
    return expected.mtimeMs === undefined || current.mtimeMs === expected.mtimeMs;
}

/** The same file written to since `before` (its size or times moved). */
function rewritten(now: Stats, before: Stats): boolean {
    return now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ctimeMs !== before.ctimeMs;
}

function notAFile(stats: Stats): MoveOutcome {
    const type = stats.isSymbolicLink() ? "a symbolic link" : stats.isDirectory() ? "a folder" : "a special file";
    return { kind: "rejected", reason: `source is not a regular file (${type})` };
}
