/** The hosts' role and the activation, read as policy: what a stolen host or a leaked code can reach. */
import * as assert from "node:assert/strict";
import { clusterScope, hostAgentsPolicy, instanceTrustPolicy } from "../../infra/anywhere/instance-role";
import { activationBounded } from "../activation";
import { hostsRoleLeastPrivilege, hostsRoleNoParameterStore, hostsRoleTrustBound } from "../hosts-role";
import { runStackPolicy, type TestResource } from "./run";

const CLUSTER_ARN = "arn:aws:ecs:eu-west-1:123456789012:cluster/ecs-anywhere-anywhere";
const scope = clusterScope(CLUSTER_ARN);
const CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
const ECS_FOR_EC2 = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";

const role = (assumeRolePolicy: unknown = instanceTrustPolicy(scope)): TestResource => ({
    type: "aws:iam/role:Role",
    name: "instance",
    props: { name: "instance-1a2b3c", assumeRolePolicy: JSON.stringify(assumeRolePolicy) },
});
const rolePolicy = (policy: unknown, name = "instance-agents"): TestResource => ({
    type: "aws:iam/rolePolicy:RolePolicy",
    name,
    props: { role: "instance-1a2b3c", policy: JSON.stringify(policy) },
    dependsOn: { role: ["instance"] },
});
const attachment = (policyArn: string, name = "instance-managed"): TestResource => ({
    type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    name,
    props: { role: "instance-1a2b3c", policyArn },
    dependsOn: { role: ["instance"] },
});
/** The hosts' role exactly as infra/anywhere/index.ts makes it. */
const programRole = (ssmRemoteAccess = false): TestResource[] => [role(), rolePolicy(hostAgentsPolicy(scope, { ssmRemoteAccess }))];
const allowing = (statement: Record<string, unknown>) => ({ Version: "2012-10-17", Statement: [{ Effect: "Allow", ...statement }] });

