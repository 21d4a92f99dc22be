/**
 * Podman (Debian's 4.3) with everything private to one folder: its image store, run state,
 * configuration and events, none of the machine's. Its defaults here: rlimits lowered to
 * nofile/nproc 4096 (root on these machines lacks CAP_SYS_RESOURCE, and podman would raise the hard
 * limits, `error setting rlimit type 6: operation not permitted`), cgroupfs (no systemd), events
 * in a file, container output in podman's own log files (`podman logs`).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export class PodmanError extends Error {
    override name = "PodmanError";
}

export interface PodmanResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Why podman cannot run containers here, or undefined if it can. */
export function podmanUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return "needs root (podman's containers here run as root)";
    if (spawnSync("sh", ["-c", "command -v podman"]).status !== 0) return "needs podman (apt-get install podman)";
    return undefined;
}

export class Podman {
    private readonly env: NodeJS.ProcessEnv;
    private readonly global: string[];

    constructor(readonly home: string) {
        for (const folder of ["storage", "run", "tmp"]) fs.mkdirSync(path.join(home, folder), { recursive: true });
        const conf = path.join(home, "containers.conf");
        fs.writeFileSync(
            conf,
            [
                "[containers]",
                'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
                'log_driver = "k8s-file"',
                "[engine]",
                'cgroup_manager = "cgroupfs"',
                'events_logger = "file"',
                `events_logfile_path = "${path.join(home, "events.log")}"`,
                "",
            ].join("\n"),
        );
        // No search registries: every image is named in full.
        const registries = path.join(home, "registries.conf");
        fs.writeFileSync(registries, "unqualified-search-registries = []\n");
        this.env = { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_REGISTRIES_CONF: registries };
        this.global = ["--root", path.join(home, "storage"), "--runroot", path.join(home, "run"), "--tmpdir", path.join(home, "tmp"), "--storage-driver", "overlay"];
    }

    /**
     * `podman <args>`, in the background: never spawnSync, so that servers in this process (the
     * SQS emulator a container talks to) keep answering while podman runs.
     */
    run(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<PodmanResult> {
        return new Promise((resolve) => {
            const child = spawn("podman", [...this.global, ...args], { env: this.env, stdio: ["ignore", "pipe", "pipe"], timeout: options.timeoutMs ?? 120_000 });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.on("error", (error) => (stderr += String(error)));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    /** `podman <args>`, which must succeed; its standard output, trimmed. */
    async must(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
        const result = await this.run(args, options);
        if (result.status !== 0) throw new PodmanError(`podman ${args.join(" ")} exited ${result.status}: ${result.stderr.trim().slice(-800)}`);
        return result.stdout.trim();
    }
}
