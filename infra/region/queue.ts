/** The work queue and its dead-letter queue, both encrypted at rest. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS } from "../../worker/src/options";

export interface WorkQueueArgs {
    /** Receives before a message is moved to the dead-letter queue. */
    readonly maxReceiveCount: number;
}

export class WorkQueue extends pulumi.ComponentResource {
    /** The queue the worker reads file names from. */
    readonly queue: aws.sqs.Queue;
    /** Where messages the worker could not handle end up (kept 14 days). */
    readonly deadLetterQueue: aws.sqs.Queue;

    constructor(name: string, args: WorkQueueArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:WorkQueue", name, {}, opts);
        this.deadLetterQueue = new aws.sqs.Queue(
            `${name}-dlq`,
            { sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 3600 },
            { parent: this },
        );
        this.queue = new aws.sqs.Queue(
            `${name}-queue`,
            {
                sqsManagedSseEnabled: true,
                // The worker asks for the same timeout per receive and extends it while a move runs.
                visibilityTimeoutSeconds: DEFAULTS.visibilityTimeoutSeconds,
                receiveWaitTimeSeconds: DEFAULTS.waitTimeSeconds,
                messageRetentionSeconds: 4 * 24 * 3600,
                redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: this.deadLetterQueue.arn, maxReceiveCount: args.maxReceiveCount }),
            },
            { parent: this },
        );
        this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
    }
}
