/**
 * The mover's rarer paths, driven directly with file-system faults and races injected: what the
 * queue tests cannot time precisely.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { FileMover, type FileSystem, type MoveOutcome } from "../src/index";
import { PARTIAL_FOLDER, RECEIPT_FOLDER, STAGING_FOLDER } from "../src/mover";
import { DEFAULTS } from "../src/options";
import { makeDataFolders, type DataFolders } from "./support/harness";

const SUFFIX = DEFAULTS.processedSuffix;
const DAY_MS = 86_400_000;

/** Makes `link` and `rename` of a file in the source folder to outside it fail as across devices, so the mover copies. */
function crossDevice(folders: DataFolders, base: FileSystem = fsp): FileSystem {
    const across = (from: unknown, to: unknown): boolean => path.dirname(String(from)) === folders.source && !String(to).startsWith(folders.source + path.sep);
    const exdev = () => Object.assign(new Error("EXDEV: cross-device link not permitted"), { code: "EXDEV" });
    return {
        ...base,
        link: async (from, to) => {
            if (across(from, to)) throw exdev();
            return base.link(from, to);
        },
        rename: async (from, to) => {
            if (across(from, to)) throw exdev();
            return base.rename(from, to);
        },
    };
}

/** The file calls a move makes, each counted; `before(n)` runs before the n-th. */
const METHODS = ["lstat", "link", "unlink", "open", "mkdir", "readdir", "utimes", "rename", "rmdir", "stat", "access", "statfs"] as const;
function counted(base: FileSystem, before: (n: number) => void): FileSystem {
    let calls = 0;
    const wrapped: Record<string, unknown> = { ...base };
    for (const method of METHODS) {
        const original = base[method] as (...args: unknown[]) => Promise<unknown>;
        wrapped[method] = (...args: unknown[]) => {
            before(calls++);
            return original(...args);
        };
    }
    return wrapped as unknown as FileSystem;
}

/** An outcome without its receipts' paths (random), for comparing. */
function shape(outcome: MoveOutcome): Record<string, unknown> {
    const { receipts, ...rest } = outcome as MoveOutcome & { receipts?: unknown };
    return receipts === undefined ? rest : { ...rest, receipts: (receipts as string[]).length };
}

