/**
 * The stand-ins' IAM evaluator: AWS's evaluation order, the matching it models, and the hosts' role
 * as the stand-in aws provider records it (the calls the agents make allowed, the rest refused);
 * then through the stand-in API, where a role's keys get AccessDeniedException for what it may not do.
 */
import { DeregisterContainerInstanceCommand, ECSClient } from "@aws-sdk/client-ecs";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { clusterScope, hostAgentsPolicy, instanceTrustPolicy } from "../../infra/anywhere/instance-role";
import { iamTargetOf, startAwsApi, type AwsApi } from "../standins/aws-api";
import { ACCOUNT_ID, awsProvider } from "../standins/aws";
import { readCallLog } from "../standins/call-log";
import { accessDeniedMessage, authorizeAssumeRole, authorizeRoleCall, evaluate, UnknownRoleError, UnsupportedPolicyError } from "../standins/iam-evaluator";
import { RecordStore, type LiveRecord } from "../standins/records";

const REGION = "eu-west-1";
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/ecs-anywhere-anywhere`;
const ROLE_NAME = "ecs-anywhere-anywhere-instance-1a2b3c4";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${ROLE_NAME}`;
const urn = (type: string, name: string) => `urn:pulumi:anywhere::ecs-anywhere::${type}::${name}`;
const doc = (...Statement: object[]) => [{ where: "test policy", document: { Version: "2012-10-17", Statement } }];

