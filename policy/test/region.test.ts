/** What lives in the region by design, read as policy: encrypted, closed to networks, logs that expire. */
import * as assert from "node:assert/strict";
import { efsEncryptedAtRest, efsEncryptedInTransit, logGroupsExpire, queuesEncryptedAtRest, securityGroupsClosedToNetworks } from "../region";
import { externalTask, fargateTask } from "./fixtures";
import { runResourcePolicy } from "./run";

describe("queues-encrypted-at-rest", () => {
    const rule = queuesEncryptedAtRest();
    const queue = (props: Record<string, unknown>) => ({ type: "aws:sqs/queue:Queue", name: "ecs-anywhere-region-queue", props: { visibilityTimeoutSeconds: 60, ...props } });

    it("passes a queue with SQS-managed encryption, or a KMS key", async () => {
        assert.deepEqual((await runResourcePolicy(rule, queue({ sqsManagedSseEnabled: true }))).violations, []);
        assert.deepEqual((await runResourcePolicy(rule, queue({ kmsMasterKeyId: "alias/aws/sqs" }))).violations, []);
    });

    it("refuses a queue without encryption at rest", async () => {
        const { violations } = await runResourcePolicy(rule, queue({ sqsManagedSseEnabled: false }));
        assert.deepEqual(violations, ["the queue is not encrypted at rest: set `sqsManagedSseEnabled: true` (or a `kmsMasterKeyId`)"]);
    });
});

describe("efs-encrypted-at-rest", () => {
    const rule = efsEncryptedAtRest();
    const fileSystem = (encrypted?: boolean) => ({ type: "aws:efs/fileSystem:FileSystem", name: "ecs-anywhere-region-fs", props: { performanceMode: "generalPurpose", ...(encrypted === undefined ? {} : { encrypted }) } });

    it("passes an encrypted file system", async () => {
        assert.deepEqual((await runResourcePolicy(rule, fileSystem(true))).violations, []);
    });

    it("refuses a file system that is not encrypted, or does not say", async () => {
        assert.equal((await runResourcePolicy(rule, fileSystem(false))).violations.length, 1);
        assert.match((await runResourcePolicy(rule, fileSystem())).violations[0], /not encrypted at rest: set `encrypted: true`/);
    });
});

describe("efs-encrypted-in-transit", () => {
    const rule = efsEncryptedInTransit();

    it("passes the Fargate task's EFS volume (transit encryption on) and a host-path task", async () => {
        assert.deepEqual((await runResourcePolicy(rule, fargateTask())).violations, []);
        assert.deepEqual((await runResourcePolicy(rule, externalTask())).violations, []);
    });

    it("refuses an EFS volume mounted without transit encryption", async () => {
        const task = fargateTask({ volumes: [{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", transitEncryption: "DISABLED" } }] });
        assert.deepEqual((await runResourcePolicy(rule, task)).violations, ['volume `data` mounts EFS without transit encryption: set `transitEncryption: "ENABLED"`']);
    });
});

describe("security-groups-closed-to-networks", () => {
    const rule = securityGroupsClosedToNetworks();

    it("passes NFS into EFS from the worker's group, and the worker group with no ingress", async () => {
        const nfs = { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name: "efs-nfs-in", props: { ipProtocol: "tcp", fromPort: 2049, toPort: 2049, referencedSecurityGroupId: "sg-0worker" } };
        assert.deepEqual((await runResourcePolicy(rule, nfs)).violations, []);
        const worker = { type: "aws:ec2/securityGroup:SecurityGroup", name: "worker-sg", props: { vpcId: "vpc-1", description: "no inbound traffic" } };
        assert.deepEqual((await runResourcePolicy(rule, worker)).violations, []);
        const emptied = { type: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", name: "default-sg", props: { vpcId: "vpc-1", ingress: [], egress: [] } };
        assert.deepEqual((await runResourcePolicy(rule, emptied)).violations, []);
    });

    it("passes egress to anywhere (the worker calls out to AWS APIs)", async () => {
        const egress = { type: "aws:ec2/securityGroupRule:SecurityGroupRule", name: "out", props: { type: "egress", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] } };
        assert.deepEqual((await runResourcePolicy(rule, egress)).violations, []);
    });

    it("refuses an ingress rule from an address range", async () => {
        const open = { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name: "open", props: { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" } };
        assert.match((await runResourcePolicy(rule, open)).violations[0], /the ingress rule admits 0.0.0.0\/0/);
    });

    it("refuses inline and rule-resource ingress from CIDR blocks or prefix lists", async () => {
        const group = { type: "aws:ec2/securityGroup:SecurityGroup", name: "g", props: { ingress: [{ protocol: "tcp", fromPort: 2049, toPort: 2049, cidrBlocks: ["10.42.0.0/16"] }] } };
        assert.match((await runResourcePolicy(rule, group)).violations[0], /ingress rule #1 admits 10.42.0.0\/16/);
        const legacy = { type: "aws:ec2/securityGroupRule:SecurityGroupRule", name: "r", props: { type: "ingress", protocol: "tcp", fromPort: 80, toPort: 80, prefixListIds: ["pl-123"] } };
        assert.match((await runResourcePolicy(rule, legacy)).violations[0], /admits pl-123/);
        const defaultGroup = { type: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", name: "d", props: { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }] } };
        assert.match((await runResourcePolicy(rule, defaultGroup)).violations[0], /admits ::\/0/);
    });

    it("does not apply to other resource types", async () => {
        assert.ok((await runResourcePolicy(rule, { type: "aws:ec2/vpc:Vpc", name: "vpc", props: {} })).notApplicable);
    });
});

describe("log-groups-expire", () => {
    const rule = logGroupsExpire();
    const logGroup = (props: Record<string, unknown>) => ({ type: "aws:cloudwatch/logGroup:LogGroup", name: "ecs-anywhere-region-logs", props: { name: "/ecs/ecs-anywhere-region", ...props } });

    it("passes a log group with a retention", async () => {
        assert.deepEqual((await runResourcePolicy(rule, logGroup({ retentionInDays: 30 }))).violations, []);
    });

    it("refuses a log group that keeps its logs forever", async () => {
        assert.match((await runResourcePolicy(rule, logGroup({}))).violations[0], /keeps its logs forever/);
        assert.equal((await runResourcePolicy(rule, logGroup({ retentionInDays: 0 }))).violations.length, 1);
    });
});
