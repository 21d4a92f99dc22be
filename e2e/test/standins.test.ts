/**
 * The aws and inert stand-ins called directly (check/diff/create/update/read/delete/invoke), their
 * records and call log, the stand-in ECR against a real registry (Debian's docker-registry on
 * loopback, as the sandbox runs it); one of them served over gRPC as the engine would start it
 * (install-plugins' launcher); and the stand-in ECS/SSM/STS endpoints through the real AWS SDK v3
 * clients, as infra/anywhere/deregister.ts calls them at destroy.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DeregisterContainerInstanceCommand, ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { DeregisterManagedInstanceCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import * as pulumi from "@pulumi/pulumi";
import * as grpc from "@grpc/grpc-js";
import * as providerrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerproto from "@pulumi/pulumi/proto/provider_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { loadSerializedProvider } from "../../test-support/serialized-provider";
import { deregisterHost, hostRegistrationProvider, isAlreadyGone, sdkDeregistrationApi } from "../../infra/anywhere/deregister";
import { startAwsApi, type AwsApi } from "../standins/aws-api";
import { ACCOUNT_ID, awsProvider } from "../standins/aws";
import { readCallLog } from "../standins/call-log";
import { inertProvider, isSecret, SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, type PropertyMap } from "../standins/inert";
import { installStandins, requiredPlugins } from "../lib/install-plugins";
import { liveResources } from "../standins/records";
import { getManifest, listTags, loopbackRegistry, parseReference, pushLayout, RegistryError } from "../standins/registry";
import { writeLayout } from "../tools/oci-layout";

const REGION = "eu-west-1";
const urn = (type: string, name: string, stack = "region") => `urn:pulumi:${stack}::ecs-anywhere::${type}::${name}`;
const secretValue = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ssm.amazonaws.com" }, Action: "sts:AssumeRole" }] });

type Aws = ReturnType<typeof awsProvider>;

function commandExists(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** Debian's docker-registry on a free loopback port, its storage in `dir`, as e2e/sandbox.sh runs it. */
async function startRegistry(dir: string): Promise<{ address: string; stop: () => Promise<void> }> {
    const port = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
            const { port: free } = probe.address() as net.AddressInfo;
            probe.close(() => resolve(free));
        });
    });
    const address = `127.0.0.1:${port}`;
    fs.mkdirSync(dir, { recursive: true });
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: ${address}\n`);
    const child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
    const stop = () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill())));
    for (let i = 0; i < 100; i++) {
        const up = await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false);
        if (up) return { address, stop };
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop();
    throw new Error(`docker-registry did not answer on ${address} within 10 s`);
}

/** check then create, as the engine does; returns id and outputs. */
async function make(provider: Aws, type: string, name: string, inputs: PropertyMap): Promise<{ urn: string; id: string; outs: PropertyMap; inputs: PropertyMap }> {
    const resourceUrn = urn(type, name);
    const checked = await provider.check!(resourceUrn, {}, inputs);
    assert.deepEqual(checked.failures ?? [], [], `check ${type} ${name}`);
    const created = await provider.create!(resourceUrn, checked.inputs);
    return { urn: resourceUrn, id: created.id, outs: created.outs as PropertyMap, inputs: checked.inputs as PropertyMap };
}

describe("stand-ins: aws and inert providers, called directly", function () {
    let dir: string;
    let state: string;
    let log: string;
    let savedLog: string | undefined;
    let aws: Aws;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-test-"));
        state = path.join(dir, "state");
        log = path.join(dir, "calls.jsonl");
        savedLog = process.env.E2E_CALL_LOG;
        process.env.E2E_CALL_LOG = log;
        aws = awsProvider({ stateDir: state, region: REGION, version: "7.48.0" });
    });
    afterEach(() => {
        if (savedLog === undefined) delete process.env.E2E_CALL_LOG;
        else process.env.E2E_CALL_LOG = savedLog;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("checkConfig needs aws:region, and says how to set it", async () => {
        const missing = await aws.checkConfig!("urn:pulumi:region::p::pulumi:providers:aws::default", {}, { version: "7.48.0" });
        assert.equal(missing.failures?.length, 1);
        assert.match(missing.failures![0].reason, /aws:region.*pulumi config set aws:region/);
        const wrong = await aws.checkConfig!("urn", {}, { region: "Ireland" });
        assert.match(wrong.failures![0].reason, /invalid AWS Region: Ireland/);
        assert.deepEqual((await aws.checkConfig!("urn", {}, { region: "eu-central-1" })).failures, []);
        const fresh = awsProvider({ stateDir: state });
        await fresh.configure!({ region: "us-east-2", version: "7.48.0" });
        assert.equal(fresh.region, "us-east-2");
        await assert.rejects(awsProvider({ stateDir: state }).create!(urn("aws:sqs/queue:Queue", "q"), { name: "q" }), /no region configured/);
    });

    it("auto-names like pulumi-aws (<name>-<7 hex>, .fifo for FIFO queues), keeps a name made before and an explicit one", async () => {
        const queue = "aws:sqs/queue:Queue";
        const auto = await aws.check!(urn(queue, "work"), {}, { visibilityTimeoutSeconds: 60 });
        assert.match(String((auto.inputs as PropertyMap).name), /^work-[0-9a-f]{7}$/);
        const fifo = await aws.check!(urn(queue, "ordered"), {}, { fifoQueue: true });
        assert.match(String((fifo.inputs as PropertyMap).name), /^ordered-[0-9a-f]{7}\.fifo$/);
        const again = await aws.check!(urn(queue, "work"), auto.inputs, { visibilityTimeoutSeconds: 90 });
        assert.equal((again.inputs as PropertyMap).name, (auto.inputs as PropertyMap).name);
        const explicit = await aws.check!(urn("aws:ecs/cluster:Cluster", "c"), {}, { name: "ecs-anywhere-berlin" });
        assert.equal((explicit.inputs as PropertyMap).name, "ecs-anywhere-berlin");
        const prefixed = await aws.check!(urn("aws:cloudwatch/logGroup:LogGroup", "l"), {}, { namePrefix: "/ecs/x-" });
        assert.match(String((prefixed.inputs as PropertyMap).name), /^\/ecs\/x-\d{18}[0-9a-f]{8}$/);
        const long = await aws.check!(urn("aws:iam/role:Role", "r".repeat(80)), {}, { assumeRolePolicy: TRUST });
        assert.equal(String((long.inputs as PropertyMap).name).length, 64);
        // Types without a name AWS needs are left alone.
        const vpc = await aws.check!(urn("aws:ec2/vpc:Vpc", "v"), {}, { cidrBlock: "10.42.0.0/16" });
        assert.equal((vpc.inputs as PropertyMap).name, undefined);
    });

    it("check refuses missing required inputs and policy documents that are not JSON; unknowns pass (previews)", async () => {
        const subnet = await aws.check!(urn("aws:ec2/subnet:Subnet", "s"), {}, { cidrBlock: "10.42.0.0/20" });
        assert.deepEqual(
            subnet.failures?.map((f) => f.property),
            ["vpcId"],
        );
        const role = await aws.check!(urn("aws:iam/role:Role", "r"), {}, { assumeRolePolicy: "{not json" });
        assert.match(role.failures![0].reason, /invalid JSON/);
        const preview = await aws.check!(urn("aws:sqs/queue:Queue", "q"), {}, { redrivePolicy: UNKNOWN });
        assert.deepEqual(preview.failures, []);
        const attachment = await aws.check!(urn("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a"), {}, { role: UNKNOWN, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
        assert.deepEqual(attachment.failures, []);
    });

    it("creates with AWS-shaped ids, ARNs, URLs and defaults, and records what is alive", async () => {
        const queue = await make(aws, "aws:sqs/queue:Queue", "ecs-anywhere-region-queue", { visibilityTimeoutSeconds: 60, sqsManagedSseEnabled: true });
        const name = String(queue.outs.name);
        assert.equal(queue.id, `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name}`);
        assert.equal(queue.outs.url, queue.id);
        assert.equal(queue.outs.arn, `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`);
        assert.equal(queue.outs.messageRetentionSeconds, 345600);
        assert.equal(queue.outs.visibilityTimeoutSeconds, 60);
        assert.equal(queue.outs.region, REGION);

        const repository = await make(aws, "aws:ecr/repository:Repository", "repo", { forceDelete: true });
        assert.equal(repository.id, repository.outs.name);
        assert.equal(repository.outs.repositoryUrl, `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/${String(repository.outs.name)}`);
        assert.equal(repository.outs.registryId, ACCOUNT_ID);

        const role = await make(aws, "aws:iam/role:Role", "execution", { assumeRolePolicy: TRUST });
        assert.equal(role.id, role.outs.name);
        assert.equal(role.outs.arn, `arn:aws:iam::${ACCOUNT_ID}:role/${String(role.outs.name)}`);
        assert.match(String(role.outs.uniqueId), /^AROA[A-Z2-7]{17}$/);
        assert.equal(role.outs.region, undefined, "IAM is global");

        const logs = await make(aws, "aws:cloudwatch/logGroup:LogGroup", "logs", { name: "/ecs/ecs-anywhere-region", retentionInDays: 30 });
        assert.equal(logs.id, "/ecs/ecs-anywhere-region");
        assert.equal(logs.outs.arn, `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/ecs/ecs-anywhere-region`);

        const vpc = await make(aws, "aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.42.0.0/16", enableDnsHostnames: true });
        assert.match(vpc.id, /^vpc-0[0-9a-f]{16}$/);
        assert.match(String(vpc.outs.defaultSecurityGroupId), /^sg-0[0-9a-f]{16}$/);
        const defaultGroup = await make(aws, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg", { vpcId: vpc.id, ingress: [], egress: [] });
        assert.equal(defaultGroup.id, vpc.outs.defaultSecurityGroupId, "the default group is the VPC's own");
        const gateway = await make(aws, "aws:ec2/internetGateway:InternetGateway", "igw", { vpcId: vpc.id });
        assert.match(gateway.id, /^igw-0[0-9a-f]{16}$/);
        const routes = await make(aws, "aws:ec2/routeTable:RouteTable", "rt", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }] });
        assert.match(routes.id, /^rtb-0[0-9a-f]{16}$/);
        const subnet = await make(aws, "aws:ec2/subnet:Subnet", "public-0", { vpcId: vpc.id, cidrBlock: "10.42.0.0/20", availabilityZone: `${REGION}a` });
        assert.match(subnet.id, /^subnet-0[0-9a-f]{16}$/);
        assert.equal(subnet.outs.availabilityZoneId, "euw1-az1");
        assert.equal(subnet.outs.arn, `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:subnet/${subnet.id}`);
        const association = await make(aws, "aws:ec2/routeTableAssociation:RouteTableAssociation", "rta", { subnetId: subnet.id, routeTableId: routes.id });
        assert.match(association.id, /^rtbassoc-0[0-9a-f]{16}$/);
        const ip = await make(aws, "aws:ec2/eip:Eip", "nat-ip", { domain: "vpc" });
        assert.match(ip.id, /^eipalloc-0[0-9a-f]{16}$/);
        const nat = await make(aws, "aws:ec2/natGateway:NatGateway", "nat", { allocationId: ip.id, subnetId: subnet.id });
        assert.match(nat.id, /^nat-0[0-9a-f]{16}$/);
        assert.equal(nat.outs.publicIp, ip.outs.publicIp);
        const group = await make(aws, "aws:ec2/securityGroup:SecurityGroup", "worker-sg", { vpcId: vpc.id, description: "worker" });
        assert.match(group.id, /^sg-0[0-9a-f]{16}$/);
        const rule = await make(aws, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "https-out", { securityGroupId: group.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" });
        assert.match(rule.id, /^sgr-0[0-9a-f]{16}$/);
        assert.equal(rule.outs.securityGroupRuleId, rule.id);

        const fileSystem = await make(aws, "aws:efs/fileSystem:FileSystem", "fs", { encrypted: true });
        assert.match(fileSystem.id, /^fs-0[0-9a-f]{16}$/);
        assert.equal(fileSystem.outs.arn, `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT_ID}:file-system/${fileSystem.id}`);
        const mount = await make(aws, "aws:efs/mountTarget:MountTarget", "mount-0", { fileSystemId: fileSystem.id, subnetId: subnet.id, securityGroups: [group.id] });
        assert.match(mount.id, /^fsmt-0[0-9a-f]{16}$/);
        assert.equal(mount.outs.availabilityZoneName, `${REGION}a`);
        const accessPoint = await make(aws, "aws:efs/accessPoint:AccessPoint", "data", { fileSystemId: fileSystem.id, posixUser: { uid: 10001, gid: 10001 } });
        assert.match(accessPoint.id, /^fsap-0[0-9a-f]{16}$/);

        const cluster = await make(aws, "aws:ecs/cluster:Cluster", "cluster", {});
        assert.equal(cluster.id, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/${String(cluster.outs.name)}`);
        assert.equal(cluster.outs.arn, cluster.id);

        const alive = liveResources(state);
        assert.equal(alive.length, 18);
        assert.ok(alive.every((r) => r.provider === "aws"));
        assert.ok(alive.some((r) => r.type === "aws:efs/mountTarget:MountTarget" && r.name === "mount-0" && r.id === mount.id));
    });

    it("task definitions count revisions; services check their cluster and task definition as ECS does", async () => {
        const cluster = await make(aws, "aws:ecs/cluster:Cluster", "cluster", { name: "ecs-anywhere-anywhere" });
        const containers = JSON.stringify([{ name: "worker", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r:latest@sha256:00", essential: true }]);
        const inputs = { family: "ecs-anywhere-anywhere-worker", requiresCompatibilities: ["EXTERNAL"], networkMode: "bridge", containerDefinitions: containers };
        const first = await make(aws, "aws:ecs/taskDefinition:TaskDefinition", "task", inputs);
        assert.equal(first.id, "ecs-anywhere-anywhere-worker", "the id is the family, as pulumi-aws's");
        assert.equal(first.outs.revision, 1);
        assert.equal(first.outs.arn, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/ecs-anywhere-anywhere-worker:1`);
        assert.equal(first.outs.arnWithoutRevision, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/ecs-anywhere-anywhere-worker`);
        // A replacement (create before delete) registers revision 2 under the same URN.
        const second = await aws.create!(first.urn, { ...first.inputs, containerDefinitions: containers.replace(":00", ":01") });
        assert.equal((second.outs as PropertyMap).revision, 2);
        await aws.delete!(first.id, first.urn, first.outs);
        assert.equal(liveResources(state).filter((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition").length, 1, "the new revision is still alive");

        const service = await make(aws, "aws:ecs/service:Service", "service", {
            cluster: cluster.outs.arn,
            taskDefinition: (second.outs as PropertyMap).arn,
            launchType: "EXTERNAL",
            desiredCount: 2,
            placementConstraints: [{ type: "distinctInstance" }],
        });
        assert.equal(service.id, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/ecs-anywhere-anywhere/${String(service.outs.name)}`);
        assert.equal(service.outs.arn, service.id);

        const fargate = { cluster: cluster.outs.arn, taskDefinition: (second.outs as PropertyMap).arn, launchType: "FARGATE" };
        await assert.rejects(aws.create!(urn("aws:ecs/service:Service", "wrong"), { ...fargate, name: "wrong" }), /does not support launch_type FARGATE/);
        await assert.rejects(aws.create!(urn("aws:ecs/service:Service", "lost"), { name: "lost", cluster: "nowhere" }), /ClusterNotFoundException/);
        await assert.rejects(
            aws.create!(urn("aws:ecs/taskDefinition:TaskDefinition", "f"), { family: "f", requiresCompatibilities: ["FARGATE"], networkMode: "bridge", containerDefinitions: containers }),
            /Fargate only supports network mode 'awsvpc'/,
        );
        await assert.rejects(aws.delete!(cluster.id, cluster.urn, cluster.outs), /ClusterContainsServicesException/);
        await aws.delete!(service.id, service.urn, service.outs);
        await aws.delete!(cluster.id, cluster.urn, cluster.outs);
    });

    it("the SSM activation: a UUID-like id, a 20-character code returned only as a secret, AWS's limits", async () => {
        const role = await make(aws, "aws:iam/role:Role", "instance", { assumeRolePolicy: TRUST });
        const expires = new Date(Date.now() + 14 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        const activation = await make(aws, "aws:ssm/activation:Activation", "activation", { name: "ecs-anywhere-anywhere", iamRole: role.id, registrationLimit: 4, expirationDate: expires });
        assert.match(activation.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.ok(isSecret(activation.outs.activationCode), "activationCode is returned as a secret");
        const code = String((activation.outs.activationCode as { value: unknown }).value);
        assert.match(code, /^[A-Za-z0-9+/]{20}$/);
        assert.equal(activation.outs.expired, false);
        assert.equal(activation.outs.registrationCount, 0);
        assert.equal(activation.outs.expirationDate, expires);

        await assert.rejects(aws.create!(urn("aws:ssm/activation:Activation", "big"), { iamRole: role.id, registrationLimit: 1001 }), /between 1 and 1000/);
        const tooLate = new Date(Date.now() + 40 * 24 * 3600 * 1000).toISOString();
        await assert.rejects(aws.create!(urn("aws:ssm/activation:Activation", "late"), { iamRole: role.id, expirationDate: tooLate }), /not more than 30 days/);

        // Refresh gives the recorded state back; the code is the engine's copy (records hold no secret).
        const read = await aws.read!(activation.id, activation.urn, activation.outs);
        assert.equal(read.id, activation.id);
        assert.deepEqual((read.props as PropertyMap).activationCode, activation.outs.activationCode);
        assert.ok(!fs.readFileSync(path.join(state, "aws.json"), "utf8").includes(code), "the records hold no activation code");

        await aws.delete!(activation.id, activation.urn, activation.outs);
        const gone = await aws.read!(activation.id, activation.urn, activation.outs);
        assert.equal(gone.id, "", "refresh of a deleted resource: gone");

        const calls = fs.readFileSync(log, "utf8");
        assert.ok(!calls.includes(code), "the call log holds no activation code");
    });

    it("diff: name, namePrefix and the properties AWS cannot change replace; others update; unchanged is no change", async () => {
        const queue = await make(aws, "aws:sqs/queue:Queue", "queue", { visibilityTimeoutSeconds: 60 });
        const same = await aws.diff!(queue.id, queue.urn, queue.outs, queue.inputs);
        assert.equal(same.changes, false, "outputs (defaults, computed attributes) are no change");
        const update = await aws.diff!(queue.id, queue.urn, queue.outs, { ...queue.inputs, visibilityTimeoutSeconds: 90 });
        assert.deepEqual([update.changes, update.replaces], [true, []]);
        const renamed = await aws.diff!(queue.id, queue.urn, queue.outs, { ...queue.inputs, name: "other" });
        assert.deepEqual(renamed.replaces, ["name"]);
        assert.equal(renamed.deleteBeforeReplace, false);
        const unknown = await aws.diff!(queue.id, queue.urn, queue.outs, { ...queue.inputs, redrivePolicy: UNKNOWN });
        assert.deepEqual([unknown.changes, unknown.replaces], [true, []]);

        const vpc = await make(aws, "aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.42.0.0/16" });
        const subnet = await make(aws, "aws:ec2/subnet:Subnet", "subnet", { vpcId: vpc.id, cidrBlock: "10.42.0.0/20", availabilityZone: `${REGION}a`, mapPublicIpOnLaunch: false });
        assert.deepEqual((await aws.diff!(subnet.id, subnet.urn, subnet.outs, { ...subnet.inputs, cidrBlock: "10.42.16.0/20" })).replaces, ["cidrBlock"]);
        assert.deepEqual((await aws.diff!(subnet.id, subnet.urn, subnet.outs, { ...subnet.inputs, availabilityZone: `${REGION}b` })).replaces, ["availabilityZone"]);
        assert.deepEqual((await aws.diff!(subnet.id, subnet.urn, subnet.outs, { ...subnet.inputs, vpcId: UNKNOWN })).replaces, ["vpcId"]);
        const flag = await aws.diff!(subnet.id, subnet.urn, subnet.outs, { ...subnet.inputs, mapPublicIpOnLaunch: true });
        assert.deepEqual([flag.changes, flag.replaces], [true, []]);

        const role = await make(aws, "aws:iam/role:Role", "role", { assumeRolePolicy: TRUST });
        const attachment = await make(aws, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ssm", { role: role.id, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
        const reattached = await aws.diff!(attachment.id, attachment.urn, attachment.outs, { ...attachment.inputs, policyArn: "arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role" });
        assert.deepEqual(reattached.replaces, ["policyArn"]);
        const expires = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        const activation = await make(aws, "aws:ssm/activation:Activation", "activation", { iamRole: role.id, description: "d", expirationDate: expires });
        assert.deepEqual((await aws.diff!(activation.id, activation.urn, activation.outs, { ...activation.inputs, description: "e" })).replaces, ["description"]);
        assert.equal((await aws.diff!(activation.id, activation.urn, activation.outs, activation.inputs)).changes, false);
        const fileSystem = await make(aws, "aws:efs/fileSystem:FileSystem", "fs", {});
        const mount = await make(aws, "aws:efs/mountTarget:MountTarget", "mount", { fileSystemId: fileSystem.id, subnetId: subnet.id, securityGroups: ["sg-1"] });
        assert.deepEqual((await aws.diff!(mount.id, mount.urn, mount.outs, { ...mount.inputs, securityGroups: ["sg-2"] })).replaces, ["securityGroups"]);
        const definition = await make(aws, "aws:ecs/taskDefinition:TaskDefinition", "task", { family: "f", containerDefinitions: JSON.stringify([{ name: "w", image: "i" }]) });
        assert.deepEqual((await aws.diff!(definition.id, definition.urn, definition.outs, { ...definition.inputs, memory: "512" })).replaces, ["memory"]);
        const secretDiff = await aws.diff!(role.id, role.urn, role.outs, { ...role.inputs, assumeRolePolicy: secretValue(TRUST) });
        assert.equal(secretDiff.changes, false, "a value that only became secret is the same value");
    });

    it("update returns the new inputs with the computed attributes kept; read returns the recorded state", async () => {
        const queue = await make(aws, "aws:sqs/queue:Queue", "queue", { visibilityTimeoutSeconds: 60 });
        const updated = (await aws.update!(queue.id, queue.urn, queue.outs, { ...queue.inputs, visibilityTimeoutSeconds: 90 })).outs as PropertyMap;
        assert.equal(updated.visibilityTimeoutSeconds, 90);
        assert.equal(updated.arn, queue.outs.arn);
        assert.equal(updated.url, queue.outs.url);
        assert.equal(updated.messageRetentionSeconds, 345600);
        const read = await aws.read!(queue.id, queue.urn, queue.outs);
        assert.equal((read.props as PropertyMap).visibilityTimeoutSeconds, 90, "refresh sees the update");
        await aws.delete!(queue.id, queue.urn, updated);
        await assert.rejects(aws.update!(queue.id, queue.urn, updated, queue.inputs), /does not exist any more/);
    });

    it("refuses what AWS refuses: overlapping subnets, two mount targets in one zone, a taken name, a role with policies, a full repository", async () => {
        const vpc = await make(aws, "aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.42.0.0/16" });
        const subnet = await make(aws, "aws:ec2/subnet:Subnet", "a", { vpcId: vpc.id, cidrBlock: "10.42.0.0/20", availabilityZone: `${REGION}a` });
        await assert.rejects(aws.create!(urn("aws:ec2/subnet:Subnet", "b"), { vpcId: vpc.id, cidrBlock: "10.42.8.0/21", availabilityZone: `${REGION}b` }), /InvalidSubnet.Conflict/);
        await assert.rejects(aws.create!(urn("aws:ec2/subnet:Subnet", "c"), { vpcId: vpc.id, cidrBlock: "10.43.0.0/20" }), /InvalidSubnet.Range/);
        const other = await make(aws, "aws:ec2/subnet:Subnet", "d", { vpcId: vpc.id, cidrBlock: "10.42.16.0/20", availabilityZone: `${REGION}a` });
        const fileSystem = await make(aws, "aws:efs/fileSystem:FileSystem", "fs", {});
        await make(aws, "aws:efs/mountTarget:MountTarget", "mount-0", { fileSystemId: fileSystem.id, subnetId: subnet.id });
        await assert.rejects(aws.create!(urn("aws:efs/mountTarget:MountTarget", "mount-1"), { fileSystemId: fileSystem.id, subnetId: other.id }), /MountTargetConflict/);
        await assert.rejects(aws.delete!(vpc.id, vpc.urn, vpc.outs), /DependencyViolation/);

        const role = await make(aws, "aws:iam/role:Role", "role", { name: "fixed", assumeRolePolicy: TRUST });
        await assert.rejects(aws.create!(urn("aws:iam/role:Role", "role-again"), { name: "fixed", assumeRolePolicy: TRUST }), /EntityAlreadyExists/);
        const policy = await make(aws, "aws:iam/rolePolicy:RolePolicy", "policy", { role: role.id, policy: TRUST });
        await assert.rejects(aws.delete!(role.id, role.urn, role.outs), /DeleteConflict/);
        await aws.delete!(policy.id, policy.urn, policy.outs);
        await aws.delete!(role.id, role.urn, role.outs);
        await assert.rejects(aws.create!(urn("aws:iam/rolePolicy:RolePolicy", "orphan"), { name: "p", role: "nobody", policy: TRUST }), /NoSuchEntity/);
    });

    it("the registry client reaches loopback only, and reads image references as the e2e gives them", () => {
        assert.throws(() => loopbackRegistry("203.0.113.80:5000"), /the sandbox's registry is on loopback/);
        assert.throws(() => parseReference("registry-1.docker.io/library/node:22"), RegistryError);
        const digest = `sha256:${"a".repeat(64)}`;
        assert.deepEqual(parseReference(`127.0.0.1:5000/repo-1:latest@${digest}`), { registry: "127.0.0.1:5000", repository: "repo-1", reference: digest });
        assert.deepEqual(parseReference("127.0.0.1:5000/library/node:22-bookworm-slim"), { registry: "127.0.0.1:5000", repository: "library/node", reference: "22-bookworm-slim" });
        assert.throws(() => parseReference("127.0.0.1:5000/repo"), /expected <host:port>\/<repository>:<tag>/);
    });

    it("ECR: repository URLs and the token's endpoint on the sandbox's registry; a repository holding images refuses deletion, forceDelete deletes them with it", async function () {
        if (!commandExists("docker-registry")) {
            console.log("      skipped: docker-registry is not installed (apt-get install docker-registry)");
            this.skip();
        }
        const registry = await startRegistry(path.join(dir, "registry"));
        const saved = process.env.E2E_REGISTRY;
        process.env.E2E_REGISTRY = registry.address;
        try {
            const repository = await make(aws, "aws:ecr/repository:Repository", "repo", {});
            const name = String(repository.outs.name);
            assert.equal(repository.outs.repositoryUrl, `${registry.address}/${name}`);
            const token = (await aws.invoke!("aws:ecr/getAuthorizationToken:getAuthorizationToken", { registryId: ACCOUNT_ID })).outputs as PropertyMap;
            assert.equal(token.proxyEndpoint, `http://${registry.address}`);
            // An image pushed into it, as the docker-build provider pushes one.
            const layout = path.join(dir, "layout");
            const rootfs = path.join(dir, "rootfs.tar");
            fs.writeFileSync(rootfs, Buffer.alloc(10_240));
            const index = await writeLayout({ created: new Date().toISOString(), env: [], history: "test", platforms: [{ architecture: "amd64", rootfs }, { architecture: "arm64", variant: "v8", rootfs }] }, layout);
            assert.equal(await pushLayout(layout, registry.address, name, ["latest"]), index.digest);
            const pushed = await getManifest(registry.address, name, "latest");
            assert.equal(pushed?.digest, index.digest, "the registry serves the index under the digest pushed");
            assert.deepEqual(pushed?.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), ["linux/amd64", "linux/arm64"]);
            await assert.rejects(aws.delete!(repository.id, repository.urn, repository.outs), /RepositoryNotEmptyException/);
            assert.deepEqual(await listTags(registry.address, name), ["latest"], "a refused delete keeps the images");
            await aws.delete!(repository.id, repository.urn, { ...repository.outs, forceDelete: true });
            assert.equal(await getManifest(registry.address, name, index.digest), undefined, "forceDelete deleted the image");
            assert.deepEqual(liveResources(state), []);
        } finally {
            if (saved === undefined) delete process.env.E2E_REGISTRY;
            else process.env.E2E_REGISTRY = saved;
            await registry.stop();
        }
    });

    it("functions: zones, ECR token (password secret), region, caller, partition, policy documents; unknown names fail naming them", async () => {
        const zones = (await aws.invoke!("aws:index/getAvailabilityZones:getAvailabilityZones", { state: "available" })).outputs as PropertyMap;
        assert.deepEqual(zones.names, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert.deepEqual(zones.zoneIds, ["euw1-az1", "euw1-az2", "euw1-az3"]);
        const token = (await aws.invoke!("aws:ecr/getAuthorizationToken:getAuthorizationToken", { registryId: ACCOUNT_ID })).outputs as PropertyMap;
        assert.equal(token.userName, "AWS");
        assert.ok(isSecret(token.password) && isSecret(token.authorizationToken));
        assert.equal(token.proxyEndpoint, `https://${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`);
        assert.equal(((await aws.invoke!("aws:index/getRegion:getRegion", {})).outputs as PropertyMap).name, REGION);
        assert.equal(((await aws.invoke!("aws:index/getCallerIdentity:getCallerIdentity", {})).outputs as PropertyMap).accountId, ACCOUNT_ID);
        assert.equal(((await aws.invoke!("aws:index/getPartition:getPartition", {})).outputs as PropertyMap).partition, "aws");
        const document = (await aws.invoke!("aws:iam/getPolicyDocument:getPolicyDocument", {
            statements: [{ effect: "Allow", actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["ecs-tasks.amazonaws.com"] }] }],
        })).outputs as PropertyMap;
        assert.deepEqual(JSON.parse(String(document.json)), {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "ecs-tasks.amazonaws.com" } }],
        });
        await assert.rejects(aws.invoke!("aws:s3/getBucket:getBucket", {}), /stand-in aws provider does not know aws:s3\/getBucket:getBucket: add it to e2e\/standins\/aws.ts/);
        await assert.rejects(aws.check!(urn("aws:s3/bucket:Bucket", "b"), {}, {}), /does not know aws:s3\/bucket:Bucket/);
    });

    it("destroy leaves nothing alive; the call log has every call and no secret", async () => {
        const role = await make(aws, "aws:iam/role:Role", "role", { assumeRolePolicy: TRUST });
        const activation = await make(aws, "aws:ssm/activation:Activation", "activation", { iamRole: role.id });
        assert.deepEqual(
            liveResources(state).map((r) => `${r.provider} ${r.type}`).sort(),
            ["aws aws:iam/role:Role", "aws aws:ssm/activation:Activation"],
        );
        await aws.delete!(activation.id, activation.urn, activation.outs);
        await aws.delete!(role.id, role.urn, role.outs);
        assert.deepEqual(liveResources(state), []);

        const calls = readCallLog(log);
        const summary = calls.map((c) => `${c.provider} ${c.operation} ${c.type} ${c.name}`);
        assert.deepEqual(summary, [
            "aws check aws:iam/role:Role role",
            "aws create aws:iam/role:Role role",
            "aws check aws:ssm/activation:Activation activation",
            "aws create aws:ssm/activation:Activation activation",
            "aws delete aws:ssm/activation:Activation activation",
            "aws delete aws:iam/role:Role role",
        ]);
        assert.ok(calls.every((c) => c.result === "ok"));
        assert.equal(calls[3].id, activation.id);
        const text = fs.readFileSync(log, "utf8");
        const code = String((activation.outs.activationCode as { value: unknown }).value);
        assert.ok(!text.includes(code), "no secret in the call log");
    });

    it("inert: configuration is accepted, any resource or function fails naming the plugin", async () => {
        const inert = inertProvider("awsx", "3.9.0");
        assert.deepEqual((await inert.checkConfig!("urn", {}, { a: 1 })).inputs, { a: 1 });
        await assert.rejects(inert.check!(urn("awsx:ec2:Vpc", "v"), {}, {}), /stand-in awsx provider is inert: .*awsx:ec2:Vpc from plugin awsx/);
        await assert.rejects(inert.invoke!("awsx:ecr:getImage", {}), /function awsx:ecr:getImage from plugin awsx/);
        assert.equal(readCallLog(log)[0].provider, "awsx");
    });
});

