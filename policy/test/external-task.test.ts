/** The task that runs on the hosts, read as policy: host folders only, no file names in logs, no data-store references. */
import * as assert from "node:assert/strict";
import { externalTaskFileNamesHiddenInLogs, externalTaskHostVolumesOnly, externalTaskNoDataStoreReferences } from "../external-task";
import { externalTask, fargateTask, hostContainer } from "./fixtures";
import { runResourcePolicy, UNKNOWN } from "./run";

describe("external-task-host-volumes-only", () => {
    const rule = externalTaskHostVolumesOnly("anywhere");

    it("passes the program's task: the host's data folder at /data", async () => {
        assert.deepEqual((await runResourcePolicy(rule, externalTask())).violations, []);
    });

    it("refuses an EFS volume on the external task", async () => {
        const task = externalTask({ volumes: [{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", transitEncryption: "ENABLED" } }] });
        const { violations } = await runResourcePolicy(rule, task);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /volume `data` is an EFS file system: .*use `hostPath`/);
    });

    it("refuses FSx, EBS at launch and Docker-driver volumes", async () => {
        const task = externalTask({
            volumes: [
                { name: "data", hostPath: "/data" },
                { name: "fsx", fsxWindowsFileServerVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef1", rootDirectory: "\\", authorizationConfig: { credentialsParameter: "x", domain: "y" } } },
                { name: "ebs", configureAtLaunch: true },
                { name: "nfs", dockerVolumeConfiguration: { driver: "local", driverOpts: { type: "nfs", o: "addr=10.0.0.1" } } },
            ],
        });
        const { violations } = await runResourcePolicy(rule, task);
        assert.equal(violations.length, 3, violations.join("\n"));
        assert.match(violations.join("\n"), /`fsx` is an FSx file system/);
        assert.match(violations.join("\n"), /`ebs` is an EBS volume attached at launch/);
        assert.match(violations.join("\n"), /`nfs` is a Docker volume/);
    });

    it("refuses a volume without an absolute host path", async () => {
        const { violations } = await runResourcePolicy(rule, externalTask({ volumes: [{ name: "data", hostPath: "data" }] }));
        assert.match(violations.join("\n"), /volume `data` has no absolute `hostPath`/);
    });

    it("refuses a mount of a volume that is not a host folder", async () => {
        const containers = [hostContainer((c) => (c.mountPoints = [{ sourceVolume: "scratch", containerPath: "/scratch", readOnly: false }]))];
        const { violations } = await runResourcePolicy(rule, externalTask({}, containers));
        assert.match(violations.join("\n"), /container `worker` mounts `scratch` at \/scratch, which is not one of the host's folders/);
    });

    it("applies to an EXTERNAL task in any stack, and to every task of an anywhere stack", async () => {
        const efs = { volumes: [{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0" } }] };
        assert.equal((await runResourcePolicy(externalTaskHostVolumesOnly("region"), externalTask(efs))).violations.length, 1);
        assert.equal((await runResourcePolicy(rule, externalTask({ ...efs, requiresCompatibilities: ["EC2"] }))).violations.length, 1);
    });

    it("does not apply to the region's Fargate task (EFS by design)", async () => {
        const outcome = await runResourcePolicy(externalTaskHostVolumesOnly("region"), fargateTask());
        assert.deepEqual(outcome.violations, []);
        assert.match(outcome.notApplicable ?? "", /not a task that runs on the hosts/);
    });

    it("does not apply to other resource types", async () => {
        const outcome = await runResourcePolicy(rule, { type: "aws:ecs/cluster:Cluster", name: "cluster", props: {} });
        assert.match(outcome.notApplicable ?? "", /TaskDefinition/);
    });
});

describe("external-task-file-names-hidden-in-logs", () => {
    const rule = externalTaskFileNamesHiddenInLogs("anywhere");

    for (const mode of ["hash", "off"] as const) {
        it(`passes LOG_FILE_NAMES=${mode}`, async () => {
            const task = externalTask({}, [hostContainer(() => undefined, { logFileNames: mode })]);
            assert.deepEqual((await runResourcePolicy(rule, task)).violations, []);
        });
    }

    it("refuses LOG_FILE_NAMES=plain on hosts", async () => {
        const task = externalTask({}, [hostContainer(() => undefined, { logFileNames: "plain" })]);
        const { violations } = await runResourcePolicy(rule, task);
        assert.equal(violations.length, 1);
        assert.match(violations[0], /container `worker` sets LOG_FILE_NAMES=plain: the logs leave the site, so file names must be hash or off/);
    });

    it("refuses a container that does not set LOG_FILE_NAMES (the worker's default is plain)", async () => {
        const task = externalTask({}, [hostContainer((c) => (c.environment = (c.environment as { name: string }[]).filter((v) => v.name !== "LOG_FILE_NAMES")))]);
        assert.match((await runResourcePolicy(rule, task)).violations.join("\n"), /does not set LOG_FILE_NAMES/);
    });

    it("refuses container definitions it cannot read", async () => {
        const task = externalTask({ containerDefinitions: "not json" });
        assert.match((await runResourcePolicy(rule, task)).violations.join("\n"), /not a JSON array/);
    });

    it("lets the region's Fargate task log plain names (they stay in the region)", async () => {
        assert.ok((await runResourcePolicy(externalTaskFileNamesHiddenInLogs("region"), fargateTask())).notApplicable);
    });

    it("waits for `pulumi up` when a preview does not know the container definitions yet", async () => {
        const outcome = await runResourcePolicy(rule, externalTask({ containerDefinitions: UNKNOWN }));
        assert.deepEqual(outcome.violations, []);
        assert.match(outcome.unknown ?? "", /containerDefinitions/);
    });
});

describe("external-task-no-data-store-references", () => {
    const rule = externalTaskNoDataStoreReferences("anywhere");
    const withEnvironment = (name: string, value: string) =>
        externalTask({}, [hostContainer((c) => (c.environment = [...(c.environment as unknown[]), { name, value }]))]);

    it("passes the program's task: the queue URL, the region, folders under /data, awslogs", async () => {
        assert.deepEqual((await runResourcePolicy(rule, externalTask())).violations, []);
    });

    const references: [string, string, RegExp][] = [
        ["ARCHIVE", "s3://personal-data/archive/", /object-store URL/],
        ["TARGET", "arn:aws:s3:::personal-data", /ARN of a data store/],
        ["TARGET", "arn:aws:dynamodb:eu-west-1:123456789012:table/files", /ARN of a data store/],
        ["NFS_HOST", "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com", /data-store endpoint/],
        ["DATABASE_URL", "postgres://app@files.abc123.eu-west-1.rds.amazonaws.com/files", /data-store endpoint/],
        ["FILE_SYSTEM", "fs-0123456789abcdef0", /file-system, volume or snapshot id/],
        ["S3_BUCKET", "personal-data", /name names a data store/],
        ["AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000", /name names a data store/],
    ];
    for (const [name, value, why] of references) {
        it(`refuses ${name}=${value}`, async () => {
            const { violations } = await runResourcePolicy(rule, withEnvironment(name, value));
            assert.equal(violations.length, 1, violations.join("\n"));
            assert.match(violations[0], new RegExp(`environment variable ${name} points at an AWS data store`));
            assert.match(violations[0], why);
        });
    }

    it("refuses a secret read from a data store, environment files (read from S3), FireLens and other log drivers", async () => {
        const task = externalTask({}, [
            hostContainer((c) => {
                c.secrets = [{ name: "KEY", valueFrom: "arn:aws:s3:::personal-data/key" }];
                c.environmentFiles = [{ value: "arn:aws:s3:::personal-data/worker.env", type: "s3" }];
                c.logConfiguration = { logDriver: "awsfirelens", options: {} };
            }),
            hostContainer((c) => {
                c.name = "log-router";
                c.firelensConfiguration = { type: "fluentbit" };
            }),
        ]);
        const violations = (await runResourcePolicy(rule, task)).violations.join("\n");
        assert.match(violations, /secret KEY points at an AWS data store/);
        assert.match(violations, /has environment files: ECS reads them from S3/);
        assert.match(violations, /logs with `awsfirelens`/);
        assert.match(violations, /container `log-router` is a FireLens log router/);
    });

    it("does not apply to the region's Fargate task", async () => {
        assert.ok((await runResourcePolicy(externalTaskNoDataStoreReferences("region"), fargateTask())).notApplicable);
    });
});