describe("file mover", function () {
    let folders: DataFolders;
    const source = (name: string): string => path.join(folders.source, name);
    const destination = (name: string): string => path.join(folders.destination, name + SUFFIX);
    const receipts = (): string[] => (fs.existsSync(path.join(folders.destination, RECEIPT_FOLDER)) ? fs.readdirSync(path.join(folders.destination, RECEIPT_FOLDER)) : []);
    const staging = (): string[] => (fs.existsSync(path.join(folders.source, STAGING_FOLDER)) ? fs.readdirSync(path.join(folders.source, STAGING_FOLDER)) : []);
    const mover = (fileSystem: FileSystem = fsp): FileMover =>
        new FileMover({ sourceDir: folders.source, destinationDir: folders.destination, processedSuffix: SUFFIX }, fileSystem);

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

    /**
     * Runs `during` once, just before the mover removes the source name of a file it copied,
     * whatever that call is (an unlink of it, or its rename into staging): a producer's rename
     * landing at the last instant before the removal.
     */
    const onRemoval = (base: FileSystem, name: string, during: () => void | Promise<void>): FileSystem => {
        let done = false;
        const before = async (file: unknown) => {
            if (!done && String(file) === source(name)) {
                done = true;
                await during();
            }
        };
        return {
            ...base,
            unlink: async (file) => {
                await before(file);
                return base.unlink(file);
            },
            rename: async (from, to) => {
                if (String(to).includes(STAGING_FOLDER)) await before(from);
                return base.rename(from, to);
            },
        };
    };

    /** A producer's rename of a new file onto the source name. */
    const renameOnto = (name: string, content: string): void => {
        const temporary = path.join(folders.outside, `${name}.tmp`);
        fs.writeFileSync(temporary, content);
        fs.renameSync(temporary, source(name));
    };

    beforeEach(() => {
        folders = makeDataFolders();
    });
    afterEach(() => folders.remove());

    describe("names reused while a move runs (issue 29)", () => {
        for (const [where, fileSystem] of [
            ["on one file system", () => fsp],
            ["across devices", () => crossDevice(folders)],
        ] as const) {
            it(`never removes a file a producer renames onto the name at any step of a move (${where}): each version ends in one place`, async () => {
                let raced = 0;
                let reached = true;
                for (let step = 0; reached; step++) {
                    reached = false;
                    let renamed = false;
                    const name = `step-${step}`;
                    fs.writeFileSync(source(name), "version 1\n");
                    const producer = counted(fileSystem(), (n) => {
                        if (n !== step) return;
                        reached = true;
                        // A producer reuses the name once the old file is safe: the name free, or the destination holding its content.
                        const free = !fs.existsSync(source(name));
                        const safe = fs.existsSync(destination(name)) && fs.readFileSync(destination(name), "utf8") === "version 1\n";
                        if (!free && !safe) return;
                        renamed = true;
                        renameOnto(name, "version 2\n");
                    });
                    const [outcome] = await mover(producer).moveBatch([name], [`m-${step}`]);
                    if (renamed) raced++;
                    assert.equal(outcome.kind, "moved", `step ${step}: ${JSON.stringify(outcome)}`);
                    assert.equal(fs.readFileSync(destination(name), "utf8"), "version 1\n", `step ${step}`);
                    const left = fs.existsSync(source(name)) ? fs.readFileSync(source(name), "utf8") : undefined;
                    assert.equal(left, renamed ? "version 2\n" : undefined, `step ${step}: the source holds ${String(left)}`);
                    assert.deepEqual(staging().filter((entry) => entry !== "kept"), [], `step ${step}: nothing left in staging`);
                }
                assert.ok(raced > 0, "the producer found a step to rename at");
            });
        }

        it("takes the source name before the destination exists, so a file renamed onto it meanwhile is a new file, left alone", async () => {
            fs.writeFileSync(source("report"), "version 1\n");
            let renamed = false;
            const producer: FileSystem = {
                ...fsp,
                link: async (from, to) => {
                    // Between the take and the destination link: the name is free, the producer reuses it.
                    if (!renamed && String(to) === destination("report")) {
                        renamed = true;
                        renameOnto("report", "version 2\n");
                    }
                    return fsp.link(from, to);
                },
            };
            const [outcome] = await mover(producer).moveBatch(["report"], ["m-1"]);
            assert.deepEqual(shape(outcome), { kind: "moved", via: "link", receipts: 1 });
            assert.equal(fs.readFileSync(destination("report"), "utf8"), "version 1\n");
            assert.equal(fs.readFileSync(source("report"), "utf8"), "version 2\n", "the new file is not removed");
            // Its own message then finds a conflict and keeps the message: nothing is lost.
            const [next] = await mover().moveBatch(["report"], ["m-2"]);
            assert.equal(next.kind, "conflict");
            assert.equal(fs.readFileSync(source("report"), "utf8"), "version 2\n");
        });

        it("a copied file's source name is removed only if it is the file copied; a file renamed onto it at the last instant is linked back", async () => {
            fs.writeFileSync(source("far"), "version 1\n");
            const racing = onRemoval(crossDevice(folders), "far", () => renameOnto("far", "version 2\n"));
            const [outcome] = await mover(racing).moveBatch(["far"], ["m-1"]);
            assert.deepEqual(shape(outcome), { kind: "moved", via: "copy", receipts: 1 });
            assert.equal(fs.readFileSync(destination("far"), "utf8"), "version 1\n");
            assert.equal(fs.readFileSync(source("far"), "utf8"), "version 2\n");
        });

        it("a file that cannot be linked back (its name taken again) is set aside, never removed, and put back by a sweep once the name is free", async () => {
            fs.writeFileSync(source("busy"), "version 1\n");
            const racing = onRemoval(crossDevice(folders), "busy", () => renameOnto("busy", "version 2\n"));
            let third = false;
            const thirdFile: FileSystem = {
                ...racing,
                link: async (from, to) => {
                    // The put-back: yet another file takes the name first.
                    if (!third && String(to) === source("busy") && String(from).includes(STAGING_FOLDER)) {
                        third = true;
                        renameOnto("busy", "version 3\n");
                    }
                    return racing.link(from, to);
                },
            };
            const [outcome] = await mover(thirdFile).moveBatch(["busy"], ["m-1"]);
            assert.deepEqual(shape(outcome), { kind: "moved", via: "copy", receipts: 1, setAside: true });
            assert.equal(fs.readFileSync(destination("busy"), "utf8"), "version 1\n");
            assert.equal(fs.readFileSync(source("busy"), "utf8"), "version 3\n");
            const kept = path.join(folders.source, STAGING_FOLDER, "kept");
            const [unique] = fs.readdirSync(kept);
            assert.equal(fs.readFileSync(path.join(kept, unique, "busy"), "utf8"), "version 2\n", "version 2 set aside under its name");

            assert.equal((await mover().sweep()).setAside, 1, "the name is still taken: left, and counted for the operator");
            fs.renameSync(source("busy"), path.join(folders.outside, "version 3"));
            const swept = await mover().sweep();
            assert.deepEqual([swept.restored, swept.setAside], [1, 0]);
            assert.equal(fs.readFileSync(source("busy"), "utf8"), "version 2\n", "put back under its name");
            assert.deepEqual(fs.readdirSync(kept), []);
        });

        it("a second message for a name whose file another message is moving is not that file's", async () => {
            fs.writeFileSync(source("shared"), "version 1\n");
            let second: MoveOutcome | undefined;
            // While m-1's move is between its destination link and its removal, m-2 for the same name arrives.
            const during = onOpen(fsp, (file) => file === folders.destination, () => void 0);
            const slow: FileSystem = {
                ...during,
                open: (async (file: string, ...rest: unknown[]) => {
                    if (second === undefined && file === folders.destination) [second] = await mover().moveBatch(["shared"], ["m-2"]);
                    return (fsp.open as (...args: unknown[]) => Promise<fsp.FileHandle>)(file, ...rest);
                }) as FileSystem["open"],
            };
            const [first] = await mover(slow).moveBatch(["shared"], ["m-1"]);
            assert.deepEqual(shape(first), { kind: "moved", via: "link", receipts: 1 });
            assert.deepEqual(second, { kind: "unconfirmed" }, "m-2 may be for a file still to come: kept");
        });

        it("already done only with the message's own receipt; a destination without one keeps the message", async () => {
            fs.writeFileSync(destination("old"), "moved long ago\n");
            assert.deepEqual(await mover().moveBatch(["old"], ["m-0"]), [{ kind: "unconfirmed" }], "no receipt: a reused name's file may be on its way");

            fs.writeFileSync(source("a"), "a\n");
            const [moved] = await mover().moveBatch(["a"], ["m-1"]);
            assert.deepEqual(shape(moved), { kind: "moved", via: "link", receipts: 1 });
            const [again] = await mover().moveBatch(["a"], ["m-1"]);
            assert.deepEqual(shape(again), { kind: "already-done", receipts: 1 }, "a repeated delivery of m-1 (same message id)");
            assert.deepEqual(await mover().moveBatch(["a"], ["m-2"]), [{ kind: "unconfirmed" }], "another message naming a");

            // The name reused: m-3 arrives before its file, then the file.
            assert.deepEqual(await mover().moveBatch(["a"], ["m-3"]), [{ kind: "unconfirmed" }]);
            fs.writeFileSync(source("a"), "a, again\n");
            const [reused] = await mover().moveBatch(["a"], ["m-3"]);
            assert.equal(reused.kind, "conflict", "the new file stays in the source with its message");
            assert.equal(fs.readFileSync(source("a"), "utf8"), "a, again\n");
            // m-1 comes back once more: still already done (its receipt), and the new file is left alone.
            assert.equal((await mover().moveBatch(["a"], ["m-1"]))[0].kind, "already-done");
            assert.equal(fs.readFileSync(source("a"), "utf8"), "a, again\n");

            assert.equal(again.kind, "already-done");
            await mover().release(again.kind === "already-done" ? again.receipts : []);
            assert.deepEqual(receipts(), []);
            assert.deepEqual(await mover().moveBatch(["a"], ["m-1"]), [{ kind: "conflict", reason: "destination already exists with other content" }], "released: m-1 is deleted, its receipt with it");
        });

        it("a move cut short after taking the source name is finished by its own message, not by another", async () => {
            // A crash between the take (the source name renamed to the receipt) and the destination link.
            fs.writeFileSync(source("cut"), "cut\n");
            fs.mkdirSync(path.join(folders.destination, RECEIPT_FOLDER));
            const receipt = path.join(folders.destination, RECEIPT_FOLDER, "m-1.0123456789ab-0");
            fs.renameSync(source("cut"), receipt);
            assert.deepEqual(await mover().moveBatch(["cut"], ["m-2"]), [{ kind: "missing" }], "another message does not take it");
            const [finished] = await mover().moveBatch(["cut"], ["m-1"]);
            assert.deepEqual(shape(finished), { kind: "moved", via: "link", receipts: 1 });
            assert.equal(fs.readFileSync(destination("cut"), "utf8"), "cut\n");
            // And a crash after the link, before the delete: already done, with the same receipt.
            assert.deepEqual(shape((await mover().moveBatch(["cut"], ["m-1"]))[0]), { kind: "already-done", receipts: 1 });
        });

        it("a move cut short after taking the source name, its destination since taken by another file: put back, a conflict", async () => {
            fs.writeFileSync(source("late"), "mine\n");
            fs.mkdirSync(path.join(folders.destination, RECEIPT_FOLDER));
            fs.renameSync(source("late"), path.join(folders.destination, RECEIPT_FOLDER, "m-1.0123456789ab-0"));
            fs.writeFileSync(destination("late"), "theirs\n");
            assert.equal((await mover().moveBatch(["late"], ["m-1"]))[0].kind, "conflict");
            assert.equal(fs.readFileSync(source("late"), "utf8"), "mine\n", "back under its name");
            assert.deepEqual(receipts(), []);
        });

        it("a fault after the take (the destination link fails) puts the file back; if that fails too, its message finds it in its receipt", async () => {
            fs.writeFileSync(source("full"), "full\n");
            let full = true;
            const disk: FileSystem = {
                ...fsp,
                link: async (from, to) => {
                    if (full) throw Object.assign(new Error("ENOSPC: no space left on device, link"), { code: "ENOSPC", path: String(from), dest: String(to) });
                    return fsp.link(from, to);
                },
            };
            const [failed] = await mover(disk).moveBatch(["full"], ["m-1"]);
            assert.equal(failed.kind, "failed");
            assert.equal(fs.existsSync(source("full")), false, "not put back: the link back failed too");
            assert.equal(receipts().length, 1, "it waits in its receipt");
            assert.deepEqual(await mover().moveBatch(["full"], ["m-2"]), [{ kind: "missing" }]);
            full = false;
            const [moved] = await mover(disk).moveBatch(["full"], ["m-1"]);
            assert.deepEqual(shape(moved), { kind: "moved", via: "link", receipts: 1 });
            assert.equal(fs.readFileSync(destination("full"), "utf8"), "full\n");
        });
    });

    it("a source rewritten in place during a cross-device copy is not moved torn: the move fails and is retried", async () => {
        fs.writeFileSync(source("log"), "version 1\n");
        const inode = fs.statSync(source("log")).ino;
        const rewriting = onOpen(crossDevice(folders), (file) => file.includes(PARTIAL_FOLDER), () => fs.writeFileSync(source("log"), "version 2, longer\n"));
        const [outcome] = await mover(rewriting).moveBatch(["log"], ["m-1"]);
        assert.equal(fs.statSync(source("log")).ino, inode, "rewritten in place, same inode");
        assert.equal(outcome.kind, "failed", "no delete: the message comes back");
        assert.equal(fs.existsSync(destination("log")), false);
        assert.deepEqual(fs.readdirSync(path.join(folders.destination, PARTIAL_FOLDER)), []);
        // The retry moves the new version whole.
        const [retry] = await mover(crossDevice(folders)).moveBatch(["log"], ["m-1"]);
        assert.deepEqual(shape(retry), { kind: "moved", via: "copy", receipts: 1 });
        assert.equal(fs.readFileSync(destination("log"), "utf8"), "version 2, longer\n");
    });

    it("a source rewritten in place after its copy is synced is left for its own message", async () => {
        fs.writeFileSync(source("daily"), "monday\n");
        const rewriting = onOpen(crossDevice(folders), (file) => file === folders.destination, () => fs.writeFileSync(source("daily"), "tuesday\n"));
        const [outcome] = await mover(rewriting).moveBatch(["daily"], ["m-1"]);
        assert.deepEqual(shape(outcome), { kind: "moved", via: "copy", receipts: 1 });
        assert.equal(fs.readFileSync(destination("daily"), "utf8"), "monday\n");
        assert.equal(fs.readFileSync(source("daily"), "utf8"), "tuesday\n", "the new version is not removed");
    });

    it("refuses names that are the worker's own, and starts with a file where its partial folder should be", async () => {
        const suffixed = (suffix: string) => new FileMover({ sourceDir: folders.source, destinationDir: folders.destination, processedSuffix: suffix });
        fs.writeFileSync(source(".ecs-anywhere"), "x");
        assert.equal((await suffixed("-partial").moveBatch([".ecs-anywhere"]))[0].kind, "rejected");
        assert.equal((await suffixed("-moved").moveBatch([".ecs-anywhere"]))[0].kind, "rejected");
        assert.equal((await mover().moveBatch([STAGING_FOLDER]))[0].kind, "rejected");
        assert.equal(fs.existsSync(path.join(folders.destination, PARTIAL_FOLDER)), false);
        fs.writeFileSync(path.join(folders.destination, PARTIAL_FOLDER), "not a folder");
        assert.equal((await suffixed("-partial").sweep()).partialCopiesRemoved, 0, "a start-up sweep does not crash the worker");
    });

    it("never makes a data folder that is gone (a lost mount stays a fault), even for its own folders in it", async () => {
        fs.writeFileSync(source("lost"), "x");
        fs.rmdirSync(folders.destination);
        for (const fileSystem of [fsp, crossDevice(folders)]) {
            const [outcome] = await mover(fileSystem).moveBatch(["lost"], ["m-1"]);
            assert.equal(outcome.kind, "failed");
            assert.equal(fs.existsSync(folders.destination), false, "the destination folder is not made again");
        }
        assert.equal(fs.readFileSync(source("lost"), "utf8"), "x");
    });

    it("syncs both folders before an already-done message may be deleted, and keeps it if a sync fails", async () => {
        fs.writeFileSync(source("done"), "moved earlier\n");
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
        const [failed] = await mover(watching).moveBatch(["done"], ["m-1"]);
        assert.equal(failed.kind, "failed", "no delete without the source folder on disk");
        assert.deepEqual(synced, ["destinationfolder", "sourcefolder"]);

        failSourceSync = false;
        synced.length = 0;
        const [done] = await mover(watching).moveBatch(["done"], ["m-1"]);
        assert.deepEqual(shape(done), { kind: "already-done", receipts: 1 });
        assert.deepEqual(synced, ["destinationfolder", "sourcefolder"]);
    });

    it("finishes an interrupted copy (same content and time, other file), syncing the copy first", async () => {
        fs.writeFileSync(source("far"), "same bytes\n");
        fs.writeFileSync(destination("far"), "same bytes\n");
        const { atime, mtime } = fs.statSync(source("far"));
        fs.utimesSync(destination("far"), atime, mtime);
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
        const [outcome] = await mover(watching).moveBatch(["far"], ["m-1"]);
        assert.deepEqual(shape(outcome), { kind: "moved", via: "copy", receipts: 1 });
        assert.ok(syncedFiles.includes(destination("far")), `the destination copy was synced (${syncedFiles.join(", ")})`);
        assert.equal(fs.existsSync(source("far")), false);
    });

    it("leaves a newer file of the same content but another time: not the one copied", async () => {
        fs.writeFileSync(source("twin"), "same bytes\n");
        fs.writeFileSync(destination("twin"), "same bytes\n");
        const later = new Date(fs.statSync(source("twin")).mtimeMs + 5_000);
        fs.utimesSync(source("twin"), later, later);
        assert.equal((await mover().moveBatch(["twin"], ["m-1"]))[0].kind, "conflict");
        assert.equal(fs.readFileSync(source("twin"), "utf8"), "same bytes\n");
    });

    it("a copy that lost the race to another delivery of its message is already done, not a conflict", async () => {
        fs.writeFileSync(source("twice"), "content\n");
        let raced = false;
        const racing = crossDevice(folders, {
            ...fsp,
            link: async (from, to) => {
                // The other delivery (same message id) copies and finishes first.
                if (!raced && String(from).includes(RECEIPT_FOLDER) && String(to) === destination("twice")) {
                    raced = true;
                    await mover(crossDevice(folders)).moveBatch(["twice"], ["m-1"]);
                }
                return fsp.link(from, to);
            },
        });
        const [outcome] = await mover(racing).moveBatch(["twice"], ["m-1"]);
        assert.equal(raced, true);
        assert.deepEqual(shape(outcome), { kind: "already-done", receipts: 1 });
        assert.equal(fs.readFileSync(destination("twice"), "utf8"), "content\n");
        assert.equal(fs.existsSync(source("twice")), false);
        assert.deepEqual(fs.readdirSync(path.join(folders.destination, PARTIAL_FOLDER)), [], "no partial copy left behind");
        assert.equal(receipts().length, 1, "only the other delivery's receipt: this copy's was dropped");
    });

    it("still calls a copy that lost the race to other content a conflict, overwriting nothing", async () => {
        fs.writeFileSync(source("clash"), "mine\n");
        const racing = crossDevice(folders, {
            ...fsp,
            link: async (from, to) => {
                if (String(from).includes(RECEIPT_FOLDER) && !fs.existsSync(destination("clash"))) fs.writeFileSync(destination("clash"), "theirs\n");
                return fsp.link(from, to);
            },
        });
        const [outcome] = await mover(racing).moveBatch(["clash"], ["m-1"]);
        assert.equal(outcome.kind, "conflict");
        assert.equal(fs.readFileSync(destination("clash"), "utf8"), "theirs\n");
        assert.equal(fs.readFileSync(source("clash"), "utf8"), "mine\n");
        assert.deepEqual(receipts(), [], "the copy made for the move is gone");
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
        assert.equal((await mover(watching).sweep()).partialCopiesRemoved, 1);
        assert.ok(listed.includes(partials));
        assert.ok(!listed.includes(folders.destination) && !listed.includes(folders.source), `neither data folder listed: ${listed.join(", ")}`);
        assert.deepEqual(fs.readdirSync(partials), [path.basename(fresh)]);
        assert.equal(fs.existsSync(destination("kept")), true);
        // No partial folder yet (no copy ever made): nothing to sweep, no error.
        fs.rmSync(partials, { recursive: true });
        assert.equal((await mover().sweep()).partialCopiesRemoved, 0);
    });

    it("sweeps receipts after a day and second names of moved files left in staging; keeps any file with no other name", async () => {
        fs.writeFileSync(source("r"), "r\n");
        const [moved] = await mover().moveBatch(["r"], ["m-1"]);
        assert.equal(moved.kind, "moved");
        // A removal cut short by a crash: a second name of the moved file left in staging, and a file with no other name.
        const stagingFolder = path.join(folders.source, STAGING_FOLDER);
        fs.mkdirSync(stagingFolder, { recursive: true });
        fs.linkSync(destination("r"), path.join(stagingFolder, "0123456789ab-1"));
        fs.writeFileSync(path.join(stagingFolder, "0123456789ab-2"), "only copy\n");

        // A taken file never linked (its message lost): its receipt is its only name.
        fs.writeFileSync(path.join(folders.destination, RECEIPT_FOLDER, "m-9.0123456789ab-9"), "only name\n");

        assert.deepEqual(await mover().sweep(), { partialCopiesRemoved: 0, receiptsRemoved: 0, stagedRemoved: 0, restored: 0, setAside: 0 }, "all too young");
        assert.deepEqual(await mover().sweep(Date.now() + DAY_MS + 60_000), { partialCopiesRemoved: 0, receiptsRemoved: 1, stagedRemoved: 1, restored: 0, setAside: 2 });
        assert.deepEqual(receipts(), ["m-9.0123456789ab-9"]);
        assert.deepEqual(staging(), ["0123456789ab-2"]);
        assert.equal(fs.readFileSync(destination("r"), "utf8"), "r\n", "the moved file stays");
    });
});
