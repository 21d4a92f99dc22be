/**
 * Finds a Node.js older than the project accepts (the system's Node 20 here), so tests can start
 * the worker and the Pulumi program under it for real and see them refuse it. Tests that need one
 * skip, saying so, where none is installed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { nodeVersionProblem } from "../worker/src/node-version";

export interface OlderNode {
    /** Path of its `node`. */
    readonly path: string;
    /** As it reports it, e.g. `v20.20.2`. */
    readonly version: string;
}

/** The first `node` on PATH (or in /usr/bin, /usr/local/bin) that the version check refuses. */
export function findOlderNode(): OlderNode | undefined {
    const folders = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/bin", "/usr/local/bin"].filter(Boolean);
    const seen = new Set<string>();
    for (const folder of folders) {
        const candidate = path.join(folder, "node");
        let real: string;
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            real = fs.realpathSync(candidate);
        } catch {
            continue;
        }
        if (seen.has(real)) continue;
        seen.add(real);
        let version: string;
        try {
            version = execFileSync(real, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
        } catch {
            continue;
        }
        if (nodeVersionProblem(version, "test") !== undefined) return { path: real, version };
    }
    return undefined;
}

export interface OldNodeRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Every file node loaded, in order, from its NODE_DEBUG=module trace. */
    readonly loaded: string[];
}

/** Runs `args` under `node` with the module loader traced, so a test sees what loaded before the refusal. */
export function runTraced(node: OlderNode, args: string[], cwd: string): OldNodeRun {
    const result = spawnSync(node.path, args, { cwd, encoding: "utf8", timeout: 60_000, env: { PATH: process.env.PATH ?? "", NODE_DEBUG: "module" } });
    const loaded = [...result.stderr.matchAll(/^MODULE \d+: load "([^"]+)" for module/gm)].map((match) => match[1]);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, loaded };
}
