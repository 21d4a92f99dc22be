/** The ECS cluster, the Fargate task definition (EFS at /data) and the service. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { LogFileNames } from "../../worker/src/options";
import { workerContainerDefinition } from "../worker-task";

export interface FargateWorkerArgs {
    readonly region: string;
    readonly imageUri: pulumi.Input<string>;
    readonly queueUrl: pulumi.Input<string>;
    readonly logGroupName: pulumi.Input<string>;
    readonly logFileNames: LogFileNames;
    readonly executionRoleArn: pulumi.Input<string>;
    readonly taskRoleArn: pulumi.Input<string>;
    readonly fileSystemId: pulumi.Input<string>;
    readonly accessPointId: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<string>[];
    readonly securityGroupId: pulumi.Input<string>;
    readonly assignPublicIp: boolean;
    readonly desiredCount: number;
    readonly cpu: number;
    readonly memory: number;
    readonly cpuArchitecture: "ARM64" | "X86_64";
    readonly enableExecuteCommand: boolean;
    /** The service starts only once these exist (the EFS mount targets). */
    readonly dependsOn: pulumi.Resource[];
    /** Application Auto Scaling owns the task count: `desiredCount` is only the first one, never diffed. */
    readonly scaledByBacklog?: boolean;
}

export class FargateWorker extends pulumi.ComponentResource {
    readonly cluster: aws.ecs.Cluster;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly service: aws.ecs.Service;

    constructor(name: string, args: FargateWorkerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:FargateWorker", name, {}, opts);
        const parent = { parent: this };
        // Container Insights costs per metric; off by default, on with `aws ecs update-cluster-settings`.
        this.cluster = new aws.ecs.Cluster(`${name}-cluster`, { settings: [{ name: "containerInsights", value: "disabled" }] }, parent);
        this.taskDefinition = new aws.ecs.TaskDefinition(
            `${name}-task`,
            {
                family: `${name}-worker`,
                requiresCompatibilities: ["FARGATE"],
                networkMode: "awsvpc",
                cpu: String(args.cpu),
                memory: String(args.memory),
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture },
                executionRoleArn: args.executionRoleArn,
                taskRoleArn: args.taskRoleArn,
                volumes: [
                    {
                        name: "data",
                        efsVolumeConfiguration: {
                            fileSystemId: args.fileSystemId,
                            transitEncryption: "ENABLED",
                            // The access point sets the uid and the /data root; no IAM authorization needed on top.
                            authorizationConfig: { accessPointId: args.accessPointId, iam: "DISABLED" },
                        },
                    },
                ],
                containerDefinitions: pulumi
                    .all([args.imageUri, args.queueUrl, args.logGroupName])
                    .apply(([image, queueUrl, logGroupName]) =>
                        JSON.stringify([
                            workerContainerDefinition({
                                image,
                                queueUrl,
                                region: args.region,
                                logGroupName,
                                logStreamPrefix: "region",
                                logFileNames: args.logFileNames,
                                // ECS Exec's agent writes inside the container; read-only otherwise.
                                readonlyRootFilesystem: !args.enableExecuteCommand,
                                // A fresh EFS access point holds an empty /data: the worker makes its two folders there.
                                createFolders: true,
                            }),
                        ]),
                    ),
            },
            parent,
        );
        this.service = new aws.ecs.Service(
            `${name}-service`,
            {
                cluster: this.cluster.arn,
                taskDefinition: this.taskDefinition.arn,
                desiredCount: args.desiredCount,
                launchType: "FARGATE",
                // EFS volumes need platform 1.4.0 or later.
                platformVersion: "LATEST",
                networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: args.assignPublicIp },
                deploymentCircuitBreaker: { enable: true, rollback: true },
                enableExecuteCommand: args.enableExecuteCommand,
                propagateTags: "SERVICE",
                waitForSteadyState: false,
            },
            { parent: this, dependsOn: args.dependsOn, ...(args.scaledByBacklog ? { ignoreChanges: ["desiredCount"] } : {}) },
        );
        this.registerOutputs({ clusterName: this.cluster.name, serviceName: this.service.name });
    }
}