describe("hosts-role-least-privilege", () => {
    const rule = hostsRoleLeastPrivilege();

    it("passes the program's role, with and without the Run Command and Session Manager channels", async () => {
        assert.deepEqual((await runStackPolicy(rule, programRole())).violations, []);
        assert.deepEqual((await runStackPolicy(rule, programRole(true))).violations, []);
    });

    it("refuses the two AWS-managed policies the role used to carry, naming each", async () => {
        const { violations, urns } = await runStackPolicy(rule, [role(), attachment(CORE, "core"), attachment(ECS_FOR_EC2, "ecs")]);
        assert.equal(violations.length, 2, violations.join("\n"));
        assert.match(violations[0], /role `instance` \(assumed by ssm.amazonaws.com\): attaches arn:aws:iam::aws:policy\/AmazonSSMManagedInstanceCore, which grants more than the agents call/);
        assert.match(violations[1], /AmazonEC2ContainerServiceforEC2Role/);
        assert.deepEqual(urns, ["urn:pulumi:test::ecs-anywhere::aws:iam/rolePolicyAttachment:RolePolicyAttachment::core", "urn:pulumi:test::ecs-anywhere::aws:iam/rolePolicyAttachment:RolePolicyAttachment::ecs"]);
    });

    const refused: [string, Record<string, unknown>, RegExp][] = [
        ["a wildcard action", { Action: "ecs:*", Resource: "*" }, /`ecs:\*` is not a call the SSM or ECS agent on a host makes/],
        ["an action no agent makes", { Action: "ecr:BatchGetImage", Resource: "*" }, /`ecr:BatchGetImage` is not a call/],
        ["a Parameter Store read", { Action: "ssm:GetParameters", Resource: "*" }, /`ssm:GetParameters` is not a call/],
        ["registering into any cluster", { Action: "ecs:RegisterContainerInstance", Resource: "*" }, /`ecs:RegisterContainerInstance` on \*: name the cluster's ARN/],
        ["a cluster pattern", { Action: "ecs:SubmitTaskStateChange", Resource: "arn:aws:ecs:eu-west-1:123456789012:cluster/*" }, /name the cluster's ARN/],
        ["polling for any cluster", { Action: "ecs:Poll", Resource: "arn:aws:ecs:eu-west-1:123456789012:container-instance/*" }, /`ecs:Poll` on .* for any cluster: add the condition ArnEquals ecs:cluster/],
        ["the heartbeat on anything", { Action: "ssm:UpdateInstanceInformation", Resource: "*" }, /scope it to this account's managed instances/],
        ["NotAction", { NotAction: "iam:*", Resource: "*" }, /NotAction or NotResource/],
    ];
    for (const [what, statement, why] of refused) {
        it(`refuses ${what}`, async () => {
            const { violations } = await runStackPolicy(rule, [...programRole(), rolePolicy(allowing(statement), "extra")]);
            assert.equal(violations.length, 1, violations.join("\n"));
            assert.match(violations[0], why);
        });
    }

    it("passes polling scoped by the container instance ARN's cluster instead of the condition", async () => {
        const byArn = allowing({ Action: ["ecs:Poll", "ecs:StartTelemetrySession"], Resource: "arn:aws:ecs:eu-west-1:123456789012:container-instance/ecs-anywhere-anywhere/*" });
        assert.deepEqual((await runStackPolicy(rule, [role(), rolePolicy(byArn)])).violations, []);
    });

    it("leaves roles SSM does not assume alone", async () => {
        const outcome = await runStackPolicy(rule, [role({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] }), rolePolicy(allowing({ Action: "sqs:*", Resource: "*" }))]);
        assert.deepEqual(outcome.violations, []);
        assert.match(outcome.notApplicable ?? "", /no role that SSM assumes/);
    });
});

describe("hosts-role-no-parameter-store", () => {
    const rule = hostsRoleNoParameterStore();

    it("passes the program's role (no grant, and the deny besides)", async () => {
        assert.deepEqual((await runStackPolicy(rule, programRole())).violations, []);
    });

    it("passes AmazonSSMManagedInstanceCore kept with an explicit Deny of ssm:GetParameter* on *", async () => {
        assert.deepEqual((await runStackPolicy(rule, [...programRole(), attachment(CORE)])).violations, []);
    });

    it("refuses AmazonSSMManagedInstanceCore without the Deny: it grants ssm:GetParameter and ssm:GetParameters on *", async () => {
        const resources = [role(), rolePolicy(allowing({ Action: "ecs:DiscoverPollEndpoint", Resource: "*" })), attachment(CORE)];
        const { violations } = await runStackPolicy(rule, resources);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /role `instance` \(assumed by ssm.amazonaws.com\): AWS-managed policy arn:aws:iam::aws:policy\/AmazonSSMManagedInstanceCore lets the hosts read Parameter Store \(ssm:GetParameter\*\): add a Deny/);
    });

    it("refuses a wildcard that reaches Parameter Store, and a Deny that does not cover it all", async () => {
        const partialDeny = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ssm:Get*", Resource: "*" }, { Effect: "Deny", Action: "ssm:GetParameter", Resource: "*" }] };
        const { violations } = await runStackPolicy(rule, [role(), rolePolicy(partialDeny)]);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /role policy `instance-agents` lets the hosts read Parameter Store/);
    });

    it("refuses a conditional Deny: it may not apply", async () => {
        const conditional = {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: "*" }, { Effect: "Deny", Action: "ssm:GetParameter*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }],
        };
        assert.equal((await runStackPolicy(rule, [role(), rolePolicy(conditional)])).violations.length, 1);
    });
});

