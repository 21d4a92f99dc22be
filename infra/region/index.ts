/**
 * The region program: queue (+DLQ), registry and worker image, log group, network, EFS at
 * /data, IAM roles, the worker on Fargate, its alarms and, optionally, its backlog scaling. Its
 * outputs are the contract every anywhere stack reads through a StackReference.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { WorkAlarms } from "./alarms";
import { pulumiConfigReader, type ConfigReader } from "../config";
import { loadRegionConfig, scalesWithBacklog } from "./config";
import { Network } from "./network";
import { WorkQueue } from "./queue";
import { WorkerImage } from "./registry";
import { WorkerRoles } from "./roles";
import { BacklogScaling } from "./scaling";
import { FargateWorker } from "./service";
import { DataStorage } from "./storage";

export { loadRegionConfig } from "./config";

/** The region stack's outputs: names fixed by DESIGN.md. */
export const REGION_OUTPUTS = ["region", "queueUrl", "queueArn", "deadLetterQueueUrl", "imageUri", "logGroupName", "taskRoleArn", "executionRoleArn", "clusterName"] as const;
/** The contract's outputs, and `alarmTopicArn` when `alarmEmail` is set. */
export type RegionOutputs = Record<(typeof REGION_OUTPUTS)[number], pulumi.Output<string>> & { alarmTopicArn?: pulumi.Output<string> };

export function regionProgram(read: ConfigReader = pulumiConfigReader): RegionOutputs {
    const config = loadRegionConfig(read);
    const name = `ecs-anywhere-${pulumi.getStack()}`;

    const work = new WorkQueue(name, { maxReceiveCount: config.maxReceiveCount });
    const image = new WorkerImage(name, { keepImages: 10 });
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/ecs/${name}`, retentionInDays: config.logRetentionDays });
    const network = new Network(name, { cidr: config.vpcCidr, privateSubnets: config.privateSubnets });
    const storage = new DataStorage(name, { subnetIds: network.taskSubnetIds, securityGroupId: network.efsSecurityGroup.id });
    const roles = new WorkerRoles(name, {
        queueArn: work.queue.arn,
        repositoryArn: image.repository.arn,
        logGroupArn: logGroup.arn,
        enableExecuteCommand: config.enableExecuteCommand,
    });
    const worker = new FargateWorker(name, {
        region: config.region,
        imageUri: image.imageUri,
        queueUrl: work.queue.url,
        logGroupName: logGroup.name,
        logFileNames: config.logFileNames,
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        fileSystemId: storage.fileSystem.id,
        accessPointId: storage.accessPoint.id,
        subnetIds: network.taskSubnetIds,
        securityGroupId: network.workerSecurityGroup.id,
        assignPublicIp: network.assignPublicIp,
        desiredCount: config.desiredCount,
        cpu: config.cpu,
        memory: config.memory,
        cpuArchitecture: config.cpuArchitecture,
        enableExecuteCommand: config.enableExecuteCommand,
        dependsOn: storage.mountTargets,
        scaledByBacklog: scalesWithBacklog(config),
    });
    const alarms = new WorkAlarms(name, {
        queueName: work.queue.name,
        deadLetterQueueName: work.deadLetterQueue.name,
        maxMessageAgeMinutes: config.maxMessageAgeMinutes,
        alarmEmail: config.alarmEmail,
    });
    if (scalesWithBacklog(config)) {
        new BacklogScaling(name, {
            clusterName: worker.cluster.name,
            serviceName: worker.service.name,
            queueName: work.queue.name,
            minWorkers: config.minWorkers,
            maxWorkers: config.maxWorkers,
            messagesPerWorker: config.messagesPerWorker,
        });
    }

    return {
        region: pulumi.output(config.region),
        queueUrl: work.queue.url,
        queueArn: work.queue.arn,
        deadLetterQueueUrl: work.deadLetterQueue.url,
        imageUri: image.imageUri,
        logGroupName: logGroup.name,
        taskRoleArn: roles.taskRole.arn,
        executionRoleArn: roles.executionRole.arn,
        clusterName: worker.cluster.name,
        ...(alarms.topic ? { alarmTopicArn: alarms.topic.arn } : {}),
    };
}