describe("stand-ins: the IAM evaluator", () => {
    it("allows what an Allow matches, denies the rest implicitly, and an explicit Deny wins over any Allow", () => {
        const documents = doc({ Effect: "Allow", Action: "ecs:*", Resource: "*" }, { Sid: "NoDeregister", Effect: "Deny", Action: "ecs:Deregister*", Resource: "*" });
        assert.deepEqual(evaluate(documents, "ecs:Poll", "arn:aws:ecs:eu-west-1:123456789012:container-instance/c/1"), { allowed: true, reason: "allow", by: "test policy, statement 1" });
        assert.deepEqual(evaluate(documents, "ecs:DeregisterContainerInstance", CLUSTER_ARN), { allowed: false, reason: "explicit-deny", by: "test policy, statement 2 (NoDeregister)" });
        assert.deepEqual(evaluate(documents, "ssm:GetParameter", "*"), { allowed: false, reason: "implicit-deny" });
    });

    it("matches actions without regard to case and resources with it, wildcards in both; NotAction and NotResource", () => {
        const documents = doc({ Effect: "Allow", Action: "ECS:submit*", Resource: "arn:aws:ecs:*:123456789012:cluster/ecs-anywhere-?nywhere" });
        assert.equal(evaluate(documents, "ecs:SubmitTaskStateChange", CLUSTER_ARN).allowed, true);
        assert.equal(evaluate(documents, "ecs:SubmitTaskStateChange", CLUSTER_ARN.toUpperCase()).allowed, false);
        assert.equal(evaluate(documents, "ecs:SubmitTaskStateChange", `${CLUSTER_ARN}-other`).allowed, false);
        const not = doc({ Effect: "Allow", NotAction: "iam:*", NotResource: "arn:aws:s3:::secret/*", Resource: undefined });
        assert.equal(evaluate(not, "sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:123456789012:q").allowed, true);
        assert.equal(evaluate(not, "iam:PassRole", "*").allowed, false);
        assert.equal(evaluate(not, "s3:GetObject", "arn:aws:s3:::secret/a").allowed, false);
    });

    it("an action that takes no resource is checked against `*`: only a statement on `*` applies", () => {
        assert.equal(evaluate(doc({ Effect: "Allow", Action: "ecs:DiscoverPollEndpoint", Resource: "*" }), "ecs:DiscoverPollEndpoint", "*").allowed, true);
        assert.equal(evaluate(doc({ Effect: "Allow", Action: "ecs:DiscoverPollEndpoint", Resource: CLUSTER_ARN }), "ecs:DiscoverPollEndpoint", "*").allowed, false);
    });

    it("evaluates conditions: every operator and key must hold, any value of a key may match; ARNs part by part", () => {
        const documents = doc({
            Effect: "Allow",
            Action: "sts:AssumeRole",
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": ["111111111111", ACCOUNT_ID] }, ArnEquals: { "aws:SourceArn": `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:*` } },
        });
        const context = (account: string, arn: string) => ({ "aws:SourceAccount": account, "aws:SourceArn": arn });
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", context(ACCOUNT_ID, `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:managed-instance/mi-0123456789abcdef0`)).allowed, true);
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", context("999999999999", `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:managed-instance/mi-0`)).allowed, false, "another account");
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", context(ACCOUNT_ID, `arn:aws:ssm:us-east-1:${ACCOUNT_ID}:managed-instance/mi-0`)).allowed, false, "another region");
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", context(ACCOUNT_ID, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:x`)).allowed, false, "another service");
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", { "aws:SourceAccount": ACCOUNT_ID }).allowed, false, "a key the request lacks");
        assert.equal(evaluate(documents, "sts:AssumeRole", "*", context(ACCOUNT_ID, "not an arn")).allowed, false, "not an ARN");
    });

    it("a missing key: positive operators fail, negated ones and ...IfExists hold, Null tells", () => {
        const one = (Condition: object) => doc({ Effect: "Allow", Action: "ecs:Poll", Resource: "*", Condition });
        assert.equal(evaluate(one({ StringNotEquals: { "aws:PrincipalTag/team": "other" } }), "ecs:Poll", "*").allowed, true);
        assert.equal(evaluate(one({ StringLikeIfExists: { "aws:PrincipalTag/team": "ops*" } }), "ecs:Poll", "*").allowed, true);
        assert.equal(evaluate(one({ StringLike: { "aws:PrincipalTag/team": "ops*" } }), "ecs:Poll", "*").allowed, false);
        assert.equal(evaluate(one({ Null: { "ecs:cluster": "true" } }), "ecs:Poll", "*").allowed, true);
        assert.equal(evaluate(one({ Null: { "ecs:cluster": "false" } }), "ecs:Poll", "*", { "ECS:Cluster": CLUSTER_ARN }).allowed, true, "keys are case-insensitive");
        assert.equal(evaluate(one({ StringLike: { "aws:PrincipalTag/team": "ops*" } }), "ecs:Poll", "*", { "aws:PrincipalTag/team": ["web", "ops-eu"] }).allowed, true);
    });

    it("refuses to guess: an operator or a policy variable it does not model is an error naming it", () => {
        assert.throws(() => evaluate(doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { DateLessThan: { "aws:CurrentTime": "2030-01-01T00:00:00Z" } } }), "ecs:Poll", "*"), UnsupportedPolicyError);
        assert.throws(() => evaluate(doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { "aws:username": "${aws:username}" } } }), "ecs:Poll", "*"), /policy variables/);
        assert.throws(() => evaluate(doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": "a" } } }), "ecs:Poll", "*"), /ForAnyValue:StringEquals/);
    });

    it("words a refusal as AWS does", () => {
        assert.equal(
            accessDeniedMessage("arn:aws:sts::123456789012:assumed-role/r/mi-1", "ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/db", { allowed: false, reason: "explicit-deny" }),
            "User: arn:aws:sts::123456789012:assumed-role/r/mi-1 is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:eu-west-1:123456789012:parameter/db with an explicit deny in an identity-based policy",
        );
    });
});