describe("hosts-role-trust-bound", () => {
    const rule = hostsRoleTrustBound();
    const ssmTrust = (condition?: Record<string, unknown>, principal: Record<string, unknown> = { Service: "ssm.amazonaws.com" }) => ({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }],
    });

    it("passes the program's trust policy: aws:SourceAccount and aws:SourceArn of the account's SSM", async () => {
        assert.deepEqual((await runStackPolicy(rule, [role()])).violations, []);
    });

    it("passes ArnLike for the source ARN, as AWS's examples also write it", async () => {
        const like = ssmTrust({ StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:ssm:eu-west-1:123456789012:*" } });
        assert.deepEqual((await runStackPolicy(rule, [role(like)])).violations, []);
    });

    const refused: [string, Record<string, unknown> | undefined, RegExp][] = [
        ["no condition (the role's trust before this rule)", undefined, /has no condition StringEquals aws:SourceAccount/],
        ["the account without the source ARN", { StringEquals: { "aws:SourceAccount": "123456789012" } }, /has no condition ArnEquals aws:SourceArn/],
        ["a source ARN of any account", { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnEquals: { "aws:SourceArn": "arn:aws:ssm:eu-west-1:*:*" } }, /has no condition ArnEquals aws:SourceArn/],
        ["a source ARN of another account", { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnEquals: { "aws:SourceArn": "arn:aws:ssm:eu-west-1:999999999999:*" } }, /ArnEquals aws:SourceArn/],
    ];
    for (const [what, condition, why] of refused) {
        it(`refuses ${what}`, async () => {
            const { violations } = await runStackPolicy(rule, [role(ssmTrust(condition))]);
            assert.equal(violations.length, 1, violations.join("\n"));
            assert.match(violations[0], why);
        });
    }

    it("refuses another principal beside SSM", async () => {
        const shared = ssmTrust(instanceTrustPolicy(scope).Statement[0].Condition, { Service: ["ssm.amazonaws.com", "ec2.amazonaws.com"] });
        assert.match((await runStackPolicy(rule, [role(shared)])).violations.join("\n"), /its trust policy also admits Service ec2.amazonaws.com/);
    });
});

describe("activation-bounded", () => {
    const NOW = Date.parse("2026-11-22T12:00:00Z");
    const rule = activationBounded(() => NOW);
    const activation = (props: Record<string, unknown>): TestResource => ({ type: "aws:ssm/activation:Activation", name: "activation", props: { iamRole: "instance-1a2b3c", ...props } });
    const registrations = (count: number): TestResource[] =>
        Array.from({ length: count }, (_, i) => ({ type: "pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration", name: `host-${i}-registration`, props: {} }));
    const inDays = (days: number) => new Date(NOW + days * 86_400_000).toISOString();

    it("passes exactly the hosts, expiring in two days (the program's defaults)", async () => {
        assert.deepEqual((await runStackPolicy(rule, [activation({ registrationLimit: 2, expirationDate: inDays(2) }), ...registrations(2)])).violations, []);
    });

    it("refuses spare registrations the pack's config does not allow (the old default: 2 spare, rounded up, 5 for 3 hosts)", async () => {
        const { violations } = await runStackPolicy(rule, [activation({ registrationLimit: 8, expirationDate: inDays(2) }), ...registrations(3)]);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /activation `activation` allows 8 registrations for the stack's 3 hosts: 5 spare, where the pack allows 0/);
    });

    it("passes the spares its config allows", async () => {
        assert.deepEqual((await runStackPolicy(rule, [activation({ registrationLimit: 4 }), ...registrations(2)], { maxSpareRegistrations: 2 })).violations, []);
    });

    it("refuses an activation that lives longer than allowed (SSM's longest, 30 days), unless its config allows that", async () => {
        const { violations } = await runStackPolicy(rule, [activation({ registrationLimit: 2, expirationDate: inDays(30) }), ...registrations(2)]);
        assert.equal(violations.length, 1, violations.join("\n"));
        assert.match(violations[0], /expires 2026-12-22T12:00:00.000Z, more than 14 days from now: lower `ecs-anywhere:activationExpiryDays`/);
        assert.deepEqual((await runStackPolicy(rule, [activation({ registrationLimit: 2, expirationDate: inDays(14) }), ...registrations(2)])).violations, []);
        assert.deepEqual((await runStackPolicy(rule, [activation({ registrationLimit: 2, expirationDate: inDays(30) }), ...registrations(2)], { maxActivationDays: 30 })).violations, []);
    });
});
