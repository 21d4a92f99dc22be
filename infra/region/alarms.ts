/**
 * The operator's alarms: one when the dead-letter queue holds any message (files that failed),
 * one when the main queue's oldest message waits longer than `maxMessageAgeMinutes` (workers
 * stuck or too few). With `alarmEmail`, both tell an encrypted SNS topic with that address
 * subscribed, on alarm and when it clears.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface WorkAlarmsArgs {
    /** The queue's and the dead-letter queue's names (the `QueueName` dimension of their metrics). */
    readonly queueName: pulumi.Input<string>;
    readonly deadLetterQueueName: pulumi.Input<string>;
    readonly maxMessageAgeMinutes: number;
    /** Subscribed to the alarms' topic; none: the alarms have no action (seen in the console only). */
    readonly alarmEmail?: string;
}

/**
 * The key policy CloudWatch needs to publish to a topic encrypted with this key: the AWS managed
 * key `alias/aws/sns` does not let CloudWatch alarms use it, and its policy cannot be changed.
 */
export function alarmKeyPolicy(accountId: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "AccountAdministersKey", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" },
            {
                Sid: "CloudWatchAlarmsPublishToTopic",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    });
}

export class WorkAlarms extends pulumi.ComponentResource {
    /** Dead-letter queue holds at least one message. */
    readonly deadLetterAlarm: aws.cloudwatch.MetricAlarm;
    /** Main queue's oldest message is older than `maxMessageAgeMinutes`. */
    readonly messageAgeAlarm: aws.cloudwatch.MetricAlarm;
    /** The alarms' topic, when `alarmEmail` is set. */
    readonly topic?: aws.sns.Topic;

    constructor(name: string, args: WorkAlarmsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:WorkAlarms", name, {}, opts);
        const parent = { parent: this };
        if (args.alarmEmail !== undefined) {
            const account = aws.getCallerIdentityOutput({}, parent);
            const key = new aws.kms.Key(
                `${name}-alarms-key`,
                { description: `${name}: encrypts the alarms' SNS topic`, enableKeyRotation: true, deletionWindowInDays: 7, policy: account.accountId.apply(alarmKeyPolicy) },
                parent,
            );
            this.topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: key.arn }, parent);
            // Email subscriptions stay pending until the address confirms the mail AWS sends.
            new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail }, parent);
        }
        const actions = this.topic ? [this.topic.arn] : [];
        const common = { namespace: "AWS/SQS", alarmActions: actions, okActions: actions, evaluationPeriods: 1, statistic: "Maximum" };

        this.deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-dead-letters`,
            {
                ...common,
                alarmDescription: "Messages reached the dead-letter queue: files the worker could not move (bad name, missing file, conflict). Read them with `aws sqs receive-message` on deadLetterQueueUrl.",
                metricName: "ApproximateNumberOfMessagesVisible",
                dimensions: { QueueName: args.deadLetterQueueName },
                period: 300,
                comparisonOperator: "GreaterThanThreshold",
                threshold: 0,
                // SQS stops sending metrics for a queue idle for six hours: no data means no dead letters.
                treatMissingData: "notBreaching",
            },
            parent,
        );
        this.messageAgeAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-message-age`,
            {
                ...common,
                alarmDescription: `The queue's oldest message is older than ${args.maxMessageAgeMinutes} minutes: workers are stopped, failing or too few.`,
                metricName: "ApproximateAgeOfOldestMessage",
                dimensions: { QueueName: args.queueName },
                period: 300,
                comparisonOperator: "GreaterThanThreshold",
                threshold: args.maxMessageAgeMinutes * 60,
                treatMissingData: "notBreaching",
            },
            parent,
        );
        this.registerOutputs({ alarmTopicArn: this.topic?.arn });
    }
}
