/**
 * IAM: the execution role (ECS pulls the image and writes logs with it, in region and on hosts)
 * and the task role (the worker's own rights: four SQS actions on the main queue, nothing else).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The only actions the worker may take, all on the main queue. */
export const WORKER_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"] as const;
/** What ECS Exec needs in the task role (only when `enableExecuteCommand` is on). */
export const EXEC_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"] as const;

export interface WorkerRolesArgs {
    readonly queueArn: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string>;
    readonly logGroupArn: pulumi.Input<string>;
    readonly enableExecuteCommand: boolean;
}

export function ecsTasksTrustPolicy(): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
}

export class WorkerRoles extends pulumi.ComponentResource {
    /** Used by ECS (Fargate, or the agent on a host) to pull the image and ship logs. */
    readonly executionRole: aws.iam.Role;
    /** Used by the worker itself. */
    readonly taskRole: aws.iam.Role;

    constructor(name: string, args: WorkerRolesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:WorkerRoles", name, {}, opts);
        const parent = { parent: this };
        this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy: ecsTasksTrustPolicy(), description: "ecs-anywhere: pull the worker image, write its logs" }, parent);
        new aws.iam.RolePolicy(
            `${name}-execution-policy`,
            {
                role: this.executionRole.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        // GetAuthorizationToken has no resource-level permissions: "*" is the only resource it accepts.
                        { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                        { Sid: "PullWorkerImage", Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], Resource: args.repositoryArn },
                        { Sid: "WriteWorkerLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${args.logGroupArn}:*` },
                    ],
                }),
            },
            parent,
        );

        this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: ecsTasksTrustPolicy(), description: "ecs-anywhere worker: read and delete from its queue" }, parent);
        new aws.iam.RolePolicy(
            `${name}-task-queue`,
            {
                role: this.taskRole.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "ConsumeWorkQueue", Effect: "Allow", Action: [...WORKER_QUEUE_ACTIONS], Resource: args.queueArn }],
                }),
            },
            parent,
        );
        if (args.enableExecuteCommand) {
            // ssmmessages channels have no resource-level permissions either; granted only while exec is switched on.
            new aws.iam.RolePolicy(
                `${name}-task-exec`,
                {
                    role: this.taskRole.id,
                    policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "EcsExec", Effect: "Allow", Action: [...EXEC_ACTIONS], Resource: "*" }] }),
                },
                parent,
            );
        }
        this.registerOutputs({ executionRoleArn: this.executionRole.arn, taskRoleArn: this.taskRole.arn });
    }
}
