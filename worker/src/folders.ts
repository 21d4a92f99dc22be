/**
 * The worker's own preconditions: both folders exist, are folders, and the worker's user can
 * create and remove entries in them. Checked at start (the worker exits before its first receive
 * if they fail), by the container health check, and at run time, where they tell a fault of the
 * worker's (a folder gone, a mount lost, a read-only or full file system) from one of the
 * message's (its file is not there yet): the first must not cost the message its receives.
 */
import { constants as fsConstants } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { errorCode } from "./errors";
import type { LogFileNames } from "./options";

/** The uid:gid the worker's image runs as; hosts (`hosts/bootstrap/prepare-data.sh`) and EFS give the folders to it. */
export const IMAGE_UID = 10001;

/**
 * An empty file the checks create, link and remove in the destination folder. One fixed name,
 * opened without O_EXCL, so that a check killed half-way leaves nothing the next one does not
 * clear, and several workers sharing the folder (EFS) can probe at once.
 */
export const PROBE_NAME = ".ecs-anywhere-probe";
/** The probe's second name: moves link files, so the destination's file system must have hard links. */
export const PROBE_LINK_NAME = `${PROBE_NAME}-link`;

/** The probe could not link: a file system without hard links (vfat, exFAT), where no move can work. */
class NoHardLinksError extends Error {
    override readonly name = "NoHardLinksError";
}

/**
 * errno codes that put the worker's side at fault whatever file they concern: the file system
 * is read-only, full, failing or out of reach, or the process is out of file handles.
 */
export const WORKER_SIDE_CODES: ReadonlySet<string> = new Set([
    "EROFS",
    "ENOSPC",
    "EDQUOT",
    "EIO",
    "EMFILE",
    "ENFILE",
    "ENOMEM",
    "ESTALE",
    "ENOTCONN",
    "ETIMEDOUT",
    "EHOSTDOWN",
    "ENODEV",
]);

/** The file-system calls the checks make; tests may wrap them to inject faults. */
export type FolderFileSystem = Pick<typeof fsp, "stat" | "access" | "mkdir" | "open" | "unlink" | "statfs" | "link">;

export interface FolderOptions {
    readonly sourceDir: string;
    readonly destinationDir: string;
    /** Create a missing folder at start, only inside a parent folder that exists. Default false. */
    readonly createFolders?: boolean;
    /**
     * How a problem's fix names its folder: by its path when `plain` (the default), else by its
     * variable (`"$SOURCE_DIR"`), as log lines that must not carry paths do.
     */
    readonly logFileNames?: LogFileNames;
}

/** One folder that is not usable: which, what is wrong, and what fixes it. */
export interface FolderProblem {
    readonly folder: string;
    /** The setting that names the folder. */
    readonly variable: "SOURCE_DIR" | "DESTINATION_DIR";
    readonly problem: string;
    /** The errno code behind it, if there is one. */
    readonly code?: string;
    readonly fix: string;
}

/** The folders are not usable; thrown by `prepare()` so that the worker exits before receiving. */
export class FolderError extends Error {
    override readonly name = "FolderError";
    constructor(readonly problems: readonly FolderProblem[]) {
        super(problems.map((p) => `${p.folder} ${p.problem}`).join("; "));
    }
}

type Role = {
    readonly folder: string;
    readonly variable: FolderProblem["variable"];
    readonly isDestination: boolean;
    /** The folder, and the folder that holds it, as a fix may name them. */
    readonly shown: { readonly folder: string; readonly parent: string };
};

export class FolderCheck {
    private readonly fs: FolderFileSystem;
    private readonly roles: readonly Role[];

    constructor(
        private readonly options: FolderOptions,
        fileSystem: FolderFileSystem = fsp,
    ) {
        this.fs = fileSystem;
        const role = (folder: string, variable: Role["variable"], isDestination: boolean): Role => ({
            folder,
            variable,
            isDestination,
            shown: (options.logFileNames ?? "plain") === "plain" ? { folder, parent: path.dirname(folder) } : { folder: `"$${variable}"`, parent: `the folder that holds $${variable}` },
        });
        this.roles = [role(options.sourceDir, "SOURCE_DIR", false), role(options.destinationDir, "DESTINATION_DIR", true)];
    }

