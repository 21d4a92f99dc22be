/** The region stack, read as policy. Runs the program under Pulumi mocks with the example config. */
import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { parseWorkerEnvironment } from "../../worker/src/options";
import { loadRegionConfig } from "../region/config";
import { REGION_OUTPUTS, regionProgram, type RegionOutputs } from "../region/index";
import { alarmKeyPolicy } from "../region/alarms";
import { subnetCidr } from "../region/network";
import { backlogSteps, MAX_STEPS } from "../region/scaling";
import { EXEC_ACTIONS, WORKER_QUEUE_ACTIONS } from "../region/roles";
import { ConfigError } from "../config";
import { WORKER_UID } from "../worker-task";
import { exampleConfig, readerOf } from "./support/example-config";
import { ofType, only, promiseOf, recorded, settle, setupMocks, type RecordedResource } from "./support/mocks";

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Condition?: unknown;
}

async function statementsOf(policy: RecordedResource): Promise<Statement[]> {
    const text = await promiseOf<string>(policy.inputs.policy as pulumi.Input<string>);
    return (JSON.parse(text) as { Statement: Statement[] }).Statement;
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

async function runRegion(extra: Record<string, unknown> = {}): Promise<Record<string, string>> {
    const config = { ...exampleConfig("region"), ...extra };
    await setupMocks({ stack: "region", config });
    const outputs: RegionOutputs = regionProgram();
    const values: Record<string, string> = {};
    for (const name of Object.keys(outputs) as Array<keyof RegionOutputs>) values[name] = await promiseOf(outputs[name] as pulumi.Output<string>);
    await settle();
    return values;
}

const SCALING_TYPES = ["aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"];

describe("region stack", function () {
    this.timeout(30_000);
    let outputs: Record<string, string>;

    before(async () => {
        outputs = await runRegion();
    });

    describe("outputs", () => {
        it("exports every name of the contract, each with a value", () => {
            assert.deepEqual(Object.keys(outputs).sort(), [...REGION_OUTPUTS].sort());
            for (const name of REGION_OUTPUTS) assert.ok(outputs[name], `output ${name} is empty`);
            assert.equal(outputs.region, "eu-west-1");
            assert.match(outputs.imageUri, /@sha256:[0-9a-f]{64}$/, "image pinned by digest");
        });
    });

    describe("queues", () => {
        it("encrypts the main queue and the dead-letter queue", () => {
            const queues = ofType("aws:sqs/queue:Queue");
            assert.equal(queues.length, 2);
            for (const queue of queues) assert.equal(queue.inputs.sqsManagedSseEnabled, true, `${queue.urn} is not encrypted`);
        });
        it("redrives to the dead-letter queue after maxReceiveCount receives", async () => {
            const main = only("aws:sqs/queue:Queue", /-queue$/);
            const policy = JSON.parse(main.inputs.redrivePolicy as string) as { deadLetterTargetArn: string; maxReceiveCount: number };
            assert.equal(policy.maxReceiveCount, 5);
            assert.match(policy.deadLetterTargetArn, /^arn:aws:sqs:.*-dlq/);
        });
        it("matches the visibility timeout and long poll to the worker's", () => {
            const main = only("aws:sqs/queue:Queue", /-queue$/);
            assert.equal(main.inputs.visibilityTimeoutSeconds, 60);
            assert.equal(main.inputs.receiveWaitTimeSeconds, 20);
        });
    });

    describe("registry and image", () => {
        it("scans on push and expires old images", () => {
            const repository = only("aws:ecr/repository:Repository");
            assert.equal(repository.inputs.imageScanningConfiguration?.scanOnPush, true);
            assert.equal(repository.inputs.forceDelete, true, "destroy removes images too");
            const lifecycle = JSON.parse(only("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy as string) as { rules: Array<{ action: { type: string } }> };
            assert.equal(lifecycle.rules[0].action.type, "expire");
        });
        it("builds worker/Dockerfile for linux/amd64 and linux/arm64 and pushes one tag", () => {
            const image = only("docker-build:index:Image");
            assert.deepEqual(image.inputs.platforms, ["linux/amd64", "linux/arm64"]);
            assert.equal(image.inputs.push, true);
            assert.match(image.inputs.dockerfile.location as string, /worker\/Dockerfile$/);
            assert.equal((image.inputs.tags as string[]).length, 1);
        });
    });

    describe("logs", () => {
        it("keeps the worker's logs for the configured retention", () => {
            assert.equal(only("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays, 30);
        });
    });

    describe("network", () => {
        it("has no inbound rule open to the world, and the default group has no rule at all", () => {
            for (const rule of ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
                assert.equal(rule.inputs.cidrIpv4, undefined, `${rule.urn} admits an address range`);
                assert.equal(rule.inputs.cidrIpv6, undefined, `${rule.urn} admits an address range`);
                assert.ok(rule.inputs.referencedSecurityGroupId, `${rule.urn} must name a source group`);
            }
            for (const group of ofType("aws:ec2/securityGroup:SecurityGroup")) {
                assert.equal(group.inputs.ingress, undefined, `${group.urn} has inline ingress`);
            }
            const defaultGroup = only("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
            assert.deepEqual(defaultGroup.inputs.ingress, []);
        });
        it("allows NFS to EFS only from the worker's security group", () => {
            const nfs = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            assert.equal(nfs.length, 1);
            assert.equal(nfs[0].inputs.fromPort, 2049);
            assert.equal(nfs[0].inputs.toPort, 2049);
            assert.match(nfs[0].inputs.referencedSecurityGroupId as string, /worker-sg/);
            assert.match(nfs[0].inputs.securityGroupId as string, /efs-sg/);
        });
        it("is an awsx VPC over two zones with public subnets only: no NAT gateway, a public IP per task", () => {
            const vpc = only("awsx:ec2:Vpc");
            assert.equal(vpc.inputs.cidrBlock, "10.42.0.0/16");
            assert.equal(vpc.inputs.numberOfAvailabilityZones, 2);
            assert.deepEqual(vpc.inputs.subnetSpecs, [{ type: "Public", cidrBlocks: ["10.42.0.0/20", "10.42.16.0/20"] }]);
            assert.deepEqual(vpc.inputs.natGateways, { strategy: "None" });
            assert.equal(only("aws:ecs/service:Service").inputs.networkConfiguration.assignPublicIp, true);
        });
        it("puts the tasks, the mount targets and every group in the awsx VPC's subnets and VPC", () => {
            const subnets = ["subnet-0public000000000", "subnet-0public100000000"];
            assert.deepEqual(only("aws:ecs/service:Service").inputs.networkConfiguration.subnets, subnets);
            assert.deepEqual(ofType("aws:efs/mountTarget:MountTarget").map((target) => target.inputs.subnetId), subnets);
            for (const group of [...ofType("aws:ec2/securityGroup:SecurityGroup"), only("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")]) {
                assert.equal(group.inputs.vpcId, "vpc-0123456789abcdef0", `${group.urn} is not in the awsx VPC`);
            }
        });
        it("splits the VPC range into non-overlapping subnets", () => {
            assert.equal(subnetCidr("10.42.0.0/16", 0), "10.42.0.0/20");
            assert.equal(subnetCidr("10.42.0.0/16", 1), "10.42.16.0/20");
            assert.equal(subnetCidr("10.42.0.0/24", 3), "10.42.0.48/28");
        });
    });

    describe("EFS", () => {
        it("is encrypted, with a mount target in each task subnet", () => {
            assert.equal(only("aws:efs/fileSystem:FileSystem").inputs.encrypted, true);
            assert.equal(ofType("aws:efs/mountTarget:MountTarget").length, 2);
        });
        it("file system policy: mount and write only through a mount target, never without TLS, no root access", async () => {
            const policy = JSON.parse(await promiseOf(only("aws:efs/fileSystemPolicy:FileSystemPolicy").inputs.policy)) as {
                Statement: Array<{ Effect: string; Action: string | string[]; Condition: { Bool: Record<string, string> } }>;
            };
            const allow = policy.Statement.filter((s) => s.Effect === "Allow");
            assert.equal(allow.length, 1, "one Allow: without it a policy with IAM authorization off lets no client mount");
            assert.deepEqual([...allow[0].Action].sort(), ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]);
            assert.deepEqual(allow[0].Condition.Bool, { "elasticfilesystem:AccessedViaMountTarget": "true" });
            const deny = policy.Statement.filter((s) => s.Effect === "Deny");
            assert.deepEqual(deny.map((s) => s.Condition.Bool), [{ "aws:SecureTransport": "false" }]);
        });
        it("reaches /data through an access point owned by the worker's uid", () => {
            const accessPoint = only("aws:efs/accessPoint:AccessPoint");
            assert.equal(accessPoint.inputs.rootDirectory.path, "/data");
            assert.equal(accessPoint.inputs.rootDirectory.creationInfo.ownerUid, WORKER_UID);
            assert.deepEqual([accessPoint.inputs.posixUser.uid, accessPoint.inputs.posixUser.gid], [WORKER_UID, WORKER_UID]);
        });
        it("is mounted at /data with transit encryption", () => {
            const task = only("aws:ecs/taskDefinition:TaskDefinition");
            const volume = (task.inputs.volumes as Array<{ name: string; efsVolumeConfiguration: { transitEncryption: string } }>)[0];
            assert.equal(volume.efsVolumeConfiguration.transitEncryption, "ENABLED");
            const [container] = JSON.parse(task.inputs.containerDefinitions as string) as Array<{ mountPoints: Array<{ containerPath: string; sourceVolume: string }> }>;
            assert.deepEqual(container.mountPoints.map((m) => [m.sourceVolume, m.containerPath]), [[volume.name, "/data"]]);
        });
    });

    describe("ECS", () => {
        it("runs on Fargate with a deployment circuit breaker that rolls back", () => {
            const service = only("aws:ecs/service:Service");
            assert.equal(service.inputs.launchType, "FARGATE");
            assert.deepEqual(service.inputs.deploymentCircuitBreaker, { enable: true, rollback: true });
            assert.equal(service.inputs.enableExecuteCommand, false);
        });
        it("gives the worker an environment its own parser accepts", () => {
            const task = only("aws:ecs/taskDefinition:TaskDefinition");
            const [container] = JSON.parse(task.inputs.containerDefinitions as string) as Array<{ environment: Array<{ name: string; value: string }>; user: string; logConfiguration: { options: Record<string, string> } }>;
            const env = Object.fromEntries(container.environment.map(({ name, value }) => [name, value]));
            const options = parseWorkerEnvironment(env);
            assert.equal(options.queueUrl, outputs.queueUrl);
            assert.equal(options.sourceDir, "/data/sourcefolder");
            assert.equal(options.logFileNames, "plain");
            assert.equal(options.createFolders, true, "the region task lets the worker make its folders on a fresh EFS access point");
            assert.equal(container.user, `${WORKER_UID}:${WORKER_UID}`);
            assert.equal((container as { readonlyRootFilesystem?: boolean }).readonlyRootFilesystem, true, "read-only root unless ECS Exec is on");
            assert.equal(container.logConfiguration.options["awslogs-group"], outputs.logGroupName);
            assert.equal(container.logConfiguration.options["awslogs-stream-prefix"], "region");
        });
    });

    describe("alarms", () => {
        it("alarms when the dead-letter queue holds any message", () => {
            const alarm = only("aws:cloudwatch/metricAlarm:MetricAlarm", /-dead-letters$/);
            assert.equal(alarm.inputs.namespace, "AWS/SQS");
            assert.equal(alarm.inputs.metricName, "ApproximateNumberOfMessagesVisible");
            assert.match(String(alarm.inputs.dimensions.QueueName), /-dlq-/, `${alarm.urn} watches the dead-letter queue`);
            assert.equal(alarm.inputs.comparisonOperator, "GreaterThanThreshold");
            assert.equal(alarm.inputs.threshold, 0);
        });
        it("alarms when the oldest message of the main queue is older than maxMessageAgeMinutes (30)", () => {
            const alarm = only("aws:cloudwatch/metricAlarm:MetricAlarm", /-message-age$/);
            assert.equal(alarm.inputs.metricName, "ApproximateAgeOfOldestMessage");
            assert.match(String(alarm.inputs.dimensions.QueueName), /-queue-/);
            assert.equal(alarm.inputs.comparisonOperator, "GreaterThanThreshold");
            assert.equal(alarm.inputs.threshold, 30 * 60);
        });
        it("without alarmEmail: no topic, no key, alarms without action, no alarmTopicArn output", () => {
            assert.equal(ofType("aws:sns/topic:Topic").length, 0);
            assert.equal(ofType("aws:kms/key:Key").length, 0);
            for (const alarm of ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) assert.deepEqual(alarm.inputs.alarmActions, [], `${alarm.urn} has an action`);
            assert.equal(outputs.alarmTopicArn, undefined);
        });
    });

    describe("scaling", () => {
        it("minWorkers = maxWorkers = 1 by default: one task, no scaling resources, desiredCount diffed as before", () => {
            assert.equal(only("aws:ecs/service:Service").inputs.desiredCount, 1);
            for (const type of SCALING_TYPES) assert.equal(ofType(type).length, 0, `${type} created`);
            assert.equal(ofType("aws:cloudwatch/metricAlarm:MetricAlarm").length, 2, "only the two operator alarms");
        });
    });

    describe("IAM", () => {
        it("task role may only receive, delete, change visibility and read attributes on the main queue", async () => {
            const taskPolicies = ofType("aws:iam/rolePolicy:RolePolicy").filter((policy) => /-task-/.test(policy.name));
            assert.equal(taskPolicies.length, 1, `task role policies: ${taskPolicies.map((p) => p.urn).join(", ")}`);
            const statements = await statementsOf(taskPolicies[0]);
            assert.deepEqual(statements.flatMap((s) => list(s.Action)).sort(), [...WORKER_QUEUE_ACTIONS].sort());
            assert.deepEqual([...new Set(statements.flatMap((s) => list(s.Resource)))], [outputs.queueArn]);
            assert.equal(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0, "no managed policy attached");
        });
        it("no statement allows a `*` action, and `*` resource only for ecr:GetAuthorizationToken", async () => {
            for (const policy of ofType("aws:iam/rolePolicy:RolePolicy")) {
                for (const statement of await statementsOf(policy)) {
                    for (const action of list(statement.Action)) assert.ok(!action.includes("*"), `${policy.urn}: action ${action}`);
                    if (list(statement.Resource).includes("*")) assert.deepEqual(list(statement.Action), ["ecr:GetAuthorizationToken"], `${policy.urn}: * resource`);
                }
            }
        });
        it("execution role pulls from this repository and writes to this log group only", async () => {
            const statements = await statementsOf(only("aws:iam/rolePolicy:RolePolicy", /execution-policy$/));
            const pull = statements.find((s) => s.Sid === "PullWorkerImage");
            const logs = statements.find((s) => s.Sid === "WriteWorkerLogs");
            assert.match(String(pull?.Resource), /^arn:aws:ecr:.*:repository\//);
            assert.match(String(logs?.Resource), /^arn:aws:logs:.*:log-group:\/ecs\/ecs-anywhere-region:\*$/);
        });
    });
});

describe("region stack options", function () {
    this.timeout(30_000);

    it("private subnets put tasks behind one NAT gateway without public IPs", async () => {
        await runRegion({ "ecs-anywhere:privateSubnets": true });
        const vpc = only("awsx:ec2:Vpc");
        assert.deepEqual(vpc.inputs.subnetSpecs, [
            { type: "Public", cidrBlocks: ["10.42.0.0/20", "10.42.16.0/20"] },
            { type: "Private", cidrBlocks: ["10.42.32.0/20", "10.42.48.0/20"] },
        ]);
        assert.deepEqual(vpc.inputs.natGateways, { strategy: "Single" });
        const service = only("aws:ecs/service:Service");
        assert.equal(service.inputs.networkConfiguration.assignPublicIp, false);
        assert.deepEqual(service.inputs.networkConfiguration.subnets, ["subnet-0private000000000", "subnet-0private100000000"]);
        assert.deepEqual(ofType("aws:efs/mountTarget:MountTarget").map((target) => target.inputs.subnetId), service.inputs.networkConfiguration.subnets);
    });

    it("ECS Exec adds exactly the four ssmmessages actions, in a policy of their own", async () => {
        await runRegion({ "ecs-anywhere:enableExecuteCommand": true });
        const exec = only("aws:iam/rolePolicy:RolePolicy", /task-exec$/);
        const statements = await statementsOf(exec);
        assert.deepEqual(statements.flatMap((s) => list(s.Action)).sort(), [...EXEC_ACTIONS].sort());
        assert.equal(only("aws:ecs/service:Service").inputs.enableExecuteCommand, true);
        const [container] = JSON.parse(only("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions as string) as Array<{ readonlyRootFilesystem: boolean }>;
        assert.equal(container.readonlyRootFilesystem, false, "ECS Exec needs a writable root");
    });

    it("alarmEmail: an encrypted topic (customer key CloudWatch may use) with the address subscribed, as both alarms' action", async () => {
        const outputs = await runRegion({ "ecs-anywhere:alarmEmail": "ops@example.com" });
        const topic = only("aws:sns/topic:Topic");
        const key = only("aws:kms/key:Key");
        // Not the AWS managed alias/aws/sns: its policy does not let CloudWatch alarms publish.
        assert.match(topic.inputs.kmsMasterKeyId as string, new RegExp(`^arn:aws:kms:.*:key/${key.name}`));
        assert.equal(key.inputs.enableKeyRotation, true);
        const policy = JSON.parse(key.inputs.policy as string) as { Statement: Array<{ Principal: { Service?: string }; Action: string[]; Condition?: unknown }> };
        const cloudwatch = policy.Statement.find((s) => s.Principal.Service === "cloudwatch.amazonaws.com");
        assert.deepEqual(cloudwatch?.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
        assert.deepEqual(cloudwatch?.Condition, { StringEquals: { "aws:SourceAccount": "123456789012" } });
        const subscription = only("aws:sns/topicSubscription:TopicSubscription");
        assert.deepEqual([subscription.inputs.protocol, subscription.inputs.endpoint], ["email", "ops@example.com"]);
        assert.equal(subscription.inputs.topic, outputs.alarmTopicArn);
        for (const alarm of [only("aws:cloudwatch/metricAlarm:MetricAlarm", /-dead-letters$/), only("aws:cloudwatch/metricAlarm:MetricAlarm", /-message-age$/)]) {
            assert.deepEqual(alarm.inputs.alarmActions, [outputs.alarmTopicArn], `${alarm.urn} does not notify`);
            assert.deepEqual(alarm.inputs.okActions, [outputs.alarmTopicArn], `${alarm.urn} does not say when it clears`);
        }
        assert.match(outputs.alarmTopicArn, /^arn:aws:sns:/);
    });

    it("maxMessageAgeMinutes sets the age alarm's threshold in seconds", async () => {
        await runRegion({ "ecs-anywhere:maxMessageAgeMinutes": 5 });
        assert.equal(only("aws:cloudwatch/metricAlarm:MetricAlarm", /-message-age$/).inputs.threshold, 300);
    });

    it("maxWorkers above minWorkers: the service starts at minWorkers and its count follows the backlog", async () => {
        await runRegion({ "ecs-anywhere:minWorkers": 0, "ecs-anywhere:maxWorkers": 3, "ecs-anywhere:messagesPerWorker": 500 });
        const target = only("aws:appautoscaling/target:Target");
        assert.deepEqual([target.inputs.minCapacity, target.inputs.maxCapacity], [0, 3]);
        assert.equal(target.inputs.scalableDimension, "ecs:service:DesiredCount");
        assert.match(target.inputs.resourceId as string, /^service\/ecs-anywhere-region-cluster-[0-9a-f]+\/ecs-anywhere-region-service-[0-9a-f]+$/);
        const service = only("aws:ecs/service:Service");
        assert.equal(service.inputs.desiredCount, 0, "starts with minWorkers");

        const follow = only("aws:appautoscaling/policy:Policy", /-follow-backlog$/);
        assert.equal(follow.inputs.policyType, "StepScaling");
        assert.equal(follow.inputs.stepScalingPolicyConfiguration.adjustmentType, "ExactCapacity");
        assert.deepEqual(follow.inputs.stepScalingPolicyConfiguration.stepAdjustments, backlogSteps(0, 3, 500));
        const backlog = only("aws:cloudwatch/metricAlarm:MetricAlarm", /-backlog$/);
        assert.equal(backlog.inputs.metricName, "ApproximateNumberOfMessagesVisible");
        assert.deepEqual([backlog.inputs.comparisonOperator, backlog.inputs.threshold], ["GreaterThanOrEqualToThreshold", 1], "the first message starts a worker");
        assert.match(String(backlog.inputs.dimensions.QueueName), /-queue-/);
        assert.equal(backlog.inputs.alarmActions.length, 1);
        assert.match(String(backlog.inputs.alarmActions[0]), /follow-backlog/);

        const idle = only("aws:appautoscaling/policy:Policy", /-idle$/);
        assert.deepEqual(idle.inputs.stepScalingPolicyConfiguration.stepAdjustments, [{ metricIntervalUpperBound: "0", scalingAdjustment: 0 }], "back to minWorkers");
        const idleAlarm = only("aws:cloudwatch/metricAlarm:MetricAlarm", /-queue-idle$/);
        const queries = idleAlarm.inputs.metricQueries as Array<{ id: string; expression?: string; metric?: { metricName: string } }>;
        assert.deepEqual(queries.map((q) => q.metric?.metricName ?? q.expression), ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible", "visible + inflight"], "idle means nothing visible and nothing in flight");
        assert.deepEqual([idleAlarm.inputs.comparisonOperator, idleAlarm.inputs.threshold], ["LessThanOrEqualToThreshold", 0]);
        assert.match(String(idleAlarm.inputs.alarmActions[0]), /-idle/);
    });

    it("minWorkers = maxWorkers above 1: that many tasks, no scaling", async () => {
        await runRegion({ "ecs-anywhere:minWorkers": 3, "ecs-anywhere:maxWorkers": 3 });
        assert.equal(only("aws:ecs/service:Service").inputs.desiredCount, 3);
        for (const type of SCALING_TYPES) assert.equal(ofType(type).length, 0, `${type} created`);
    });

    it("creates nothing when a setting is bad", async () => {
        await setupMocks({ stack: "region", config: { ...exampleConfig("region"), "ecs-anywhere:cpu": 300 } });
        assert.throws(() => regionProgram(), ConfigError);
        await settle(20);
        assert.equal(recorded.length, 0);
    });
});

describe("region config", () => {
    const base = exampleConfig("region");
    const bad: Array<[string, unknown, RegExp]> = [
        ["aws:region", undefined, /`aws:region` is not set: .*pulumi config set aws:region/],
        ["aws:region", "Ireland", /`aws:region` is "Ireland"/],
        ["ecs-anywhere:maxReceiveCount", 0, /`ecs-anywhere:maxReceiveCount` is 0: set it to a whole number from 1 to 1000/],
        ["ecs-anywhere:logRetentionDays", 10, /`ecs-anywhere:logRetentionDays` is 10: CloudWatch accepts only 1, 3, 5/],
        ["ecs-anywhere:cpu", 300, /`ecs-anywhere:cpu` is 300: Fargate CPU sizes are/],
        ["ecs-anywhere:memory", 4096, /`ecs-anywhere:memory` is 4096: with cpu 256 Fargate accepts memory 512, 1024, 2048/],
        ["ecs-anywhere:privateSubnets", "yes", /`ecs-anywhere:privateSubnets` is "yes": set it to true or false/],
        ["ecs-anywhere:vpcCidr", "10.0.0.0/8", /`ecs-anywhere:vpcCidr` is "10.0.0.0\/8": expected an IPv4 range from \/16 to \/24/],
        ["ecs-anywhere:logFileNames", "all", /`ecs-anywhere:logFileNames` is "all": set it to one of plain, hash, off/],
        ["ecs-anywhere:cpuArchitecture", "arm", /`ecs-anywhere:cpuArchitecture` is "arm": set it to one of ARM64, X86_64/],
        ["ecs-anywhere:minWorkers", -1, /`ecs-anywhere:minWorkers` is -1: set it to a whole number from 0 to 100/],
        ["ecs-anywhere:maxWorkers", 101, /`ecs-anywhere:maxWorkers` is 101: set it to a whole number from 0 to 100/],
        ["ecs-anywhere:maxWorkers", 0, /`ecs-anywhere:maxWorkers` is 0: set it to at least minWorkers \(1\), or lower `ecs-anywhere:minWorkers`/],
        ["ecs-anywhere:messagesPerWorker", 0, /`ecs-anywhere:messagesPerWorker` is 0: set it to a whole number from 1 to 1000000/],
        ["ecs-anywhere:maxMessageAgeMinutes", 0, /`ecs-anywhere:maxMessageAgeMinutes` is 0: set it to a whole number from 1 to 20160/],
        ["ecs-anywhere:alarmEmail", "ops", /`ecs-anywhere:alarmEmail` is "ops": expected an email address/],
    ];
    for (const [key, value, message] of bad) {
        it(`stops on ${key} = ${JSON.stringify(value)} naming the key, the value and the fix`, () => {
            const config = { ...base, [key]: value };
            if (value === undefined) delete config[key];
            assert.throws(() => loadRegionConfig(readerOf(config)), (error: unknown) => error instanceof ConfigError && message.test(error.message));
        });
    }
    it("stops on a desiredCount outside minWorkers..maxWorkers when scaling", () => {
        const config = { ...base, "ecs-anywhere:minWorkers": 0, "ecs-anywhere:maxWorkers": 2, "ecs-anywhere:desiredCount": 5 };
        assert.throws(() => loadRegionConfig(readerOf(config)), /`ecs-anywhere:desiredCount` is 5: with scaling on it must lie from minWorkers to maxWorkers \(0 to 2\)/);
    });
    it("reads the example config with the documented defaults", () => {
        const config = loadRegionConfig(readerOf(base));
        assert.deepEqual(
            {
                maxReceiveCount: config.maxReceiveCount,
                logRetentionDays: config.logRetentionDays,
                privateSubnets: config.privateSubnets,
                cpu: config.cpu,
                memory: config.memory,
                desiredCount: config.desiredCount,
                alarmEmail: config.alarmEmail,
                maxMessageAgeMinutes: config.maxMessageAgeMinutes,
                minWorkers: config.minWorkers,
                maxWorkers: config.maxWorkers,
                messagesPerWorker: config.messagesPerWorker,
            },
            { maxReceiveCount: 5, logRetentionDays: 30, privateSubnets: false, cpu: 256, memory: 512, desiredCount: 1, alarmEmail: undefined, maxMessageAgeMinutes: 30, minWorkers: 1, maxWorkers: 1, messagesPerWorker: 1000 },
        );
    });
});

describe("backlog steps", () => {
    it("one task per messagesPerWorker visible messages, rounded up, the last step open-ended at maxWorkers", () => {
        assert.deepEqual(backlogSteps(0, 3, 1000), [
            { metricIntervalLowerBound: "0", metricIntervalUpperBound: "1000", scalingAdjustment: 1 },
            { metricIntervalLowerBound: "1000", metricIntervalUpperBound: "2000", scalingAdjustment: 2 },
            { metricIntervalLowerBound: "2000", scalingAdjustment: 3 },
        ]);
        assert.deepEqual(backlogSteps(2, 3, 10).map((s) => s.scalingAdjustment), [2, 3], "never below minWorkers");
    });
    it("stays within the quota of 20 steps, from the lowest count to maxWorkers, never fewer workers than the target", () => {
        const steps = backlogSteps(1, 100, 1000);
        assert.equal(steps.length, MAX_STEPS);
        assert.equal(steps[0].scalingAdjustment, 1);
        assert.equal(steps[steps.length - 1].scalingAdjustment, 100);
        for (const [i, step] of steps.entries()) {
            // Bounds are "visible - 1": a step reaches up to `upper` visible messages, which want ceil(upper / 1000) tasks.
            if (step.metricIntervalUpperBound !== undefined) assert.ok(Math.ceil(Number(step.metricIntervalUpperBound) / 1000) <= step.scalingAdjustment, JSON.stringify(step));
            if (i > 0) assert.equal(step.metricIntervalLowerBound, steps[i - 1].metricIntervalUpperBound, "steps leave no gap");
        }
    });
});

describe("alarm key policy", () => {
    it("lets CloudWatch alarms of this account (only) use the key", () => {
        const policy = JSON.parse(alarmKeyPolicy("111122223333")) as { Statement: Array<{ Sid: string; Condition?: unknown }> };
        assert.deepEqual(policy.Statement.map((s) => s.Sid), ["AccountAdministersKey", "CloudWatchAlarmsPublishToTopic"]);
        assert.deepEqual(policy.Statement[1].Condition, { StringEquals: { "aws:SourceAccount": "111122223333" } });
    });
});