describe("stand-ins: records of what is alive", function () {
    this.timeout(20_000);

    it("several provider processes writing one records file at once lose nothing", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-records-"));
        try {
            const script = path.join(dir, "writer.ts");
            const records = path.resolve(__dirname, "..", "standins", "records.ts");
            fs.writeFileSync(
                script,
                [
                    `import { RecordStore, recordKey } from ${JSON.stringify(records)};`,
                    "const [stateDir, who] = process.argv.slice(2);",
                    'const store = new RecordStore("aws", stateDir);',
                    "for (let i = 0; i < 25; i++) {",
                    "    const urn = `urn:pulumi:s::p::aws:sqs/queue:Queue::q-${who}-${i}`;",
                    '    store.add(recordKey(urn, `id-${who}-${i}`), { type: "aws:sqs/queue:Queue", name: `q-${who}-${i}`, id: `id-${who}-${i}`, urn });',
                    "    if (i % 5 === 4) store.remove(recordKey(urn, `id-${who}-${i}`));",
                    "}",
                    "",
                ].join("\n"),
            );
            const loader = require.resolve("tsx", { paths: [path.resolve(__dirname, "..", "..")] });
            const state = path.join(dir, "state");
            const runs = ["a", "b", "c", "d"].map(
                (who) =>
                    new Promise<number | null>((resolve) => {
                        const writer = spawn(process.execPath, ["--import", loader, script, state, who], { stdio: ["ignore", "ignore", "inherit"] });
                        writer.on("exit", resolve);
                    }),
            );
            assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0]);
            const alive = liveResources(state);
            assert.equal(alive.length, 4 * 20);
            assert.ok(alive.every((r) => r.provider === "aws" && r.type === "aws:sqs/queue:Queue"));
            assert.deepEqual(
                fs.readdirSync(state).filter((f) => f !== "aws.json"),
                [],
                "no lock or temporary file left",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("stand-ins: installed as plugins and served over gRPC", function () {
    this.timeout(20_000);
    let home: string;
    let child: ChildProcess | undefined;

    before(() => {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "standins-home-"));
    });
    after(() => {
        child?.kill("SIGKILL");
        fs.rmSync(home, { recursive: true, force: true });
    });

    it("install-plugins writes one launcher per resource plugin the SDKs require, nested packages included; the command and docker-build providers of the project's versions are the real binaries, linked", () => {
        const required = requiredPlugins(path.join(__dirname, "..", "..", "node_modules")).map((p) => `${p.name}@${p.version}`);
        for (const plugin of ["aws@7.48.0", "awsx@3.9.0", "command@1.2.1", "docker@4.11.2", "docker-build@0.0.22"]) assert.ok(required.includes(plugin), plugin);
        // Where e2e:tools puts the real provider; a stand-in binary here, since npm test runs before the build.
        const toolsBin = fs.mkdtempSync(path.join(home, "bin-"));
        assert.throws(() => installStandins(home, { toolsBin }), /pulumi-resource-command \(the real command provider v1\.2\.1\) is missing: run `npm run e2e:tools` first/);
        fs.writeFileSync(path.join(toolsBin, "pulumi-resource-command"), "#!/bin/sh\n", { mode: 0o755 });
        assert.throws(() => installStandins(home, { toolsBin }), /pulumi-resource-docker-build \(the real docker-build provider v0\.0\.22\) is missing: run `npm run e2e:tools` first/);
        fs.writeFileSync(path.join(toolsBin, "pulumi-resource-docker-build"), "#!/bin/sh\n", { mode: 0o755 });
        const installed = installStandins(home, { toolsBin });
        for (const [name, version] of [["command", "1.2.1"], ["docker-build", "0.0.22"]]) {
            assert.equal(installed.find((plugin) => plugin.name === name && plugin.version === version)?.real, true, name);
            assert.equal(fs.readlinkSync(path.join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`)), path.join(fs.realpathSync(toolsBin), `pulumi-resource-${name}`));
        }
        assert.deepEqual(installed.filter((plugin) => plugin.real).map((plugin) => `${plugin.name}@${plugin.version}`).sort(), ["command@1.2.1", "docker-build@0.0.22"], "only those two are real");
        // awsx's own docker-build, of another version, is no build of ours: inert.
        assert.match(fs.readFileSync(path.join(home, "plugins", "resource-docker-build-v0.0.14", "pulumi-resource-docker-build"), "utf8"), /inert\.(js|ts)' 'docker-build' "\$@"/);
        for (const plugin of installed) {
            const directory = path.join(home, "plugins", `resource-${plugin.name}-v${plugin.version}`);
            assert.equal(plugin.directory, directory);
            assert.ok(fs.statSync(path.join(directory, `pulumi-resource-${plugin.name}`)).mode & 0o100, "executable");
            assert.ok(!fs.existsSync(`${directory}.partial`));
        }
        const awsx = fs.readFileSync(path.join(home, "plugins", "resource-awsx-v3.9.0", "pulumi-resource-awsx"), "utf8");
        assert.match(awsx, /awsx\.(js|ts)' "\$@"/);
        assert.match(fs.readFileSync(path.join(home, "plugins", "resource-aws-v7.48.0", "pulumi-resource-aws"), "utf8"), /aws\.js' "\$@"/);
    });

    it("the aws launcher serves the protocol: the port on stdout, CheckConfig/Configure/Check/Create as the engine calls them", async () => {
        const state = fs.mkdtempSync(path.join(home, "state-"));
        const executable = path.join(home, "plugins", "resource-aws-v7.48.0", "pulumi-resource-aws");
        child = spawn(executable, ["127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, E2E_STANDIN_STATE: state, E2E_CALL_LOG: path.join(state, "calls.jsonl") } });
        const stdout = child.stdout!;
        const port = await new Promise<string>((resolve, reject) => {
            stdout.once("data", (data: Buffer) => resolve(data.toString()));
            child!.once("exit", (code) => reject(new Error(`the plugin exited (${String(code)})`)));
        });
        assert.match(port, /^\d+\n$/, "stdout carries the port and nothing else");
        const client = new providerrpc.ResourceProviderClient(`127.0.0.1:${port.trim()}`, grpc.credentials.createInsecure());
        const unary = <Req, Res>(method: (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req) =>
            new Promise<Res>((resolve, reject) => method.call(client, request, (error, response) => (error ? reject(error) : resolve(response))));
        try {
            const providerUrn = "urn:pulumi:region::ecs-anywhere::pulumi:providers:aws::default_7_48_0";
            const checkConfig = new providerproto.CheckRequest().setUrn(providerUrn).setOlds(Struct.fromJavaScript({})).setNews(Struct.fromJavaScript({ version: "7.48.0" }));
            const refused = await unary<providerproto.CheckRequest, providerproto.CheckResponse>(client.checkConfig, checkConfig);
            assert.match(refused.getFailuresList()[0].getReason(), /aws:region/);
            const configure = new providerproto.ConfigureRequest().setArgs(Struct.fromJavaScript({ region: REGION, version: "7.48.0" })).setAcceptsecrets(true);
            const configured = await unary<providerproto.ConfigureRequest, providerproto.ConfigureResponse>(client.configure, configure);
            assert.equal(configured.getAcceptsecrets(), true);
            const info = await new Promise<string>((resolve, reject) => client.getPluginInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r.getVersion()))));
            assert.equal(info, "7.48.0");

            const roleUrn = urn("aws:iam/role:Role", "instance");
            const checked = await unary<providerproto.CheckRequest, providerproto.CheckResponse>(
                client.check,
                new providerproto.CheckRequest().setUrn(roleUrn).setOlds(Struct.fromJavaScript({})).setNews(Struct.fromJavaScript({ assumeRolePolicy: TRUST })),
            );
            const roleInputs = checked.getInputs()!.toJavaScript();
            assert.match(String(roleInputs.name), /^instance-[0-9a-f]{7}$/);
            const role = await unary<providerproto.CreateRequest, providerproto.CreateResponse>(client.create, new providerproto.CreateRequest().setUrn(roleUrn).setProperties(Struct.fromJavaScript(roleInputs)));
            const activation = await unary<providerproto.CreateRequest, providerproto.CreateResponse>(
                client.create,
                new providerproto.CreateRequest().setUrn(urn("aws:ssm/activation:Activation", "activation")).setProperties(Struct.fromJavaScript({ iamRole: role.getId() })),
            );
            const code = activation.getProperties()!.toJavaScript().activationCode as Record<string, unknown>;
            assert.equal(code[SECRET_SIG_KEY], SECRET_SIG, "the code crosses the wire as a secret");
            const unknownType = unary<providerproto.CheckRequest, providerproto.CheckResponse>(
                client.check,
                new providerproto.CheckRequest().setUrn(urn("aws:s3/bucket:Bucket", "b")).setOlds(Struct.fromJavaScript({})).setNews(Struct.fromJavaScript({})),
            );
            await assert.rejects(unknownType, /does not know aws:s3\/bucket:Bucket/);
            assert.deepEqual(
                liveResources(state).map((r) => r.type),
                ["aws:iam/role:Role", "aws:ssm/activation:Activation"],
            );
            assert.ok(!fs.readFileSync(path.join(state, "calls.jsonl"), "utf8").includes(String(code.value)));
        } finally {
            client.close();
        }
    });
});

describe("stand-ins: ECS and SSM endpoints through the AWS SDK v3", function () {
    let api: AwsApi;
    let state: string;
    const saved: Record<string, string | undefined> = {};
    const env = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", AWS_REGION: REGION };

    before(async () => {
        state = fs.mkdtempSync(path.join(os.tmpdir(), "standins-api-"));
        // A live cluster in the aws stand-in's records, as after `pulumi up -s anywhere`.
        const aws = awsProvider({ stateDir: state, region: REGION });
        await aws.create!(urn("aws:ecs/cluster:Cluster", "cluster", "anywhere"), { name: "ecs-anywhere-anywhere" });
        api = await startAwsApi({ listen: [{ host: "127.0.0.1", port: 0 }, { host: "127.0.0.1", port: 0 }], stateDir: state });
        for (const [key, value] of Object.entries({ ...env, AWS_ENDPOINT_URL_ECS: api.urls[0], AWS_ENDPOINT_URL_SSM: api.urls[1], E2E_CALL_LOG: path.join(state, "calls.jsonl") })) {
            saved[key] = process.env[key];
            process.env[key] = value;
        }
    });
    after(async () => {
        for (const [key, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
        await api.close();
        fs.rmSync(state, { recursive: true, force: true });
    });

    it("deregisters once; the second call is the error infra/anywhere/deregister.ts takes as already gone", async () => {
        const ecs = new ECSClient({ region: REGION });
        const ssm = new SSMClient({ region: REGION });
        const containerInstance = `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/ecs-anywhere-anywhere/0123456789abcdef0123456789abcdef`;
        const first = await ecs.send(new DeregisterContainerInstanceCommand({ cluster: "ecs-anywhere-anywhere", containerInstance, force: true }));
        assert.equal(first.containerInstance?.containerInstanceArn, containerInstance);
        assert.equal(first.containerInstance?.status, "INACTIVE");
        await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: "mi-0123456789abcdef0" }));

        const ecsAgain = await ecs.send(new DeregisterContainerInstanceCommand({ cluster: "ecs-anywhere-anywhere", containerInstance, force: true })).then(
            () => undefined,
            (error: unknown) => error,
        );
        assert.ok(ecsAgain instanceof Error);
        assert.equal(ecsAgain.name, "InvalidParameterException");
        assert.ok(isAlreadyGone(ecsAgain));
        const ssmAgain = await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: "mi-0123456789abcdef0" })).then(
            () => undefined,
            (error: unknown) => error,
        );
        assert.ok(ssmAgain instanceof Error);
        assert.equal(ssmAgain.name, "InvalidInstanceId");
        assert.ok(isAlreadyGone(ssmAgain));

        const noCluster = await ecs.send(new DeregisterContainerInstanceCommand({ cluster: "elsewhere", containerInstance: "abc" })).catch((error: Error) => error);
        assert.equal((noCluster as Error).name, "ClusterNotFoundException");
        const badId = await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: "i-123" })).catch((error: Error) => error);
        assert.equal((badId as Error).name, "ValidationException");
        assert.ok(!isAlreadyGone(badId), "a malformed id is not 'already gone'");
        const unknown = await ecs.send(new ListClustersCommand({})).catch((error: Error) => error);
        assert.equal((unknown as Error).name, "UnknownOperationException");
        assert.match((unknown as Error).message, /ListClusters/);

        const calls = readCallLog(path.join(state, "calls.jsonl")).filter((c) => c.operation === "api");
        assert.deepEqual(
            calls.map((c) => `${c.provider} ${c.type} ${c.result === "ok" ? "ok" : String(c.result).split(":")[0]}`),
            [
                "ecs-api DeregisterContainerInstance ok",
                "ssm-api DeregisterManagedInstance ok",
                "ecs-api DeregisterContainerInstance InvalidParameterException",
                "ssm-api DeregisterManagedInstance InvalidInstanceId",
                "ecs-api DeregisterContainerInstance ClusterNotFoundException",
                "ssm-api DeregisterManagedInstance ValidationException",
                "ecs-api ListClusters UnknownOperationException",
            ],
        );
    });

    it("answers GET and HEAD with a Date header (the hosts' preflight reads the clock from it)", async () => {
        const root = await fetch(`${api.urls[0]}/`);
        assert.equal(root.status, 200);
        assert.ok(Math.abs(Date.parse(root.headers.get("date") ?? "") - Date.now()) < 5000);
        const head = await fetch(`${api.urls[1]}/ping`, { method: "HEAD" });
        assert.equal(head.status, 404);
        assert.ok(head.headers.get("date"));
    });
});

describe("stand-ins: STS, and the deregistration's account check, through the AWS SDK v3", function () {
    this.timeout(60_000);
    const OTHER_ACCOUNT = "210987654321";
    const arn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/ecs-anywhere-anywhere/${id}`;
    let hostsAccount: AwsApi;
    let otherAccount: AwsApi;
    let dir: string;
    let log: string;
    const saved: Record<string, string | undefined> = {};
    const setEnv = (values: Record<string, string | undefined>) => {
        for (const [key, value] of Object.entries(values)) {
            if (!(key in saved)) saved[key] = process.env[key];
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
    };
    /** The stand-ins' API calls since `from`, as `provider type outcome`. */
    const apiCalls = (from = 0) =>
        readCallLog(log)
            .filter((c) => c.operation === "api")
            .slice(from)
            .map((c) => `${c.provider} ${c.type} ${c.result === "ok" ? "ok" : String(c.result).split(":")[0]}`);
    const endpoints = (api: AwsApi) => ({ AWS_ENDPOINT_URL_ECS: api.urls[0], AWS_ENDPOINT_URL_SSM: api.urls[0], AWS_ENDPOINT_URL_STS: api.urls[0] });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-sts-"));
        log = path.join(dir, "calls.jsonl");
        // The hosts' cluster, alive in the aws stand-in's records.
        await awsProvider({ stateDir: dir, region: REGION }).create!(urn("aws:ecs/cluster:Cluster", "cluster", "anywhere"), { name: "ecs-anywhere-anywhere" });
        hostsAccount = await startAwsApi({ listen: [{ host: "127.0.0.1", port: 0 }], stateDir: dir });
        otherAccount = await startAwsApi({ listen: [{ host: "127.0.0.1", port: 0 }], stateDir: dir, callerAccount: OTHER_ACCOUNT });
        // As the sandbox has it: fake keys, no profile or shared files, no instance metadata.
        setEnv({
            AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
            AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            AWS_REGION: REGION,
            AWS_CONFIG_FILE: "/dev/null",
            AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
            AWS_EC2_METADATA_DISABLED: "true",
            E2E_CALL_LOG: log,
            ...endpoints(hostsAccount),
        });
    });
    after(async () => {
        setEnv(saved);
        await Promise.all([hostsAccount.close(), otherAccount.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("GetCallerIdentity answers the hosts' account, or the one it is told; AssumeRole's keys act in the role's account", async () => {
        const identity = await new STSClient({ region: REGION }).send(new GetCallerIdentityCommand({}));
        assert.equal(identity.Account, ACCOUNT_ID);
        assert.equal(identity.Arn, `arn:aws:iam::${ACCOUNT_ID}:user/e2e-standin`);
        assert.match(identity.UserId ?? "", /^AIDA[0-9A-F]{17}$/);

        const elsewhere = await new STSClient({ region: REGION, endpoint: otherAccount.urls[0] }).send(new GetCallerIdentityCommand({}));
        assert.equal(elsewhere.Account, OTHER_ACCOUNT);

        const credentials = fromTemporaryCredentials({ params: { RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/ops/deployer`, RoleSessionName: "standin-test", DurationSeconds: 900 }, clientConfig: { region: REGION } });
        const assumed = await new STSClient({ region: REGION, credentials }).send(new GetCallerIdentityCommand({}));
        assert.equal(assumed.Account, OTHER_ACCOUNT);
        assert.equal(assumed.Arn, `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/deployer/standin-test`);
        assert.match(assumed.UserId ?? "", /^AROA[0-9A-F]{17}:standin-test$/);

        const badRole = await fromTemporaryCredentials({ params: { RoleArn: "deployer", RoleSessionName: "x1" }, clientConfig: { region: REGION } })().catch((error: Error) => error);
        assert.equal((badRole as Error).name, "ValidationError");
        const unknown = await new STSClient({ region: REGION }).send(new GetSessionTokenCommand({})).catch((error: Error) => error);
        assert.equal((unknown as Error).name, "InvalidAction");
        assert.match((unknown as Error).message, /GetSessionToken/);
        assert.deepEqual(apiCalls(), [
            "sts-api GetCallerIdentity ok",
            "sts-api GetCallerIdentity ok",
            "sts-api AssumeRole ok",
            "sts-api GetCallerIdentity ok",
            "sts-api AssumeRole ValidationError",
            "sts-api GetSessionToken InvalidAction",
        ]);
    });

    it("the deregistration in another account refuses before ECS and SSM, which would say 'not found'; a role in the hosts' account makes it deregister", async () => {
        const target = { region: REGION, cluster: "ecs-anywhere-anywhere", containerInstanceArn: arn("11111111111111111111111111111111"), managedInstanceId: "mi-01111111111111111" };
        // The credentials of the other account: its ECS and SSM know none of the hosts.
        const other = new ECSClient({ region: REGION, endpoint: otherAccount.urls[0] });
        const notFound = await other.send(new DeregisterContainerInstanceCommand({ cluster: target.cluster, containerInstance: target.containerInstanceArn, force: true })).catch((error: Error) => error);
        assert.ok(isAlreadyGone(notFound), "without the check, this would count as already gone");

        const from = apiCalls().length;
        const wrong = { endpoints: { ecs: otherAccount.urls[0], ssm: otherAccount.urls[0], sts: otherAccount.urls[0] } };
        await assert.rejects(deregisterHost(sdkDeregistrationApi(REGION, wrong), target, wrong), new RegExp(`registered in AWS account ${ACCOUNT_ID} .* are of account ${OTHER_ACCOUNT}`));
        assert.deepEqual(apiCalls(from), ["sts-api GetCallerIdentity ok"]);

        const viaRole = { ...wrong, assumeRoles: [{ roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/deployer` }] };
        assert.deepEqual(await deregisterHost(sdkDeregistrationApi(REGION, viaRole), target, viaRole), { ecs: "deregistered", ssm: "deregistered" });
        assert.deepEqual(apiCalls(from + 1), ["sts-api AssumeRole ok", "sts-api GetCallerIdentity ok", "ecs-api DeregisterContainerInstance ok", "ssm-api DeregisterManagedInstance ok"]);
        assert.deepEqual(await deregisterHost(sdkDeregistrationApi(REGION, viaRole), target, viaRole), { ecs: "already-gone", ssm: "already-gone" }, "after the check, not found is gone");
    });

    it("the provider's delete, serialized as Pulumi stores it, deregisters with the endpoints of the environment (as in the sandbox)", async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => hostRegistrationProvider, { allowSecrets: true });
        const provider = loadSerializedProvider(text);
        const props = { region: REGION, cluster: "ecs-anywhere-anywhere", containerInstanceArn: arn("22222222222222222222222222222222"), managedInstanceId: "mi-02222222222222222", aws: {} };
        const from = apiCalls().length;
        await provider.delete!("ecs-anywhere-anywhere/mi-02222222222222222", props);
        assert.deepEqual(apiCalls(from), ["sts-api GetCallerIdentity ok", "ecs-api DeregisterContainerInstance ok", "ssm-api DeregisterManagedInstance ok"]);

        // The sandbox's E2E_STS_ACCOUNT: the stand-in answers another account, and the destroy refuses.
        setEnv(endpoints(otherAccount));
        try {
            await assert.rejects(provider.delete!("ecs-anywhere-anywhere/mi-02222222222222222", props), /refusing to deregister host/);
        } finally {
            setEnv(endpoints(hostsAccount));
        }
        assert.deepEqual(apiCalls(from + 3), ["sts-api GetCallerIdentity ok"]);
    });
});

describe("stand-ins: what the hosts' agents register (SSM RegisterManagedInstance, ECS RegisterContainerInstance)", function () {
    this.timeout(30_000);
    let dir: string;
    let api: AwsApi;
    let activationId: string;
    let code: string;
    /** One AWS JSON 1.1 call as the agents make it: unsigned (SSM), or with the managed instance as the access key (ECS). */
    async function call(target: string, body: Record<string, unknown>, accessKey?: string): Promise<{ status: number; body: Record<string, unknown> }> {
        const response = await fetch(`${api.urls[0]}/`, {
            method: "POST",
            headers: {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": target,
                ...(accessKey ? { authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/20260101/${REGION}/ecs/aws4_request, SignedHeaders=host, Signature=0` } : {}),
            },
            body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }
    const register = (activation: string, activationCode: string) =>
        call("AmazonSSM.RegisterManagedInstance", { ActivationId: activation, ActivationCode: activationCode, PublicKey: "MIIBIjANBg", PublicKeyType: "Rsa", Fingerprint: "f" });
    const errorOf = (answer: { body: Record<string, unknown> }) => String(answer.body.__type).split("#").pop();

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-registrations-"));
        const provider = awsProvider({ stateDir: dir, region: REGION });
        await provider.create!(urn("aws:ecs/cluster:Cluster", "cluster", "anywhere"), { name: "ecs-anywhere-anywhere" });
        await provider.create!(urn("aws:iam/role:Role", "role", "anywhere"), { name: "role", assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) });
        const created = await provider.create!(urn("aws:ssm/activation:Activation", "activation", "anywhere"), { iamRole: "role", registrationLimit: 1 });
        activationId = created.id;
        const outs = created.outs as PropertyMap;
        code = String(isSecret(outs.activationCode) ? outs.activationCode.value : outs.activationCode);
        api = await startAwsApi({ listen: [{ host: "127.0.0.1", port: 0 }], stateDir: dir });
    });
    after(async () => {
        await api?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("SSM takes a registration only with the activation's id and code, up to its limit, and records it; its records hold no code", async () => {
        assert.equal(errorOf(await register("0f3c2b1a-1111-2222-3333-444455556666", code)), "InvalidActivationId");
        assert.equal(errorOf(await register(activationId, `${code}x`)), "InvalidActivation");
        const ok = await register(activationId, code);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        const instance = String(ok.body.InstanceId);
        assert.match(instance, /^mi-[0-9a-f]{17}$/);
        assert.deepEqual(
            liveResources(dir).filter((r) => r.provider === "ssm-api"),
            [{ provider: "ssm-api", type: "ssm:managedInstance", name: instance, id: instance }],
        );
        assert.equal(errorOf(await register(activationId, code)), "RegistrationLimitExceeded");
        assert.ok(!fs.readdirSync(dir).some((file) => fs.readFileSync(path.join(dir, file), "utf8").includes(code)), "a record holds the activation code");
        // Deregistered, it leaves the records, and still counts against the activation's limit.
        const ssm = new SSMClient({ region: REGION, endpoint: api.urls[0], credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" } });
        await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: instance }));
        assert.deepEqual(liveResources(dir).filter((r) => r.provider === "ssm-api"), []);
        assert.equal(errorOf(await register(activationId, code)), "RegistrationLimitExceeded");
    });

    it("ECS registers a container instance of a known cluster for a registered managed instance only, and records it with the instance", async () => {
        const provider = awsProvider({ stateDir: dir, region: REGION });
        const more = await provider.create!(urn("aws:ssm/activation:Activation", "activation2", "anywhere"), { iamRole: "role", registrationLimit: 2 });
        const moreOuts = more.outs as PropertyMap;
        const instance = String((await register(more.id, String(isSecret(moreOuts.activationCode) ? moreOuts.activationCode.value : moreOuts.activationCode))).body.InstanceId);
        const target = "AmazonEC2ContainerServiceV20141113.RegisterContainerInstance";
        assert.equal(errorOf(await call(target, { cluster: "no-such-cluster" }, instance)), "ClusterNotFoundException");
        assert.equal(errorOf(await call(target, { cluster: "ecs-anywhere-anywhere" }, "mi-00000000000000000")), "AccessDeniedException");
        const ok = await call(target, { cluster: "ecs-anywhere-anywhere" }, instance);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        const arn = String((ok.body.containerInstance as Record<string, unknown>).containerInstanceArn);
        assert.match(arn, new RegExp(`^arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/ecs-anywhere-anywhere/[0-9a-f]{32}$`));
        const records = JSON.parse(fs.readFileSync(path.join(dir, "ecs-api.json"), "utf8")) as Record<string, { id: string; outputs: Record<string, unknown> }>;
        assert.deepEqual(
            Object.values(records).map((r) => [r.id, r.outputs.cluster, r.outputs.ec2InstanceId]),
            [[arn, "ecs-anywhere-anywhere", instance]],
        );
        const ecs = new ECSClient({ region: REGION, endpoint: api.urls[0], credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" } });
        await ecs.send(new DeregisterContainerInstanceCommand({ cluster: "ecs-anywhere-anywhere", containerInstance: arn }));
        assert.deepEqual(liveResources(dir).filter((r) => r.provider === "ecs-api"), []);
    });

    it("the activation's code digest stays in the records: a read returns the outputs without it", async () => {
        const provider = awsProvider({ stateDir: dir, region: REGION });
        const read = await provider.read!(activationId, urn("aws:ssm/activation:Activation", "activation", "anywhere"), {});
        assert.ok(!("activationCodeSha256" in (read.props ?? {})), JSON.stringify(Object.keys(read.props ?? {})));
    });
});
