/**
 * A task's container definition turned into `podman run` arguments, the way the ECS agent turns
 * it into a Docker container (amazon-ecs-agent's `createContainer`: Config and HostConfig from the
 * definition): user, read-only root (nothing writable added, as Docker's `ReadonlyRootfs`; podman
 * would otherwise add tmpfs on /tmp, /var/tmp and /run), environment, the task's host-path volumes
 * bound at their mount points, the health check, CPU shares, hard and soft memory limits, the stop
 * timeout and the task's network mode. What a run here cannot carry over is named in `notes`, and a
 * field this translator does not know fails, naming it: a new field in the definition must be
 * looked at, not dropped.
 */

/** The container definition fields the worker's task uses (infra/worker-task.ts), as ECS reads them. */
export interface ContainerDefinition {
    readonly name: string;
    readonly image: string;
    readonly essential?: boolean;
    readonly user?: string;
    readonly readonlyRootFilesystem?: boolean;
    readonly privileged?: boolean;
    readonly stopTimeout?: number;
    readonly environment?: readonly { readonly name: string; readonly value: string }[];
    readonly mountPoints?: readonly { readonly sourceVolume: string; readonly containerPath: string; readonly readOnly?: boolean }[];
    readonly healthCheck?: { readonly command: readonly string[]; readonly interval?: number; readonly timeout?: number; readonly retries?: number; readonly startPeriod?: number };
    readonly logConfiguration?: { readonly logDriver: string; readonly options?: Readonly<Record<string, string>> };
    readonly cpu?: number;
    readonly memory?: number;
    readonly memoryReservation?: number;
}

export interface TaskSettings {
    /** The task's network mode (EXTERNAL tasks: bridge, host or none). */
    readonly networkMode: "bridge" | "host" | "none";
    /** The task's volumes: name and the host folder (`hostPath`). */
    readonly volumes: readonly { readonly name: string; readonly hostPath: string }[];
    /** The container's name (the agent's own is `ecs-<family>-<revision>-<container>-<random>`). */
    readonly containerName: string;
    /** Variables the agent adds beside the definition's (it adds the task role's credentials endpoint). */
    readonly agentEnvironment?: Readonly<Record<string, string>>;
}

export interface ContainerRun {
    /** Arguments after `podman run`, the image last. */
    readonly args: string[];
    /** What the definition asks for that this run does not do, and why. */
    readonly notes: string[];
}

export class TranslationError extends Error {
    override name = "TranslationError";
}

const KNOWN = new Set(["name", "image", "essential", "user", "readonlyRootFilesystem", "privileged", "stopTimeout", "environment", "mountPoints", "healthCheck", "logConfiguration", "cpu", "memory", "memoryReservation"]);
/** ECS's health check defaults (seconds, tries), used where the definition gives none. */
const HEALTH_DEFAULTS = { interval: 30, timeout: 5, retries: 3, startPeriod: 0 };

/** The health check's test as podman takes it: `CMD` as a JSON exec array, `CMD-SHELL` as a shell line. */
function healthCommand(command: readonly string[]): string {
    const [kind, ...rest] = command;
    if (kind === "CMD") return JSON.stringify(rest);
    if (kind === "CMD-SHELL" && rest.length === 1) return rest[0];
    throw new TranslationError(`healthCheck.command ${JSON.stringify(command)}: expected ["CMD", ...] or ["CMD-SHELL", "<line>"]`);
}

export function podmanRunArgs(definition: ContainerDefinition, task: TaskSettings): ContainerRun {
    const unknown = Object.keys(definition).filter((key) => !KNOWN.has(key));
    if (unknown.length > 0) throw new TranslationError(`container definition fields this translator does not know: ${unknown.join(", ")}: add them to e2e/lib/ecs-run.ts`);
    const args = ["--name", task.containerName, "--network", task.networkMode];
    const notes: string[] = [];
    if (definition.user !== undefined) args.push("--user", definition.user);
    if (definition.readonlyRootFilesystem === true) args.push("--read-only", "--read-only-tmpfs=false");
    if (definition.privileged === true) args.push("--privileged");
    if (definition.stopTimeout !== undefined) args.push("--stop-timeout", String(definition.stopTimeout));
    for (const { name, value } of definition.environment ?? []) args.push("--env", `${name}=${value}`);
    for (const [name, value] of Object.entries(task.agentEnvironment ?? {})) args.push("--env", `${name}=${value}`);
    for (const mount of definition.mountPoints ?? []) {
        const volume = task.volumes.find((v) => v.name === mount.sourceVolume);
        if (!volume) throw new TranslationError(`mountPoints: volume ${JSON.stringify(mount.sourceVolume)} is not one of the task's (${task.volumes.map((v) => v.name).join(", ") || "none"})`);
        if (!volume.hostPath.startsWith("/") || volume.hostPath.includes(":") || mount.containerPath.includes(":")) throw new TranslationError(`volume ${volume.name}: ${volume.hostPath} -> ${mount.containerPath} cannot be given to --volume`);
        args.push("--volume", `${volume.hostPath}:${mount.containerPath}:${mount.readOnly === true ? "ro" : "rw"}`);
    }
    if (definition.healthCheck) {
        const check = { ...HEALTH_DEFAULTS, ...definition.healthCheck };
        args.push(
            "--health-cmd",
            healthCommand(check.command),
            "--health-interval",
            `${check.interval}s`,
            "--health-timeout",
            `${check.timeout}s`,
            "--health-retries",
            String(check.retries),
            "--health-start-period",
            `${check.startPeriod}s`,
        );
    }
    if (definition.cpu !== undefined) args.push("--cpu-shares", String(definition.cpu));
    if (definition.memory !== undefined) args.push("--memory", `${definition.memory}m`);
    if (definition.memoryReservation !== undefined) args.push("--memory-reservation", `${definition.memoryReservation}m`);
    if (definition.logConfiguration) notes.push(`logConfiguration ${definition.logConfiguration.logDriver}: the output stays with podman (podman logs); no CloudWatch here`);
    if (definition.essential === false) notes.push("essential false: one container, so the task is this container");
    args.push(definition.image);
    return { args, notes };
}
