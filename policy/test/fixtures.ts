/** Resources as the engine shows them to the pack: the program's own task definitions and roles, and variations. */
import { workerContainerDefinition, type WorkerContainerSettings } from "../../infra/worker-task";
import type { TestResource } from "./run";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

export const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";

const workerSettings: WorkerContainerSettings = {
    image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/ecs-anywhere-region-repository:latest@sha256:${"ab".repeat(32)}`,
    queueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/ecs-anywhere-region-queue-1a2b3c`,
    region: REGION,
    logGroupName: "/ecs/ecs-anywhere-region",
    logStreamPrefix: "external",
    logFileNames: "hash",
};

/** The worker's container as infra/worker-task.ts builds it for the hosts, changed by `change`. */
export function hostContainer(change: (container: Record<string, unknown>) => void = () => undefined, settings: Partial<WorkerContainerSettings> = {}): Record<string, unknown> {
    const container = JSON.parse(JSON.stringify(workerContainerDefinition({ ...workerSettings, ...settings }))) as Record<string, unknown>;
    change(container);
    return container;
}

/** The anywhere stack's EXTERNAL task definition (infra/anywhere/index.ts), with `props` merged over it. */
export function externalTask(props: Record<string, unknown> = {}, containers: unknown[] = [hostContainer()]): TestResource {
    return {
        type: TASK_DEFINITION,
        name: "ecs-anywhere-anywhere-task",
        props: {
            family: "ecs-anywhere-anywhere-worker",
            requiresCompatibilities: ["EXTERNAL"],
            networkMode: "bridge",
            executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-anywhere-region-execution-0d1e2f`,
            taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-anywhere-region-task-7a8b9c`,
            volumes: [{ name: "data", hostPath: "/data" }],
            containerDefinitions: JSON.stringify(containers),
            ...props,
        },
    };
}

/** The region stack's Fargate task definition (infra/region/service.ts), with `props` merged over it. */
export function fargateTask(props: Record<string, unknown> = {}): TestResource {
    return {
        type: TASK_DEFINITION,
        name: "ecs-anywhere-region-task",
        props: {
            family: "ecs-anywhere-region-worker",
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            volumes: [
                {
                    name: "data",
                    efsVolumeConfiguration: {
                        fileSystemId: "fs-0123456789abcdef0",
                        transitEncryption: "ENABLED",
                        authorizationConfig: { accessPointId: "fsap-0123456789abcdef0", iam: "DISABLED" },
                    },
                },
            ],
            containerDefinitions: JSON.stringify([hostContainer(() => undefined, { logStreamPrefix: "region", logFileNames: "plain" })]),
            ...props,
        },
    };
}

/** An IAM policy document with one Allow statement. */
export function allow(actions: string | string[], resource: string | string[] = "*"): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: resource }] });
}

/** A trust policy for `service`. */
export function trust(service: string): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });
}

export const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:ecs-anywhere-region-queue-1a2b3c`;
export const WORKER_QUEUE_POLICY = allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], QUEUE_ARN);