    /**
     * At start: creates a missing folder if `createFolders` allows it and its parent exists, then
     * runs the full check. Returns the folders it created; throws `FolderError` if any is unusable.
     */
    async prepare(): Promise<string[]> {
        const created: string[] = [];
        if (this.options.createFolders) {
            for (const { folder } of this.roles) {
                if (await this.createIfMissing(folder)) created.push(folder);
            }
        }
        const problems = await this.check();
        if (problems.length > 0) throw new FolderError(problems);
        return created;
    }

    /**
     * The problems of both folders (empty when both are usable); creates nothing that stays.
     * `thorough` (the default) also creates and removes an entry in the destination and asks the
     * file systems for free space; without it only `stat` and `access` run (a first look at run
     * time, after a batch went wrong, that writes nothing).
     */
    async check(options: { thorough?: boolean } = {}): Promise<FolderProblem[]> {
        const thorough = options.thorough ?? true;
        const problems = await Promise.all(this.roles.map((role) => this.inspect(role, thorough)));
        return problems.filter((problem): problem is FolderProblem => problem !== undefined);
    }

    /**
     * A fault of the worker's side behind a failed file operation whose folders pass `check`: an
     * errno code in `WORKER_SIDE_CODES`, put on the folder the failing path is in (the target of a
     * link or rename: where it writes). Else undefined.
     */
    describeFailure(error: unknown): FolderProblem | undefined {
        const code = errorCode(error);
        if (code === undefined || !WORKER_SIDE_CODES.has(code)) return undefined;
        const { path: file, dest } = error as NodeJS.ErrnoException & { dest?: unknown };
        const failedPath = typeof dest === "string" ? dest : file;
        const role = this.roles.find((r) => failedPath !== undefined && isInside(failedPath, r.folder)) ?? this.roles[1];
        return problemFor(role, code);
    }

    private async inspect(role: Role, thorough: boolean): Promise<FolderProblem | undefined> {
        const { folder } = role;
        let uid: number;
        let mode: number;
        try {
            const stats = await this.fs.stat(folder);
            if (!stats.isDirectory()) return problemFor(role, "ENOTDIR", "is not a folder");
            [uid, mode] = [stats.uid, stats.mode];
        } catch (error) {
            return problemFor(role, errorCode(error) ?? String(error));
        }
        try {
            // Read to sync it, write and search to create (destination) and remove (source) entries.
            await this.fs.access(folder, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
        } catch (error) {
            const code = errorCode(error) ?? String(error);
            if (code === "EACCES" || code === "EPERM") {
                return problemFor(role, code, `may not be written by this worker (uid ${currentUid()}): it belongs to uid ${uid}, mode ${(mode & 0o7777).toString(8).padStart(4, "0")}`);
            }
            return problemFor(role, code);
        }
        if (!thorough) return undefined;
        try {
            if (role.isDestination) await this.probe(folder);
            const space = await this.fs.statfs(folder);
            // A file system that reports no sizes at all (some FUSE mounts) is not called full.
            if (space.blocks > 0 && space.bavail === 0) return problemFor(role, "ENOSPC");
            if (space.files > 0 && space.ffree === 0) return problemFor(role, "ENOSPC", "is on a file system with no free inodes");
        } catch (error) {
            if (error instanceof NoHardLinksError) {
                return problemFor(role, errorCode(error.cause) ?? "EPERM", "is on a file system without hard links, which the worker moves files with", "put the data folders on a file system with hard links (ext4, XFS, NFS or EFS; not vfat or exFAT)");
            }
            return problemFor(role, errorCode(error) ?? String(error));
        }
        return undefined;
    }

    /** Creates, links and removes `PROBE_NAME`: what a move does to the destination folder. */
    private async probe(folder: string): Promise<void> {
        const file = path.join(folder, PROBE_NAME);
        const second = path.join(folder, PROBE_LINK_NAME);
        const handle = await this.fs.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o600);
        await handle.close();
        try {
            await this.fs.link(file, second);
        } catch (error) {
            // Another worker's probe of the same folder linked or removed it first: links work.
            if (errorCode(error) !== "EEXIST" && errorCode(error) !== "ENOENT") throw new NoHardLinksError("no hard links", { cause: error });
        } finally {
            for (const name of [second, file]) {
                await this.fs.unlink(name).catch((error: unknown) => {
                    // Another worker's probe of the same folder removed it first.
                    if (errorCode(error) !== "ENOENT") throw error;
                });
            }
        }
    }

