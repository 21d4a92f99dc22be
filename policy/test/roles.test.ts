/** The roles the worker and the hosts act with, read as policy: no reach into an AWS data store. */
import * as assert from "node:assert/strict";
import { dataStoreReach } from "../data-stores";
import { dataStoreGrants, trustedServices } from "../iam";
import { workerRolesNoDataStoreAccess } from "../roles";
import { allow, trust, WORKER_QUEUE_POLICY } from "./fixtures";
import { runStackPolicy, UNKNOWN, type TestResource } from "./run";

const rule = workerRolesNoDataStoreAccess();

const role = (name: string, service: string, props: Record<string, unknown> = {}): TestResource => ({
    type: "aws:iam/role:Role",
    name,
    props: { assumeRolePolicy: trust(service), name: `${name}-1a2b3c`, ...props },
});
const rolePolicy = (name: string, roleName: string, policy: string): TestResource => ({
    type: "aws:iam/rolePolicy:RolePolicy",
    name,
    props: { role: `${roleName}-1a2b3c`, policy },
    dependsOn: { role: [roleName] },
});
const attachment = (name: string, roleName: string, policyArn: string, dependsOn: Record<string, string[]> = {}): TestResource => ({
    type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    name,
    props: { role: `${roleName}-1a2b3c`, policyArn },
    dependsOn: { role: [roleName], ...dependsOn },
});

/** The region stack's two roles as infra/region/roles.ts makes them, exec switched on. */
const regionRoles = (): TestResource[] => [
    role("task", "ecs-tasks.amazonaws.com"),
    rolePolicy("task-queue", "task", WORKER_QUEUE_POLICY),
    rolePolicy("task-exec", "task", allow(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"])),
    role("execution", "ecs-tasks.amazonaws.com"),
    rolePolicy("execution-policy", "execution", JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            { Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], Resource: "arn:aws:ecr:eu-west-1:123456789012:repository/r" },
            { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/x:*" },
        ],
    })),
];

