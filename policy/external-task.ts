/**
 * Rules for the task that runs on the hosts (EXTERNAL): its data comes from the host's own folders,
 * its logs (which go to the region) carry no file names, and nothing in it points at an AWS data store.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ReportViolation, type ResourceValidationPolicy } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { dataStoreReference, dataStoreVariableName } from "./data-stores";
import type { StackKind } from "./stack";
import { containerLabel, parseContainerDefinitions, runsOnHosts, type ContainerDefinition } from "./task-definition";

/** Values of `LOG_FILE_NAMES` that keep file names out of the logs (worker/src/options.ts). */
export const HIDDEN_FILE_NAMES: readonly string[] = ["hash", "off"];
/** Log drivers that send logs only to CloudWatch Logs in the region (awslogs) or keep them on the host. */
export const SITE_LOG_DRIVERS: readonly string[] = ["awslogs", "json-file", "local", "journald", "none"];

type TaskDefinitionProps = Unwrap<aws.ecs.TaskDefinitionArgs>;

/** The containers of a host task, or undefined after reporting that they cannot be read. */
function containersOf(task: TaskDefinitionProps, reportViolation: ReportViolation): ContainerDefinition[] | undefined {
    const containers = parseContainerDefinitions(task.containerDefinitions);
    if (!containers) reportViolation("the container definitions are not a JSON array: what cannot be read cannot be checked");
    return containers;
}

export function externalTaskHostVolumesOnly(kind: StackKind | undefined): ResourceValidationPolicy {
    return {
        name: "external-task-host-volumes-only",
        description:
            "The task that runs on the hosts mounts only the host's own folders (a `hostPath` volume): no EFS, FSx, " +
            "EBS or Docker-driver volume, which would put the files on storage outside the site.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, args, reportViolation) => {
            if (!runsOnHosts(kind, task.requiresCompatibilities)) args.notApplicable("not a task that runs on the hosts");
            const hostVolumes = new Set<string>();
            const refused = new Set<string>();
            for (const volume of task.volumes ?? []) {
                const elsewhere = [
                    volume.efsVolumeConfiguration ? "an EFS file system" : undefined,
                    volume.fsxWindowsFileServerVolumeConfiguration ? "an FSx file system" : undefined,
                    volume.configureAtLaunch === true ? "an EBS volume attached at launch" : undefined,
                    volume.dockerVolumeConfiguration ? "a Docker volume (its driver decides where the data lives)" : undefined,
                ].filter((place): place is string => place !== undefined);
                const refusal =
                    elsewhere.length > 0
                        ? `is ${elsewhere.join(" and ")}: on the hosts the data stays in the host's own folder; use \`hostPath\``
                        : volume.hostPath?.startsWith("/")
                          ? undefined
                          : "has no absolute `hostPath`: mount the host's data folder (`ecs-anywhere:dataDir`)";
                if (refusal) reportViolation(`volume \`${volume.name}\` ${refusal}`);
                (refusal ? refused : hostVolumes).add(volume.name);
            }
            const containers = containersOf(task, reportViolation) ?? [];
            containers.forEach((container, i) => {
                for (const mount of container.mountPoints ?? []) {
                    // A mount of a volume refused above is that same violation; report only mounts of other volumes.
                    if (!hostVolumes.has(mount.sourceVolume ?? "") && !refused.has(mount.sourceVolume ?? "")) {
                        reportViolation(`${containerLabel(container, i)} mounts \`${mount.sourceVolume}\` at ${mount.containerPath}, which is not one of the host's folders`);
                    }
                }
            });
        }),
    };
}

export function externalTaskFileNamesHiddenInLogs(kind: StackKind | undefined): ResourceValidationPolicy {
    return {
        name: "external-task-file-names-hidden-in-logs",
        description:
            "Every container of the task that runs on the hosts sets `LOG_FILE_NAMES` to `hash` or `off`: its logs go to " +
            "CloudWatch in the region, and file names can be personal data. Unset, the worker logs them in plain text.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, args, reportViolation) => {
            if (!runsOnHosts(kind, task.requiresCompatibilities)) args.notApplicable("not a task that runs on the hosts");
            const containers = containersOf(task, reportViolation) ?? [];
            containers.forEach((container, i) => {
                const setting = (container.environment ?? []).find((variable) => variable.name === "LOG_FILE_NAMES");
                if (setting === undefined) {
                    reportViolation(`${containerLabel(container, i)} does not set LOG_FILE_NAMES, so the worker logs file names in plain text to the region: set it to hash or off`);
                } else if (!HIDDEN_FILE_NAMES.includes(setting.value ?? "")) {
                    reportViolation(`${containerLabel(container, i)} sets LOG_FILE_NAMES=${setting.value}: the logs leave the site, so file names must be hash or off (\`ecs-anywhere:logFileNames\`)`);
                }
            });
        }),
    };
}

export function externalTaskNoDataStoreReferences(kind: StackKind | undefined): ResourceValidationPolicy {
    return {
        name: "external-task-no-data-store-references",
        description:
            "Nothing in the task that runs on the hosts points at an AWS data store: no environment variable or secret " +
            "naming S3, EFS, DynamoDB, RDS and the like, no environment files (ECS reads them from S3), and logs only " +
            "to CloudWatch Logs or the host itself (no FireLens or other log router that could ship them anywhere).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, args, reportViolation) => {
            if (!runsOnHosts(kind, task.requiresCompatibilities)) args.notApplicable("not a task that runs on the hosts");
            const containers = containersOf(task, reportViolation) ?? [];
            containers.forEach((container, i) => {
                const label = containerLabel(container, i);
                for (const variable of container.environment ?? []) {
                    const why = dataStoreVariableName(variable.name ?? "") ?? dataStoreReference(variable.value ?? "");
                    if (why) reportViolation(`${label}: environment variable ${variable.name} points at an AWS data store (${why})`);
                }
                for (const secret of container.secrets ?? []) {
                    const why = dataStoreVariableName(secret.name ?? "") ?? dataStoreReference(secret.valueFrom ?? "");
                    if (why) reportViolation(`${label}: secret ${secret.name} points at an AWS data store (${why})`);
                }
                if ((container.environmentFiles ?? []).length > 0) reportViolation(`${label} has environment files: ECS reads them from S3`);
                const driver = container.logConfiguration?.logDriver;
                if (driver !== undefined && !SITE_LOG_DRIVERS.includes(driver)) {
                    reportViolation(`${label} logs with \`${driver}\`: logs go to CloudWatch Logs in the region (awslogs) or stay on the host (${SITE_LOG_DRIVERS.slice(1).join(", ")})`);
                }
                if (container.firelensConfiguration !== undefined) reportViolation(`${label} is a FireLens log router, which can ship logs to any store`);
            });
        }),
    };
}
