/** What an anywhere stack may create, read as policy. */
import * as assert from "node:assert/strict";
import { anywhereAllowedResourceTypes, anywhereNoAwsDataStores } from "../anywhere";
import { isDataStoreType } from "../data-stores";
import { kindOf } from "../stack";
import { externalTask } from "./fixtures";
import { runResourcePolicy } from "./run";

describe("anywhere-allowed-resource-types", () => {
    const rule = anywhereAllowedResourceTypes("anywhere");
    const resource = (type: string, props: Record<string, unknown> = {}) => ({ type, name: "ecs-anywhere-anywhere-x", props });

    const allowed = [
        "aws:ecs/cluster:Cluster",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:ssm/activation:Activation",
        "command:remote:Command",
        "aws:ecs/service:Service",
        "pulumi:pulumi:Stack",
        "pulumi:pulumi:StackReference",
        "pulumi:providers:aws",
        "ecs-anywhere:region:Anything",
    ];
    for (const type of allowed) {
        it(`passes ${type}`, async () => {
            assert.deepEqual((await runResourcePolicy(rule, resource(type))).violations, []);
        });
    }

    it("passes the program's task definition", async () => {
        assert.deepEqual((await runResourcePolicy(rule, externalTask())).violations, []);
    });

    it("passes the hosts' registration (a dynamic resource known by its inputs)", async () => {
        const registration = resource("pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration", { __provider: "exports.handler = ...", region: "eu-west-1", cluster: "c", containerInstanceArn: "arn", managedInstanceId: "mi-0", aws: { profile: "ops" } });
        assert.deepEqual((await runResourcePolicy(rule, registration)).violations, []);
    });

    it("passes the activation code sealed to a host (a dynamic resource known by its inputs)", async () => {
        const sealed = resource("pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode", { __provider: "exports.handler = ...", publicKey: "MIIB", activationId: "0f3c", activationCode: "secret" });
        assert.deepEqual((await runResourcePolicy(rule, sealed)).violations, []);
    });

    it("refuses another dynamic resource: its code could send the files anywhere", async () => {
        const upload = resource("pulumi-nodejs:dynamic:Resource", { bucket: "personal-data", folder: "/data" });
        assert.match((await runResourcePolicy(rule, upload)).violations.join("\n"), /`pulumi-nodejs:dynamic:Resource` is not on the list/);
        const disguised = resource("pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration", { bucket: "personal-data", region: "eu-west-1" });
        assert.match((await runResourcePolicy(rule, disguised)).violations.join("\n"), /dynamic resource with inputs `bucket` is not the hosts' registration/);
        const sealedUpload = resource("pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode", { publicKey: "MIIB", folder: "/data" });
        assert.match((await runResourcePolicy(rule, sealedUpload)).violations.join("\n"), /dynamic resource with inputs `folder` is not the activation code sealed to a host/);
    });

    for (const type of ["aws:sqs/queue:Queue", "aws:lambda/function:Function", "aws:efs/fileSystem:FileSystem"]) {
        it(`refuses ${type}, which is not on the list`, async () => {
            const { violations } = await runResourcePolicy(rule, resource(type));
            assert.equal(violations.length, 1);
            assert.match(violations[0], new RegExp(`\`${type}\` is not on the list of what an anywhere stack creates`));
        });
    }

    it("does not apply to region stacks", async () => {
        const outcome = await runResourcePolicy(anywhereAllowedResourceTypes("region"), resource("aws:efs/fileSystem:FileSystem"));
        assert.deepEqual(outcome.violations, []);
        assert.equal(outcome.notApplicable, "applies to anywhere stacks");
    });
});

describe("anywhere-no-aws-data-stores", () => {
    const rule = anywhereNoAwsDataStores("anywhere");

    for (const type of ["aws:ecs/cluster:Cluster", "aws:ssm/activation:Activation", "command:remote:Command", "aws:sqs/queue:Queue"]) {
        it(`passes ${type} (stores no files)`, async () => {
            assert.deepEqual((await runResourcePolicy(rule, { type, name: "x", props: {} })).violations, []);
        });
    }

    const stores = [
        "aws:efs/fileSystem:FileSystem",
        "aws:efs/mountTarget:MountTarget",
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:dynamodb/table:Table",
        "aws:rds/instance:Instance",
        "aws:ebs/volume:Volume",
        "aws:ec2/volumeAttachment:VolumeAttachment",
        "aws:fsx/lustreFileSystem:LustreFileSystem",
        "aws:backup/vault:Vault",
        "aws-native:s3:Bucket",
    ];
    for (const type of stores) {
        it(`refuses ${type}`, async () => {
            const { violations } = await runResourcePolicy(rule, { type, name: "x", props: {} });
            assert.equal(violations.length, 1);
            assert.match(violations[0], /stores data in AWS: in an anywhere stack the files stay on the hosts/);
        });
    }

    it("knows a data store by its provider module, not by its name", () => {
        assert.equal(isDataStoreType("aws:ecs/taskDefinition:TaskDefinition"), false);
        assert.equal(isDataStoreType("mycorp:s3/bucket:Bucket"), false);
    });

    it("does not apply to region stacks (EFS holds the in-region files by design)", async () => {
        assert.ok((await runResourcePolicy(anywhereNoAwsDataStores("region"), { type: "aws:efs/fileSystem:FileSystem", name: "fs", props: {} })).notApplicable);
    });
});

describe("stack kind, as the program reads it", () => {
    it("knows region and anywhere stacks by name, fully qualified or not", () => {
        assert.equal(kindOf("region"), "region");
        assert.equal(kindOf("region-eu"), "region");
        assert.equal(kindOf("anywhere"), "anywhere");
        assert.equal(kindOf("org/ecs-anywhere/anywhere-berlin"), "anywhere");
    });

    it("gives no kind for a name the program refuses", () => {
        assert.equal(kindOf("production"), undefined);
    });
});