/** The anywhere stack's instance role as infra/anywhere/index.ts makes it. */
const hostRole = (): TestResource[] => [
    role("instance", "ssm.amazonaws.com"),
    attachment("instance-ssm", "instance", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
    attachment("instance-ecs", "instance", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
];

describe("worker-roles-no-data-store-access", () => {
    it("passes the region's task and execution roles: the queue, ECS Exec channels, the image, the logs", async () => {
        assert.deepEqual((await runStackPolicy(rule, regionRoles())).violations, []);
    });

    it("passes the hosts' instance role: the two AWS-managed policies the pack knows", async () => {
        assert.deepEqual((await runStackPolicy(rule, hostRole())).violations, []);
    });

    it("refuses s3:* on the task role, naming the role and the policy's URN", async () => {
        const resources = [...regionRoles(), rolePolicy("task-archive", "task", allow("s3:*", "arn:aws:s3:::personal-data/*"))];
        const { violations, urns } = await runStackPolicy(rule, resources);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /role `task` \(assumed by ecs-tasks.amazonaws.com\): role policy `task-archive`: `s3:\*` reaches s3/);
        assert.equal(urns[0], "urn:pulumi:test::ecs-anywhere::aws:iam/rolePolicy:RolePolicy::task-archive");
    });

    const grants: [string, RegExp][] = [
        ["*", /`\*` grants every action/],
        ["elasticfilesystem:ClientWrite", /reaches elasticfilesystem/],
        ["dynamodb:PutItem", /reaches dynamodb/],
        ["rds-data:ExecuteStatement", /reaches rds-data/],
        ["s*:Put*", /reaches .*s3/],
        ["ec2:CreateVolume", /EC2 block storage/],
        ["ec2:*", /EC2 block storage/],
    ];
    for (const [action, why] of grants) {
        it(`refuses ${action} on the task role`, async () => {
            const { violations } = await runStackPolicy(rule, [...regionRoles(), rolePolicy("extra", "task", allow(action))]);
            assert.equal(violations.length, 1, violations.join("\n"));
            assert.match(violations[0], why);
        });
    }

    it("refuses an Allow with NotAction", async () => {
        const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }] });
        assert.match((await runStackPolicy(rule, [...regionRoles(), rolePolicy("extra", "task", policy)])).violations.join("\n"), /NotAction/);
    });

    it("ignores Deny statements", async () => {
        const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "s3:*", Resource: "*" }] });
        assert.deepEqual((await runStackPolicy(rule, [...regionRoles(), rolePolicy("extra", "task", policy)])).violations, []);
    });

    it("refuses the grant wherever the role is defined: inline, managed ARNs, an attached policy of the stack", async () => {
        const resources: TestResource[] = [
            role("inline", "ecs-tasks.amazonaws.com", { inlinePolicies: [{ name: "archive", policy: allow("s3:PutObject") }] }),
            role("managed", "ecs-tasks.amazonaws.com", { managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3FullAccess"] }),
            role("attached", "ssm.amazonaws.com"),
            { type: "aws:iam/policy:Policy", name: "dump", props: { arn: "arn:aws:iam::123456789012:policy/dump", policy: allow("dynamodb:*") } },
            attachment("attached-dump", "attached", "arn:aws:iam::123456789012:policy/dump", { policyArn: ["dump"] }),
        ];
        const violations = (await runStackPolicy(rule, resources)).violations.join("\n");
        assert.match(violations, /role `inline` .*inline policy #1: `s3:PutObject` reaches s3/);
        assert.match(violations, /role `managed` .*attaches arn:aws:iam::aws:policy\/AmazonS3FullAccess, which this pack cannot read/);
        assert.match(violations, /role `attached` \(assumed by ssm.amazonaws.com\): policy `dump`: `dynamodb:\*` reaches dynamodb/);
    });

    it("refuses an attached policy from outside the stack: it cannot be read", async () => {
        const resources = [...hostRole(), attachment("instance-other", "instance", "arn:aws:iam::123456789012:policy/elsewhere")];
        assert.match((await runStackPolicy(rule, resources)).violations.join("\n"), /attaches arn:aws:iam::123456789012:policy\/elsewhere, which this pack cannot read/);
    });

    it("finds a role's policy by the role's name when the engine recorded no dependency", async () => {
        const orphan: TestResource = { type: "aws:iam/rolePolicy:RolePolicy", name: "by-name", props: { role: "task-1a2b3c", policy: allow("s3:GetObject") } };
        assert.match((await runStackPolicy(rule, [...regionRoles(), orphan])).violations.join("\n"), /role policy `by-name`/);
    });

    it("leaves alone roles that neither ECS tasks nor the hosts assume", async () => {
        const resources = [role("ci", "codebuild.amazonaws.com"), rolePolicy("ci-artifacts", "ci", allow("s3:*"))];
        const outcome = await runStackPolicy(rule, resources);
        assert.deepEqual(outcome.violations, []);
        assert.match(outcome.notApplicable ?? "", /no role that ECS tasks or the hosts assume/);
    });

    it("checks a policy a preview does not know yet at `pulumi up`, not before", async () => {
        const outcome = await runStackPolicy(rule, [...regionRoles(), rolePolicy("later", "task", UNKNOWN)]);
        assert.deepEqual(outcome.violations, []);
        assert.equal(outcome.unknown, undefined);
    });
});

describe("IAM documents", () => {
    it("reads the services a trust policy admits", () => {
        assert.deepEqual(trustedServices(trust("ecs-tasks.amazonaws.com")), ["ecs-tasks.amazonaws.com"]);
        assert.deepEqual(trustedServices({ Statement: { Effect: "Allow", Principal: { Service: ["a", "b"] } } }), ["a", "b"]);
        assert.deepEqual(trustedServices("not json"), []);
    });

    it("reports a document it cannot read", () => {
        assert.deepEqual(dataStoreGrants("{"), ["the policy document is not valid JSON"]);
    });

    it("does not mistake neighbouring services for data stores", () => {
        for (const action of ["sqs:*", "ssmmessages:OpenDataChannel", "ec2messages:GetMessages", "ec2:DescribeTags", "ecr:BatchGetImage", "logs:PutLogEvents", "ecs:Submit*"]) {
            assert.equal(dataStoreReach(action), undefined, action);
        }
    });
});