describe("stand-ins: the hosts' role as the aws stand-in records it", function () {
    let dir: string;
    let records: LiveRecord[];

    /** The program's role and policy, made through the aws stand-in (as `pulumi up` does); extra attachments optional. */
    async function recordRole(stateDir: string, attach: string[] = []): Promise<LiveRecord[]> {
        const aws = awsProvider({ stateDir, region: REGION });
        const scope = clusterScope(CLUSTER_ARN);
        await aws.create!(urn("aws:iam/role:Role", "instance"), { name: ROLE_NAME, assumeRolePolicy: JSON.stringify(instanceTrustPolicy(scope)) });
        await aws.create!(urn("aws:iam/rolePolicy:RolePolicy", "instance-agents"), { name: "agents", role: ROLE_NAME, policy: JSON.stringify(hostAgentsPolicy(scope, { ssmRemoteAccess: false })) });
        for (const [i, policyArn] of attach.entries()) await aws.create!(urn("aws:iam/rolePolicyAttachment:RolePolicyAttachment", `extra-${i}`), { role: ROLE_NAME, policyArn });
        return new RecordStore("aws", stateDir).all();
    }

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "iam-evaluator-"));
        records = await recordRole(dir);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const call = (action: string, service: "ecs" | "ssm", input: Record<string, unknown>) => {
        const { resource, context } = iamTargetOf(service, action, input, REGION);
        return authorizeRoleCall(records, ROLE_ARN, `${service}:${action}`, resource, context);
    };
    const instance = `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/ecs-anywhere-anywhere/0123456789abcdef0123456789abcdef`;

    it("allows each call the ECS and SSM agents make, on this cluster and the account's managed instances", () => {
        for (const action of ["RegisterContainerInstance", "SubmitTaskStateChange", "SubmitContainerStateChange", "SubmitAttachmentStateChanges"]) {
            assert.equal(call(action, "ecs", { cluster: "ecs-anywhere-anywhere" }).allowed, true, action);
        }
        assert.equal(call("DiscoverPollEndpoint", "ecs", { cluster: "ecs-anywhere-anywhere", containerInstance: instance }).allowed, true);
        for (const action of ["Poll", "StartTelemetrySession"]) assert.equal(call(action, "ecs", { cluster: CLUSTER_ARN, containerInstance: instance }).allowed, true, action);
        assert.equal(call("UpdateInstanceInformation", "ssm", { InstanceId: "mi-0123456789abcdef0" }).allowed, true);
    });

    it("refuses another cluster, the operator's deregistrations, and everything the managed policies held", () => {
        assert.deepEqual(call("RegisterContainerInstance", "ecs", { cluster: "someone-elses" }), { allowed: false, reason: "implicit-deny" });
        assert.equal(call("Poll", "ecs", { cluster: "someone-elses", containerInstance: "0123" }).allowed, false);
        assert.equal(call("DeregisterContainerInstance", "ecs", { cluster: "ecs-anywhere-anywhere" }).allowed, false);
        assert.equal(call("DeregisterManagedInstance", "ssm", { InstanceId: "mi-0123456789abcdef0" }).allowed, false);
        for (const action of ["ecr:BatchGetImage", "logs:PutLogEvents", "ecs:CreateCluster", "ec2messages:GetMessages", "ssmmessages:CreateControlChannel"]) {
            assert.equal(authorizeRoleCall(records, ROLE_ARN, action, "*").allowed, false, action);
        }
        assert.equal(authorizeRoleCall(records, ROLE_ARN, "ssm:GetParameter", `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/db-password`).reason, "explicit-deny");
    });

    it("keeps Parameter Store shut even with AmazonSSMManagedInstanceCore attached after: the Deny wins", async () => {
        const withCore = fs.mkdtempSync(path.join(os.tmpdir(), "iam-evaluator-core-"));
        try {
            const attached = await recordRole(withCore, ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
            assert.equal(authorizeRoleCall(attached, ROLE_ARN, "ssm:GetDocument", "*").allowed, true, "the managed policy is read");
            assert.deepEqual(authorizeRoleCall(attached, ROLE_ARN, "ssm:GetParameters", `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/db`), {
                allowed: false,
                reason: "explicit-deny",
                by: "role policy instance-agents, statement 5 (NoParameterStore)",
            });
        } finally {
            fs.rmSync(withCore, { recursive: true, force: true });
        }
    });

    it("lets SSM assume the role only for a managed instance of its account and region", () => {
        const source = (account: string, region = REGION) => ({ "aws:SourceAccount": account, "aws:SourceArn": `arn:aws:ssm:${region}:${account}:managed-instance/mi-0123456789abcdef0` });
        assert.equal(authorizeAssumeRole(records, ROLE_ARN, "ssm.amazonaws.com", source(ACCOUNT_ID)).allowed, true);
        assert.equal(authorizeAssumeRole(records, ROLE_ARN, "ssm.amazonaws.com", source("999999999999")).allowed, false);
        assert.equal(authorizeAssumeRole(records, ROLE_ARN, "ssm.amazonaws.com", source(ACCOUNT_ID, "us-east-1")).allowed, false);
        assert.equal(authorizeAssumeRole(records, ROLE_ARN, "ssm.amazonaws.com", {}).allowed, false);
        assert.equal(authorizeAssumeRole(records, ROLE_ARN, "ec2.amazonaws.com", source(ACCOUNT_ID)).allowed, false);
    });

    it("names a role it has no record of", () => {
        assert.throws(() => authorizeRoleCall(records, `arn:aws:iam::${ACCOUNT_ID}:role/nobody`, "ecs:Poll", "*"), UnknownRoleError);
    });
});

