/**
 * The mover's rarer paths, driven directly with file-system faults and races injected: what the
 * queue tests cannot time precisely.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { FileMover, type FileSystem } from "../src/index";
import { PARTIAL_FOLDER } from "../src/mover";
import { DEFAULTS } from "../src/options";
import { makeDataFolders, type DataFolders } from "./support/harness";

const SUFFIX = DEFAULTS.processedSuffix;

/** Makes `link` from the source folder fail as across devices, so the mover copies. */
function crossDevice(folders: DataFolders, base: FileSystem = fsp): FileSystem {
    return {
        ...base,
        link: async (from, to) => {
            if (String(from).startsWith(folders.source)) throw Object.assign(new Error("EXDEV: cross-device link not permitted"), { code: "EXDEV" });
            return base.link(from, to);
        },
    };
}

describe("file mover", function () {
    let folders: DataFolders;
    const source = (name: string): string => path.join(folders.source, name);
    const destination = (name: string): string => path.join(folders.destination, name + SUFFIX);
    const mover = (fileSystem: FileSystem = fsp): FileMover =>
        new FileMover({ sourceDir: folders.source, destinationDir: folders.destination, processedSuffix: SUFFIX }, fileSystem);

    /** Copies across devices, and another delivery's copy holding `theirs` lands just before this one's. */
    const copyRacedBy = (name: string, theirs: string): FileSystem =>
        crossDevice(folders, {
            ...fsp,
            link: async (from, to) => {
                if (String(from).includes(PARTIAL_FOLDER) && !fs.existsSync(destination(name))) fs.writeFileSync(destination(name), theirs);
                return fsp.link(from, to);
            },
        });

    /** Runs `during` once, when the mover opens a path for which `when` holds. */
    const onOpen = (base: FileSystem, when: (file: string) => boolean, during: () => void): FileSystem => {
        let done = false;
        return {
            ...base,
            open: (async (file: string, ...rest: unknown[]) => {
                if (!done && when(String(file))) {
                    done = true;
                    during();
                }
                return (base.open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
            }) as FileSystem["open"],
        };
    };

    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(() => folders.remove());

    it("leaves a file a producer wrote under the same name during the move for its own message", async () => {
        fs.writeFileSync(source("report"), "version 1\n");
        let replaced = false;
        // The destination folder's sync runs between link and unlink: the race's window.
        const racing = onOpen(fsp, (file) => file === folders.destination, () => {
            replaced = true;
            fs.rmSync(source("report"));
            fs.writeFileSync(source("report"), "version 2\n");
        });
        const [outcome] = await mover(racing).moveBatch(["report"]);
        assert.equal(replaced, true, "the race was staged");
        assert.deepEqual(outcome, { kind: "moved", via: "link" });
        assert.equal(fs.readFileSync(destination("report"), "utf8"), "version 1\n");
        assert.equal(fs.readFileSync(source("report"), "utf8"), "version 2\n", "the new file is not removed");
        // Its own message then finds a conflict and keeps the message: nothing is lost.
        const [next] = await mover().moveBatch(["report"]);
        assert.equal(next.kind, "conflict");
    });

    it("a source rewritten in place during a cross-device copy is not moved torn: the move fails and is retried", async () => {
        fs.writeFileSync(source("log"), "version 1\n");
        const inode = fs.statSync(source("log")).ino;
        const rewriting = onOpen(crossDevice(folders), (file) => file.includes(PARTIAL_FOLDER), () => fs.writeFileSync(source("log"), "version 2, longer\n"));
        const [outcome] = await mover(rewriting).moveBatch(["log"]);
        assert.equal(fs.statSync(source("log")).ino, inode, "rewritten in place, same inode");
        assert.equal(outcome.kind, "failed", "no delete: the message comes back");
        assert.equal(fs.existsSync(destination("log")), false);
        assert.deepEqual(fs.readdirSync(path.join(folders.destination, PARTIAL_FOLDER)), []);
        // The retry moves the new version whole.
        const [retry] = await mover(crossDevice(folders)).moveBatch(["log"]);
        assert.deepEqual(retry, { kind: "moved", via: "copy" });
        assert.equal(fs.readFileSync(destination("log"), "utf8"), "version 2, longer\n");
    });

    it("a source rewritten in place after its copy is synced is left for its own message", async () => {
        fs.writeFileSync(source("daily"), "monday\n");
        const rewriting = onOpen(crossDevice(folders), (file) => file === folders.destination, () => fs.writeFileSync(source("daily"), "tuesday\n"));
        const [outcome] = await mover(rewriting).moveBatch(["daily"]);
        assert.deepEqual(outcome, { kind: "moved", via: "copy" });
        assert.equal(fs.readFileSync(destination("daily"), "utf8"), "monday\n");
        assert.equal(fs.readFileSync(source("daily"), "utf8"), "tuesday\n", "the new version is not removed");
    });

    it("refuses a name whose destination name is the worker's partial folder, and starts with a file there", async () => {
        const suffixed = new FileMover({ sourceDir: folders.source, destinationDir: folders.destination, processedSuffix: "-partial" });
        fs.writeFileSync(source(".ecs-anywhere"), "x");
        const [outcome] = await suffixed.moveBatch([".ecs-anywhere"]);
        assert.equal(outcome.kind, "rejected");
        assert.equal(fs.existsSync(path.join(folders.destination, PARTIAL_FOLDER)), false);
        fs.writeFileSync(path.join(folders.destination, PARTIAL_FOLDER), "not a folder");
        assert.equal(await suffixed.sweepPartials(), 0, "a start-up sweep does not crash the worker");
    });

    it("syncs both folders before an already-done message may be deleted, and keeps it if a sync fails", async () => {
        fs.writeFileSync(destination("done"), "moved earlier\n");
        const synced: string[] = [];
        let failSourceSync = true;
        const watching: FileSystem = {
            ...fsp,
            open: (async (file: string, ...rest: unknown[]) => {
                if (file === folders.source || file === folders.destination) {
                    synced.push(path.basename(file));
                    if (file === folders.source && failSourceSync) throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
                }
                return (fsp.open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
            }) as FileSystem["open"],
        };
        const [failed] = await mover(watching).moveBatch(["done"]);
        assert.equal(failed.kind, "failed", "no delete without the source folder on disk");
        assert.deepEqual(synced, ["destinationfolder", "sourcefolder"]);

        failSourceSync = false;
        synced.length = 0;
        const [done] = await mover(watching).moveBatch(["done"]);
        assert.deepEqual(done, { kind: "already-done" });
        assert.deepEqual(synced, ["destinationfolder", "sourcefolder"]);
    });

    it("finishes an interrupted copy (same content, other file), syncing the copy first", async () => {
        fs.writeFileSync(source("far"), "same bytes\n");
        fs.writeFileSync(destination("far"), "same bytes\n");
        const syncedFiles: string[] = [];
        const watching: FileSystem = {
            ...fsp,
            open: (async (file: string, ...rest: unknown[]) => {
                const handle = await (fsp.open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
                const sync = handle.sync.bind(handle);
                handle.sync = async () => {
                    syncedFiles.push(file);
                    return sync();
                };
                return handle;
            }) as FileSystem["open"],
        };
        const [outcome] = await mover(watching).moveBatch(["far"]);
        assert.deepEqual(outcome, { kind: "moved", via: "copy" });
        assert.ok(syncedFiles.includes(destination("far")), `the destination copy was synced (${syncedFiles.join(", ")})`);
        assert.equal(fs.existsSync(source("far")), false);
    });

    it("settles a copy that lost the race to another delivery's identical copy as moved, not a conflict", async () => {
        fs.writeFileSync(source("twice"), "content\n");
        const [outcome] = await mover(copyRacedBy("twice", "content\n")).moveBatch(["twice"]);
        assert.deepEqual(outcome, { kind: "moved", via: "copy" });
        assert.equal(fs.readFileSync(destination("twice"), "utf8"), "content\n");
        assert.equal(fs.existsSync(source("twice")), false);
        assert.deepEqual(fs.readdirSync(path.join(folders.destination, PARTIAL_FOLDER)), [], "no partial copy left behind");
    });

    it("still calls a copy that lost the race to other content a conflict, overwriting nothing", async () => {
        fs.writeFileSync(source("clash"), "mine\n");
        const [outcome] = await mover(copyRacedBy("clash", "theirs\n")).moveBatch(["clash"]);
        assert.equal(outcome.kind, "conflict");
        assert.equal(fs.readFileSync(destination("clash"), "utf8"), "theirs\n");
        assert.equal(fs.readFileSync(source("clash"), "utf8"), "mine\n");
    });

    it("sweeps old partial copies from its own folder without listing the destination", async () => {
        const partials = path.join(folders.destination, PARTIAL_FOLDER);
        fs.mkdirSync(partials);
        const old = path.join(partials, ".ecs-anywhere-0123456789abcdef.partial");
        const fresh = path.join(partials, ".ecs-anywhere-fedcba9876543210.partial");
        fs.writeFileSync(old, "x");
        fs.writeFileSync(fresh, "x");
        const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
        fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
        fs.writeFileSync(destination("kept"), "a moved file\n");
        const listed: string[] = [];
        const watching: FileSystem = {
            ...fsp,
            readdir: (async (dir: string, ...rest: unknown[]) => {
                listed.push(dir);
                return (fsp.readdir as (...args: unknown[]) => Promise<string[]>)(dir, ...rest);
            }) as FileSystem["readdir"],
        };
        assert.equal(await mover(watching).sweepPartials(), 1);
        assert.deepEqual(listed, [partials]);
        assert.deepEqual(fs.readdirSync(partials), [path.basename(fresh)]);
        assert.equal(fs.existsSync(destination("kept")), true);
        // No partial folder yet (no copy ever made): nothing to sweep, no error.
        fs.rmSync(partials, { recursive: true });
        assert.equal(await mover().sweepPartials(), 0);
    });
});
