/**
 * Workers that follow the backlog: Application Auto Scaling sets the service's task count to
 * the visible messages divided by `messagesPerWorker` (rounded up, within minWorkers..maxWorkers)
 * and back to minWorkers once the queue has been empty, nothing in flight, for 15 minutes.
 *
 * Why step scaling with exact capacities rather than target tracking on "messages per task":
 * ECS publishes a service's running task count only with Container Insights (billed per metric,
 * off here), and a per-task ratio has no value at zero tasks, so target tracking could never
 * start the first worker when `minWorkers` is 0. The step policy needs only the queue's metrics.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface BacklogScalingArgs {
    readonly clusterName: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    /** The main queue's name (the `QueueName` dimension of its metrics). */
    readonly queueName: pulumi.Input<string>;
    readonly minWorkers: number;
    readonly maxWorkers: number;
    readonly messagesPerWorker: number;
}

/** Application Auto Scaling's default quota of step adjustments per step scaling policy. */
export const MAX_STEPS = 20;
/** Minutes the queue must be empty, with nothing in flight, before the service shrinks to minWorkers. */
export const IDLE_MINUTES = 15;

export interface BacklogStep {
    /** Bounds on the visible messages minus the alarm's threshold (1), as the policy takes them. */
    readonly metricIntervalLowerBound: string;
    readonly metricIntervalUpperBound?: string;
    /** The task count for that many messages. */
    readonly scalingAdjustment: number;
}

/**
 * The steps from visible messages to task count: `ceil(visible / messagesPerWorker)` within
 * max(1, minWorkers)..maxWorkers. Beyond 20 counts they are spread out evenly from the lowest to
 * maxWorkers (each step rounds up: never fewer workers than the target asks); the last step is
 * open-ended.
 */
export function backlogSteps(minWorkers: number, maxWorkers: number, messagesPerWorker: number): BacklogStep[] {
    const lowest = Math.max(1, minWorkers);
    const range = maxWorkers - lowest + 1;
    const steps = Math.min(range, MAX_STEPS);
    const counts = Array.from({ length: steps }, (_, i) => (steps === 1 ? lowest : lowest + Math.ceil((i * (range - 1)) / (steps - 1))));
    // The alarm fires at 1 visible message; a bound is "visible - 1", so count c covers up to c * messagesPerWorker messages.
    return counts.map((count, i) => ({
        metricIntervalLowerBound: String(i === 0 ? 0 : counts[i - 1] * messagesPerWorker),
        ...(i === counts.length - 1 ? {} : { metricIntervalUpperBound: String(count * messagesPerWorker) }),
        scalingAdjustment: count,
    }));
}

export class BacklogScaling extends pulumi.ComponentResource {
    readonly target: aws.appautoscaling.Target;
    /** Sets the task count from the backlog while any message is visible. */
    readonly followBacklog: aws.appautoscaling.Policy;
    /** Returns to minWorkers once the queue has been idle for IDLE_MINUTES. */
    readonly scaleInWhenIdle: aws.appautoscaling.Policy;

    constructor(name: string, args: BacklogScalingArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:BacklogScaling", name, {}, opts);
        const parent = { parent: this };
        this.target = new aws.appautoscaling.Target(
            `${name}-workers`,
            {
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
                minCapacity: args.minWorkers,
                maxCapacity: args.maxWorkers,
            },
            parent,
        );
        const onTarget = { serviceNamespace: this.target.serviceNamespace, scalableDimension: this.target.scalableDimension, resourceId: this.target.resourceId };
        this.followBacklog = new aws.appautoscaling.Policy(
            `${name}-follow-backlog`,
            {
                ...onTarget,
                policyType: "StepScaling",
                stepScalingPolicyConfiguration: {
                    adjustmentType: "ExactCapacity",
                    cooldown: 60,
                    metricAggregationType: "Maximum",
                    stepAdjustments: backlogSteps(args.minWorkers, args.maxWorkers, args.messagesPerWorker),
                },
            },
            parent,
        );
        this.scaleInWhenIdle = new aws.appautoscaling.Policy(
            `${name}-idle`,
            {
                ...onTarget,
                policyType: "StepScaling",
                stepScalingPolicyConfiguration: {
                    adjustmentType: "ExactCapacity",
                    cooldown: 300,
                    metricAggregationType: "Maximum",
                    stepAdjustments: [{ metricIntervalUpperBound: "0", scalingAdjustment: args.minWorkers }],
                },
            },
            parent,
        );
        const queueMetric = (metricName: string) => ({ namespace: "AWS/SQS", metricName, dimensions: { QueueName: args.queueName }, period: 60, stat: "Maximum" });
        // An alarm's scaling action runs again every minute while the alarm stays in ALARM: the count follows the backlog.
        new aws.cloudwatch.MetricAlarm(
            `${name}-backlog`,
            {
                alarmDescription: `Messages are waiting: the worker count follows them, one per ${args.messagesPerWorker}, up to ${args.maxWorkers}.`,
                namespace: "AWS/SQS",
                metricName: "ApproximateNumberOfMessagesVisible",
                dimensions: { QueueName: args.queueName },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
                treatMissingData: "notBreaching",
                alarmActions: [this.followBacklog.arn],
            },
            parent,
        );
        new aws.cloudwatch.MetricAlarm(
            `${name}-queue-idle`,
            {
                alarmDescription: `Nothing visible or in flight for ${IDLE_MINUTES} minutes: back to ${args.minWorkers} workers.`,
                metricQueries: [
                    { id: "visible", metric: queueMetric("ApproximateNumberOfMessagesVisible"), returnData: false },
                    { id: "inflight", metric: queueMetric("ApproximateNumberOfMessagesNotVisible"), returnData: false },
                    { id: "backlog", expression: "visible + inflight", label: "Messages visible or in flight", returnData: true },
                ],
                evaluationPeriods: IDLE_MINUTES,
                comparisonOperator: "LessThanOrEqualToThreshold",
                threshold: 0,
                // An idle queue's metrics stop after six hours: still idle.
                treatMissingData: "breaching",
                alarmActions: [this.scaleInWhenIdle.arn],
            },
            parent,
        );
        this.registerOutputs({ resourceId: this.target.resourceId });
    }
}