    /** Makes `folder` if it is missing and its parent is a folder; true if it made it. */
    private async createIfMissing(folder: string): Promise<boolean> {
        try {
            await this.fs.stat(folder);
            return false;
        } catch (error) {
            if (errorCode(error) !== "ENOENT") return false;
        }
        try {
            if (!(await this.fs.stat(path.dirname(folder))).isDirectory()) return false;
        } catch {
            // No parent: a data volume that is not mounted. The check names the folder.
            return false;
        }
        try {
            await this.fs.mkdir(folder, { mode: 0o770 });
            return true;
        } catch {
            // Another task sharing the volume made it first (EEXIST), or anything the check then reports.
            return false;
        }
    }
}

function isInside(file: string, folder: string): boolean {
    const relative = path.relative(folder, file);
    return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

function currentUid(): number | string {
    return process.getuid?.() ?? "?";
}

/** What is wrong and how to fix it, in words an operator can act on, for an errno code. */
function problemFor(role: Role, code: string, problem?: string, fix?: string): FolderProblem {
    const { folder, variable, shown } = role;
    const prepare = `hosts/bootstrap/prepare-data.sh (run by \`pulumi up -s anywhere\`) makes both folders, owned by uid ${IMAGE_UID}`;
    const owner = `give it to the image's uid: \`chown ${IMAGE_UID}:${IMAGE_UID} ${shown.folder}\`, mode 0770, as hosts/bootstrap/prepare-data.sh does`;
    const known: Record<string, [string, string]> = {
        ENOENT: [
            "does not exist",
            `mount the data volume at ${shown.parent} (on a host: the data disk at the anywhere stack's dataDir, then ${prepare}); or correct ${variable}. The worker creates folders only with CREATE_FOLDERS=true, and only inside a parent that exists`,
        ],
        ENOTDIR: ["is not a folder (it, or a folder on its path, is a file)", `replace it with a folder (${prepare}), or correct ${variable}`],
        EACCES: [`cannot be reached by this worker (uid ${currentUid()}): a folder on its path denies it`, owner],
        EPERM: [`cannot be reached by this worker (uid ${currentUid()})`, owner],
        ELOOP: ["is a loop of symbolic links", `correct ${variable}`],
        EROFS: ["is on a read-only file system", "mount it read-write (the host's mount options, the data volume's readOnly in the task definition)"],
        ENOSPC: ["is on a full file system", "free space on its file system, or grow it"],
        EDQUOT: ["is over its disk quota", "free space or raise the quota of the worker's uid"],
        EIO: ["does not answer: input/output error", "check the disk or the network mount (NFS, EFS) behind it"],
    };
    const networkMount: [string, string] = [`does not answer (${code})`, "check the mount behind it (a lost NFS or EFS connection, an unplugged disk); the worker resumes once the folder answers"];
    const handles: [string, string] = [`cannot be used: the worker is out of file handles (${code})`, "raise the task's nofile ulimit, or the host's limit"];
    const [what, knownFix] = known[code] ?? (code === "EMFILE" || code === "ENFILE" || code === "ENOMEM" ? handles : networkMount);
    return { folder, variable, problem: problem ?? what, ...(/^E[A-Z]+$/.test(code) ? { code } : {}), fix: fix ?? knownFix };
}