describe("stand-ins: the API refuses a role's keys what the role may not do", function () {
    this.timeout(30_000);
    let api: AwsApi;
    let dir: string;
    let savedLog: string | undefined;
    const operator = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "iam-api-"));
        const aws = awsProvider({ stateDir: dir, region: REGION });
        await aws.create!(urn("aws:ecs/cluster:Cluster", "cluster"), { name: "ecs-anywhere-anywhere" });
        const scope = clusterScope(CLUSTER_ARN);
        await aws.create!(urn("aws:iam/role:Role", "instance"), { name: ROLE_NAME, assumeRolePolicy: JSON.stringify(instanceTrustPolicy(scope)) });
        await aws.create!(urn("aws:iam/rolePolicy:RolePolicy", "instance-agents"), { name: "agents", role: ROLE_NAME, policy: JSON.stringify(hostAgentsPolicy(scope, { ssmRemoteAccess: false })) });
        api = await startAwsApi({ listen: [{ host: "127.0.0.1", port: 0 }], stateDir: dir });
        savedLog = process.env.E2E_CALL_LOG;
        process.env.E2E_CALL_LOG = path.join(dir, "calls.jsonl");
    });
    after(async () => {
        if (savedLog === undefined) delete process.env.E2E_CALL_LOG;
        else process.env.E2E_CALL_LOG = savedLog;
        await api.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const deregister = (credentials: NonNullable<ConstructorParameters<typeof ECSClient>[0]>["credentials"], id: string) =>
        new ECSClient({ region: REGION, endpoint: api.urls[0], credentials }).send(
            new DeregisterContainerInstanceCommand({ cluster: "ecs-anywhere-anywhere", containerInstance: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/ecs-anywhere-anywhere/${id.repeat(16)}`, force: true }),
        );

    it("the hosts' role's keys get AccessDeniedException for a deregistration (a stolen host cannot deregister the others), naming action and resource", async () => {
        const credentials = fromTemporaryCredentials({
            masterCredentials: operator,
            params: { RoleArn: ROLE_ARN, RoleSessionName: "mi-0123456789abcdef0", DurationSeconds: 900 },
            clientConfig: { region: REGION, endpoint: api.urls[0] },
        });
        const refused = await deregister(credentials, "ab").catch((error: Error) => error);
        assert.ok(refused instanceof Error);
        assert.equal(refused.name, "AccessDeniedException");
        assert.equal(
            refused.message,
            `User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/mi-0123456789abcdef0 is not authorized to perform: ecs:DeregisterContainerInstance on resource: ${CLUSTER_ARN} because no identity-based policy allows the ecs:DeregisterContainerInstance action`,
        );
        const logged = readCallLog(path.join(dir, "calls.jsonl")).filter((c) => c.operation === "api" && c.type === "DeregisterContainerInstance");
        assert.match(String(logged.at(-1)?.result), /^AccessDeniedException: /);
    });

    it("keys of no recorded role (the operator's) are not checked: the same call goes through", async () => {
        const done = await deregister(operator, "cd");
        assert.equal(done.containerInstance?.status, "INACTIVE");
    });
});
