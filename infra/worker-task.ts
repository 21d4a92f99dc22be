/**
 * The ONE place the worker's container definition is built. The region stack (Fargate, EFS at
 * /data) and every anywhere stack (EXTERNAL, the host's /data) call it, so the two tasks can only
 * differ where a caller says so: the log prefix, the file-name log mode, sizing and whether the
 * worker may create its folders.
 */
import { DEFAULTS, type LogFileNames } from "../worker/src/options";

/** The uid:gid the worker image runs as (see worker/Dockerfile); hosts and EFS prepare /data for it. */
export const WORKER_UID = 10001;
/** Where the data volume is mounted in the container. */
export const DATA_MOUNT_PATH = "/data";
export const WORKER_CONTAINER_NAME = "worker";
/** The worker's health check script in the image (worker/Dockerfile: WORKDIR /app, worker/dist copied to /app/dist). */
export const WORKER_HEALTH_SCRIPT = "/app/dist/health.js";

/**
 * The container health check: the worker's own folder checks in a separate `node` (the image has
 * no curl), failing while a folder is missing, unwritable, read-only or full, or while the mount
 * hangs (the timeout). Three misses 30 s apart mark the task unhealthy: ECS shows it, and the
 * service replaces a task whose mount stays lost. A shorter loss the worker rides out by itself.
 */
export const WORKER_HEALTH_CHECK = {
    command: ["CMD", "node", WORKER_HEALTH_SCRIPT],
    interval: 30,
    timeout: 10,
    retries: 3,
    startPeriod: 15,
} as const;

export interface WorkerContainerSettings {
    /** Image reference, ideally pinned by digest (`repo:tag@sha256:...`). */
    readonly image: string;
    readonly queueUrl: string;
    readonly region: string;
    readonly logGroupName: string;
    /** `region` for the Fargate task, `external` for tasks on hosts. */
    readonly logStreamPrefix: "region" | "external";
    /** How file names appear in logs (`hash` on hosts: logs leave the site). */
    readonly logFileNames: LogFileNames;
    /** Name of the task's data volume. Default `data`. */
    readonly dataVolumeName?: string;
    /** CPU units reserved for the container (EXTERNAL tasks size per container). */
    readonly cpu?: number;
    /** Soft memory limit in MiB. */
    readonly memoryReservation?: number;
    /** Hard memory limit in MiB. */
    readonly memory?: number;
    /** Root file system read-only. Default true; ECS Exec needs it writable (aws/containers-roadmap#1359). */
    readonly readonlyRootFilesystem?: boolean;
    /**
     * Let the worker create a missing source or destination folder at start (`CREATE_FOLDERS`),
     * inside a /data that exists. Default false: on hosts `prepare-data.sh` makes them, and a
     * missing one means the data disk is not mounted. The region task turns it on (fresh EFS).
     */
    readonly createFolders?: boolean;
}

export interface KeyValuePair {
    readonly name: string;
    readonly value: string;
}

/** The container definition ECS expects (the subset the worker uses), as a plain object. */
export interface WorkerContainerDefinition {
    readonly name: string;
    readonly image: string;
    readonly essential: true;
    readonly user: string;
    readonly readonlyRootFilesystem: boolean;
    readonly privileged: false;
    readonly stopTimeout: number;
    readonly environment: KeyValuePair[];
    readonly mountPoints: Array<{ sourceVolume: string; containerPath: string; readOnly: false }>;
    readonly healthCheck: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
    readonly logConfiguration: { logDriver: "awslogs"; options: Record<string, string> };
    readonly cpu?: number;
    readonly memory?: number;
    readonly memoryReservation?: number;
}

/** The worker's environment: exactly the variables `parseWorkerEnvironment` reads. */
export function workerEnvironment(settings: WorkerContainerSettings): Record<string, string> {
    return {
        SQS_QUEUE_URL: settings.queueUrl,
        AWS_REGION: settings.region,
        SOURCE_DIR: `${DATA_MOUNT_PATH}/sourcefolder`,
        DESTINATION_DIR: `${DATA_MOUNT_PATH}/destinationfolder`,
        PROCESSED_SUFFIX: DEFAULTS.processedSuffix,
        LOG_FILE_NAMES: settings.logFileNames,
        VISIBILITY_TIMEOUT_SECONDS: String(DEFAULTS.visibilityTimeoutSeconds),
        CREATE_FOLDERS: String(settings.createFolders ?? DEFAULTS.createFolders),
    };
}

export function workerContainerDefinition(settings: WorkerContainerSettings): WorkerContainerDefinition {
    const environment = Object.entries(workerEnvironment(settings))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value }));
    return {
        name: WORKER_CONTAINER_NAME,
        image: settings.image,
        essential: true,
        user: `${WORKER_UID}:${WORKER_UID}`,
        // The worker writes only to /data; a read-only root keeps a compromised process from persisting.
        readonlyRootFilesystem: settings.readonlyRootFilesystem ?? true,
        privileged: false,
        // SIGTERM, then this long to finish in-flight moves (the worker needs far less).
        stopTimeout: 30,
        environment,
        mountPoints: [{ sourceVolume: settings.dataVolumeName ?? "data", containerPath: DATA_MOUNT_PATH, readOnly: false }],
        healthCheck: { ...WORKER_HEALTH_CHECK, command: [...WORKER_HEALTH_CHECK.command] },
        logConfiguration: {
            logDriver: "awslogs",
            options: {
                "awslogs-group": settings.logGroupName,
                "awslogs-region": settings.region,
                "awslogs-stream-prefix": settings.logStreamPrefix,
            },
        },
        ...(settings.cpu === undefined ? {} : { cpu: settings.cpu }),
        ...(settings.memory === undefined ? {} : { memory: settings.memory }),
        ...(settings.memoryReservation === undefined ? {} : { memoryReservation: settings.memoryReservation }),
    };
}
