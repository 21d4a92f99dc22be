/**
 * The region stack's settings (namespace `ecs-anywhere`, plus `aws:region`), typed, defaulted in
 * one place and validated before any resource is created.
 */
import type { LogFileNames } from "../../worker/src/options";
import { ConfigError, configKey as key, flag, matching, oneOf, parseValue, pulumiConfigReader, REGION_PATTERN, wholeNumber, type ConfigReader } from "../config";

export interface RegionConfig {
    /** `aws:region`. */
    readonly region: string;
    /** Receives before a message goes to the dead-letter queue. Default 5. */
    readonly maxReceiveCount: number;
    /** CloudWatch retention of the worker's logs, in days. Default 30. */
    readonly logRetentionDays: number;
    /** Run tasks in private subnets behind one NAT gateway (about $33/month more). Default false. */
    readonly privateSubnets: boolean;
    /** VPC address range. Default 10.42.0.0/16. */
    readonly vpcCidr: string;
    /** Fargate tasks to start with. Default minWorkers (1). */
    readonly desiredCount: number;
    /** Fargate task CPU units and memory (MiB). Default 256 / 512, the smallest size. */
    readonly cpu: number;
    readonly memory: number;
    /** CPU architecture of the Fargate task: ARM64 (Graviton, about 20% cheaper) or X86_64. Default ARM64. */
    readonly cpuArchitecture: "ARM64" | "X86_64";
    /** How file names appear in the region task's logs. Default plain. */
    readonly logFileNames: LogFileNames;
    /** Allow ECS Exec into the task (adds the four ssmmessages actions to the task role). Default false. */
    readonly enableExecuteCommand: boolean;
    /** Where the alarms send mail (through an encrypted SNS topic). Default: no topic, alarms without action. */
    readonly alarmEmail?: string;
    /** Alarm when the main queue's oldest message is older than this. Default 30. */
    readonly maxMessageAgeMinutes: number;
    /** Fewest and most Fargate tasks; scaling on the backlog only when `maxWorkers > minWorkers`. Default 1 / 1. */
    readonly minWorkers: number;
    readonly maxWorkers: number;
    /** Visible messages one worker is meant to have waiting for it when scaling. Default 1000. */
    readonly messagesPerWorker: number;
}

/** Most Fargate tasks the service may scale to. */
export const MAX_WORKERS = 100;

/** Whether the service follows the backlog (Application Auto Scaling owns its desired count). */
export function scalesWithBacklog(config: Pick<RegionConfig, "minWorkers" | "maxWorkers">): boolean {
    return config.maxWorkers > config.minWorkers;
}

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Fargate's valid memory sizes (MiB) for each CPU size. */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
    4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};


export function loadRegionConfig(read: ConfigReader = pulumiConfigReader): RegionConfig {
    const get = (name: string) => parseValue(read(key(name)));

    const region = read("aws:region");
    if (region === undefined || !REGION_PATTERN.test(region)) {
        throw new ConfigError("aws:region", region, "set the AWS region to deploy to, e.g. `pulumi config set aws:region eu-west-1`");
    }

    const maxReceiveCount = wholeNumber(key("maxReceiveCount"), get("maxReceiveCount") ?? 5, 1, 1000);
    const retention = get("logRetentionDays") ?? 30;
    if (!(LOG_RETENTION_DAYS as readonly unknown[]).includes(retention)) {
        throw new ConfigError(key("logRetentionDays"), retention, `CloudWatch accepts only ${LOG_RETENTION_DAYS.join(", ")} days`);
    }

    const vpcCidr = String(get("vpcCidr") ?? "10.42.0.0/16");
    const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(vpcCidr);
    if (cidr === null || cidr.slice(1, 5).some((octet) => Number(octet) > 255) || Number(cidr[5]) < 16 || Number(cidr[5]) > 24) {
        throw new ConfigError(key("vpcCidr"), vpcCidr, "expected an IPv4 range from /16 to /24, e.g. 10.42.0.0/16");
    }

    const cpu = wholeNumber(key("cpu"), get("cpu") ?? 256, 256, 4096);
    if (FARGATE_SIZES[cpu] === undefined) throw new ConfigError(key("cpu"), cpu, `Fargate CPU sizes are ${Object.keys(FARGATE_SIZES).join(", ")}`);
    const memory = wholeNumber(key("memory"), get("memory") ?? FARGATE_SIZES[cpu][0], 512, 30720);
    if (!FARGATE_SIZES[cpu].includes(memory)) {
        throw new ConfigError(key("memory"), memory, `with cpu ${cpu} Fargate accepts memory ${FARGATE_SIZES[cpu].join(", ")}`);
    }

    const minWorkers = wholeNumber(key("minWorkers"), get("minWorkers") ?? 1, 0, MAX_WORKERS);
    const maxWorkers = wholeNumber(key("maxWorkers"), get("maxWorkers") ?? Math.max(1, minWorkers), 0, MAX_WORKERS);
    if (maxWorkers < minWorkers) throw new ConfigError(key("maxWorkers"), maxWorkers, `set it to at least minWorkers (${minWorkers}), or lower \`${key("minWorkers")}\``);
    const scaling = scalesWithBacklog({ minWorkers, maxWorkers });
    // Unset, the service starts with minWorkers tasks (today's 1 by default); scaling then owns the count.
    const desiredCount = wholeNumber(key("desiredCount"), get("desiredCount") ?? minWorkers, 0, MAX_WORKERS);
    if (scaling && (desiredCount < minWorkers || desiredCount > maxWorkers)) {
        throw new ConfigError(key("desiredCount"), desiredCount, `with scaling on it must lie from minWorkers to maxWorkers (${minWorkers} to ${maxWorkers}); unset it to start with minWorkers`);
    }

    const alarmEmail = get("alarmEmail");
    if (alarmEmail !== undefined && alarmEmail !== "") matching(key("alarmEmail"), alarmEmail, /^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an email address, e.g. ops@example.com");

    return {
        region,
        maxReceiveCount,
        logRetentionDays: retention as number,
        privateSubnets: flag(key("privateSubnets"), get("privateSubnets"), false),
        vpcCidr,
        desiredCount,
        cpu,
        memory,
        cpuArchitecture: oneOf(key("cpuArchitecture"), get("cpuArchitecture") ?? "ARM64", ["ARM64", "X86_64"] as const),
        logFileNames: oneOf(key("logFileNames"), get("logFileNames") ?? "plain", ["plain", "hash", "off"] as const),
        enableExecuteCommand: flag(key("enableExecuteCommand"), get("enableExecuteCommand"), false),
        ...(typeof alarmEmail === "string" && alarmEmail !== "" ? { alarmEmail } : {}),
        // Up to 14 days: the longest a message can stay in an SQS queue.
        maxMessageAgeMinutes: wholeNumber(key("maxMessageAgeMinutes"), get("maxMessageAgeMinutes") ?? 30, 1, 14 * 24 * 60),
        minWorkers,
        maxWorkers,
        messagesPerWorker: wholeNumber(key("messagesPerWorker"), get("messagesPerWorker") ?? 1000, 1, 1_000_000),
    };
}
