/** An anywhere stack, read as policy, under Pulumi mocks with the example config. */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { activationWindow, registrationLimit } from "../anywhere/activation";
import { DEFAULT_ECS_VERSION, DEFAULT_INSTALLER_SHA256, DEFAULT_INSTALLER_URL, loadAnywhereConfig } from "../anywhere/config";
import { cleanupCommand, hostCommands, installedAs, parseVerifyOutput, verifyCommand } from "../anywhere/host-commands";
import { HostKeyError, keyscanCommand, parseHostKey } from "../anywhere/host-key";
import { buildAnywhere, readRegionStack, type AnywhereDeployment } from "../anywhere/index";
import { DIAL_ERROR_LIMIT, PER_DIAL_TIMEOUT_SECONDS, sshConnection, unverifiedHostWarning, type ManagedHost } from "../anywhere/managed-host";
import { HOST_STEPS, remoteScriptCommand, shellQuote } from "../anywhere/remote-script";
import { SEALED_PREFIX } from "../anywhere/seal";
import { keyProtection } from "../anywhere/ssh-key";
import { regionProgram } from "../region/index";
import { ConfigError } from "../config";
import { exampleConfig, readerOf } from "./support/example-config";
import { ACCOUNT, dependencyClosure, isSecret as isSecretOutput, MOCK_REGION, MOCK_SEAL_KEY, ofType, only, mockSshKey, promiseOf, recorded, REGION_STACK_OUTPUTS, settle, setupMocks, TEST_SSH_KEY as TEST_KEY, type RecordedResource } from "./support/mocks";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecretValue = (value: unknown): boolean => typeof value === "object" && value !== null && SECRET_SIG in value;
const NOW = new Date("2026-11-22T12:00:00Z");
/** Real public keys (made with ssh-keygen for these tests), as `ssh-keyscan` prints them without the address. */
const ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKbgTuHxX1FxGpNRpCbdHnmT2cH6R5wdyNnRY/WMIYju";
const ECDSA_256_KEY = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIle6U0yTD8KXb07yrlTA/wZRsWhYjRegsrUcPCSizPoDIMWrlUEsZIY717xaWGZ2MXYPsjSqTR+m8knPPHBYlg=";
const ECDSA_384_KEY =
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBM5vuGULAQXPNYWIS43JA6RkMKcmqhBn3p7/AX9fko8o3+ZSf+06VqZIeUrgwjSe6S+p+B8nK20j/e2CD7zCHh5WTLFZYmBKWMepbS+UpT0F6eDvWgcLQ3VhJzNr7LoQZA==";
const RSA_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC8FIyr/usGuVkQSHApxEPEbmHUuxQPnvFe0z0rJJErfk7f8ojPHaBefemebutr44o30r6zmVrI";
const HOST_STEP_NAMES = ["preflight", "cleanup", "seal", "install", "data", "verify", "registration"] as const;


function anywhereConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...exampleConfig("anywhere"), "ecs-anywhere:sshPrivateKey": TEST_KEY, ...extra };
}

async function runAnywhere(stack = "anywhere", extra: Record<string, unknown> = {}, stackOutputs: Record<string, unknown> = REGION_STACK_OUTPUTS, now = NOW): Promise<{ deployment: AnywhereDeployment; outputs: Record<string, unknown> }> {
    await setupMocks({ stack, config: anywhereConfig(extra), secretKeys: ["ecs-anywhere:sshPrivateKey"], stackOutputs });
    const deployment = buildAnywhere({ now, context: { organization: "organization", project: "ecs-anywhere" } });
    const outputs: Record<string, unknown> = {};
    for (const [name, output] of Object.entries(deployment.outputs)) outputs[name] = await promiseOf(output);
    await settle();
    return { deployment, outputs };
}

/** The URN the SDK gives a resource (with its parent's type), not the mock's flat one. */
const urnOf = (resource: pulumi.Resource) => promiseOf(resource.urn);
/** A host component's children, by step. */
const stepsOf = (host: ManagedHost) => Object.fromEntries(HOST_STEP_NAMES.map((step) => [step, host[step]]));

const commandsOf = (host: string) => ofType("command:remote:Command").filter((c) => c.name.includes(`-${host}-`));

describe("anywhere stack", function () {
    this.timeout(60_000);
    let deployment: AnywhereDeployment;
    let outputs: Record<string, unknown>;

    before(async () => {
        ({ deployment, outputs } = await runAnywhere());
    });

    describe("region stack reference", () => {
        it("reads the configured region stack, default <org>/<project>/region", () => {
            assert.equal(only("pulumi:pulumi:StackReference").inputs.name, "organization/ecs-anywhere/region");
        });
    });

    describe("cluster and instance role", () => {
        it("names the cluster after the stack", () => {
            assert.equal(only("aws:ecs/cluster:Cluster").inputs.name, "ecs-anywhere-anywhere");
            assert.equal(outputs.clusterName, "ecs-anywhere-anywhere");
        });
        const CLUSTER_ARN = `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:cluster/ecs-anywhere-anywhere`;
        /** The hosts' role's permissions as the program makes them, exactly: the two agents' calls (infra/anywhere/instance-role.ts). */
        const agentsPolicy = (extra: object[] = []) => ({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "EcsAgentOnTheCluster",
                    Effect: "Allow",
                    Action: ["ecs:RegisterContainerInstance", "ecs:SubmitAttachmentStateChanges", "ecs:SubmitContainerStateChange", "ecs:SubmitTaskStateChange"],
                    Resource: CLUSTER_ARN,
                },
                {
                    Sid: "EcsAgentOnItsInstance",
                    Effect: "Allow",
                    Action: ["ecs:Poll", "ecs:StartTelemetrySession"],
                    Resource: `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:container-instance/*`,
                    Condition: { ArnEquals: { "ecs:cluster": CLUSTER_ARN } },
                },
                { Sid: "EcsAgentDiscovery", Effect: "Allow", Action: ["ecs:DiscoverPollEndpoint"], Resource: "*" },
                { Sid: "SsmAgentHeartbeat", Effect: "Allow", Action: ["ssm:UpdateInstanceInformation"], Resource: `arn:aws:ssm:${MOCK_REGION}:${ACCOUNT}:managed-instance/*` },
                ...extra,
                { Sid: "NoParameterStore", Effect: "Deny", Action: "ssm:GetParameter*", Resource: "*" },
            ],
        });

        it("lets only SSM assume the hosts' role, for a managed instance of this account and region (aws:SourceAccount, aws:SourceArn)", () => {
            assert.deepEqual(JSON.parse(only("aws:iam/role:Role").inputs.assumeRolePolicy as string), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: "ssm.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnEquals: { "aws:SourceArn": `arn:aws:ssm:${MOCK_REGION}:${ACCOUNT}:*` } },
                    },
                ],
            });
        });
        it("gives the hosts' role the two agents' calls on this cluster, denies Parameter Store, and attaches no managed policy", () => {
            const policy = only("aws:iam/rolePolicy:RolePolicy");
            assert.equal(policy.inputs.role, only("aws:iam/role:Role").id);
            assert.deepEqual(JSON.parse(policy.inputs.policy as string), agentsPolicy());
            assert.deepEqual(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), []);
            assert.deepEqual(only("aws:iam/role:Role").inputs.managedPolicyArns, undefined);
        });
        it("with ssmRemoteAccess, adds the Run Command and Session Manager channels and nothing else", async () => {
            await runAnywhere("anywhere", { "ecs-anywhere:ssmRemoteAccess": true });
            const channels = {
                Sid: "SsmRunCommandAndSessions",
                Effect: "Allow",
                Action: [
                    "ec2messages:AcknowledgeMessage",
                    "ec2messages:DeleteMessage",
                    "ec2messages:FailMessage",
                    "ec2messages:GetEndpoint",
                    "ec2messages:GetMessages",
                    "ec2messages:SendReply",
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                Resource: "*",
            };
            assert.deepEqual(JSON.parse(only("aws:iam/rolePolicy:RolePolicy").inputs.policy as string), agentsPolicy([channels]));
            ({ deployment, outputs } = await runAnywhere());
        });
    });

    describe("SSM activation", () => {
        it("allows exactly the configured hosts (spare registrations only when asked), for the shortest expiry its renewal allows", async () => {
            const activation = only("aws:ssm/activation:Activation");
            assert.equal(activation.inputs.registrationLimit, 2);
            // Renewed once less than a day is left, it lives two days.
            assert.equal(activation.inputs.expirationDate, activationWindow(NOW, 2, 1).expirationDate);
            assert.equal(activation.inputs.iamRole, only("aws:iam/role:Role").id);
            assert.deepEqual([deployment.config.activationHeadroom, deployment.config.activationExpiryDays, deployment.config.activationRenewDays], [0, 2, 1]);
            await runAnywhere("anywhere", { "ecs-anywhere:activationHeadroom": 3, "ecs-anywhere:activationRenewDays": 4 });
            const asked = only("aws:ssm/activation:Activation");
            assert.equal(asked.inputs.registrationLimit, 5);
            assert.equal(asked.inputs.expirationDate, activationWindow(NOW, 5, 4).expirationDate);
            ({ deployment, outputs } = await runAnywhere());
        });
        it("says in the outputs what a leaked code permits until it expires, and how to revoke it", async () => {
            const reach = outputs.activationReach as string;
            assert.equal(await pulumi.isSecret(deployment.outputs.activationReach), false);
            assert.ok(reach.startsWith(`Until ${activationWindow(NOW, 2, 1).expirationDate} the activation code registers up to 2 machines (2 hosts + 0 spare; each registration made with it counts)`), reach);
            assert.match(reach, /joins ECS cluster ecs-anywhere-anywhere and can be given the worker's task/);
            assert.ok(reach.endsWith(`Revoke it before then: pulumi up -s anywhere --replace '${await urnOf(deployment.activation)}'.`), reach);
            assert.ok(!reach.includes("MOCK-ACTIVATION-CODE"));
        });
        it("activation code and install command are secrets; the install command is complete", async () => {
            assert.equal(await pulumi.isSecret(deployment.outputs.activationCode), true);
            assert.equal(await pulumi.isSecret(deployment.outputs.installCommand), true);
            assert.equal(await pulumi.isSecret(deployment.outputs.activationId), false);
            const install = outputs.installCommand as string;
            // HTTPS only (redirects too), the pinned release checked by sha256, the pinned agent.
            assert.ok(
                install.startsWith(`curl --proto '=https' --proto-redir '=https' -fsSL -o /tmp/ecs-anywhere-install.sh '${DEFAULT_INSTALLER_URL}' && echo '${DEFAULT_INSTALLER_SHA256}  /tmp/ecs-anywhere-install.sh' | sha256sum -c - && sudo bash`),
                install.replace(/MOCK-ACTIVATION-CODE-1234/g, "***"),
            );
            assert.match(install, new RegExp(`--region 'eu-west-1' --cluster 'ecs-anywhere-anywhere' --ecs-version '${DEFAULT_ECS_VERSION}' --activation-id '.*-activation-id' --activation-code 'MOCK-ACTIVATION-CODE-1234'$`));
        });
        it("keeps the expiry fixed within a window and renews before it runs out", () => {
            const first = activationWindow(NOW, 14, 3);
            assert.equal(activationWindow(new Date(NOW.getTime() + 3600_000), 14, 3).expirationDate, first.expirationDate);
            for (let day = 0; day < 60; day++) {
                const at = new Date(NOW.getTime() + day * 86_400_000);
                const left = (Date.parse(activationWindow(at, 14, 3).expirationDate) - at.getTime()) / 86_400_000;
                assert.ok(left > 3 && left <= 14, `day ${day}: ${left} days left`);
            }
            assert.notEqual(activationWindow(new Date(NOW.getTime() + 12 * 86_400_000), 14, 3).expirationDate, first.expirationDate);
            // The default: every up leaves more than a day to register by hand, and no code lives more than two.
            for (let hour = 0; hour < 72; hour++) {
                const at = new Date(NOW.getTime() + hour * 3600_000);
                const left = (Date.parse(activationWindow(at, 2, 1).expirationDate) - at.getTime()) / 86_400_000;
                assert.ok(left > 1 && left <= 2, `hour ${hour}: ${left} days left`);
            }
        });
        it("allows exactly hosts plus spare registrations, 1 to 1000: once the hosts used it, a leaked code registers nothing", () => {
            assert.deepEqual([1, 2, 3, 8].map((hosts) => registrationLimit(hosts, 0)), [1, 2, 3, 8]);
            assert.equal(registrationLimit(3, 2), 5);
            assert.equal(registrationLimit(0, 0), 1);
            assert.equal(registrationLimit(999, 5), 1000);
        });
        it("a new activation is an update of install, never ignored and never a replacement", () => {
            for (const host of Object.values(deployment.hosts)) {
                // Ignoring stdin would hand a replaced install the first, possibly expired, code.
                assert.equal(host.installOptions.ignoreChanges, undefined);
                assert.equal(host.installOptions.deleteBeforeReplace, true);
            }
            for (const install of ofType("command:remote:Command").filter((c) => c.name.endsWith("-install"))) {
                assert.ok(!String(install.inputs.create).includes(String(only("aws:ssm/activation:Activation").id)), `${install.urn}: the activation id is on the command line`);
                const triggers = JSON.stringify(install.inputs.triggers);
                assert.ok(!triggers.includes("activation"), `${install.urn}: activation not in triggers`);
            }
        });
        it("moving the data folder re-runs preflight and data, but replaces neither install nor verify", () => {
            const dataDir = deployment.config.dataDir;
            for (const step of ofType("command:remote:Command")) {
                const triggers = step.inputs.triggers as unknown[];
                const expected = step.name.endsWith("-preflight") || step.name.endsWith("-data");
                assert.equal(triggers.includes(dataDir), expected, `${step.urn}: dataDir ${expected ? "missing from" : "in"} its triggers`);
            }
        });
    });

    describe("hosts", () => {
        it("runs preflight, seal, install, data and verify on each configured host, and cleans it on delete", () => {
            for (const host of ["dc-vm-1", "pi-1"]) {
                const names = commandsOf(host).map((c) => c.name.split(`-${host}-`)[1]).sort();
                assert.deepEqual(names, ["cleanup", "data", "install", "preflight", "seal", "verify"], host);
            }
            const commands = ofType("command:remote:Command");
            const create = (suffix: string, host: string) => String(commands.find((c) => c.name === `ecs-anywhere-anywhere-${host}-${suffix}`)?.inputs.create);
            const expected = hostCommands({ hostName: "pi-1", region: MOCK_REGION, cluster: "ecs-anywhere-anywhere", dataDir: "/data", installerUrl: DEFAULT_INSTALLER_URL, installerSha256: DEFAULT_INSTALLER_SHA256, ecsVersion: DEFAULT_ECS_VERSION, reregister: false, verifyTimeoutSeconds: 300 });
            assert.equal(create("preflight", "pi-1"), expected.preflight);
            assert.equal(create("seal", "pi-1"), expected.seal);
            assert.equal(create("install", "pi-1"), expected.install);
            assert.equal(create("data", "pi-1"), expected.prepareData);
            assert.equal(create("verify", "pi-1"), expected.verify);
            const install = commands.find((c) => c.name === "ecs-anywhere-anywhere-pi-1-install");
            assert.equal(install?.inputs.delete, undefined, "install runs nothing on delete: the cluster and activation wait on it");
            const cleanup = commands.find((c) => c.name === "ecs-anywhere-anywhere-pi-1-cleanup");
            assert.equal(cleanup?.inputs.delete, expected.deregister, "destroy runs the host-side clean-up");
            assert.equal(cleanup?.inputs.create, undefined, "cleanup runs nothing on create");
        });
        it("keeps the host clean-up free of anything AWS-side, so an unreachable host holds up only its own clean-up", async () => {
            const awsSide = ["aws:ecs/cluster:Cluster", "aws:ssm/activation:Activation", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"];
            const awsNames = recorded.filter((r) => awsSide.includes(r.type)).map((r) => r.name);
            assert.equal(awsNames.length, 4);
            for (const [name, host] of Object.entries(deployment.hosts)) {
                const step = (suffix: string) => `ecs-anywhere-anywhere-${name}-${suffix}`;
                const cleanup = ofType("command:remote:Command").find((c) => c.name === step("cleanup"));
                assert.equal(cleanup?.inputs.delete, cleanupCommand(name, "ecs-anywhere-anywhere"));
                assert.match(String(cleanup?.inputs.delete), /CLUSTER='ecs-anywhere-anywhere'/, "the clean-up clears only this cluster's registration");
                // Nothing AWS-side among what the clean-up (and the preflight it waits for) depends on,
                // directly or through an Output: at destroy none of it waits for the host.
                for (const suffix of ["cleanup", "preflight"]) {
                    const reached = [...dependencyClosure(step(suffix))].filter((dependency) => awsNames.includes(dependency));
                    assert.deepEqual(reached, [], `${step(suffix)} depends on ${reached.join(", ")}`);
                }
                assert.ok(dependencyClosure(step("cleanup")).has(step("preflight")), "cleanup is made only once preflight reached the host");
                // Install waits for it, so on delete the host is cleaned after install, verify and the registration are gone.
                assert.ok(dependencyClosure(step("install")).has(step("cleanup")), "install does not wait for cleanup");
                assert.ok(dependencyClosure(step("registration")).has(step("cleanup")), "the registration (AWS side) is not deleted before the host's clean-up");
                // A new machine or cluster cleans the host first: its identity and the cluster's name and region, no ARN.
                const config = deployment.config.hosts.find((h) => h.name === name)!;
                assert.deepEqual(cleanup?.inputs.triggers, [config.address, config.port, config.user, "ecs-anywhere-anywhere", MOCK_REGION]);
                assert.equal(await urnOf(host.cleanup), `urn:pulumi:anywhere::ecs-anywhere::ecs-anywhere:hosts:ManagedHost$command:remote:Command::${step("cleanup")}`);
            }
        });
        it("the clean-up check can fail: a cluster Output in preflight's command shows in its dependencies", () => {
            // The registration depends on the cluster through its `cluster` input: the closure sees Outputs.
            assert.ok(dependencyClosure("ecs-anywhere-anywhere-pi-1-registration").has("ecs-anywhere-anywhere-cluster"));
        });
        it("verify is told the managed instance id install reported, so a re-registration re-runs it", () => {
            assert.equal(installedAs("[x] info\nmanaged-instance mi-0123456789abcdef0\n"), "mi-0123456789abcdef0");
            assert.equal(installedAs("managed-instance mi-0123456789abcdef0\nmanaged-instance mi-0fedcba9876543210\n"), "mi-0fedcba9876543210");
            assert.equal(installedAs(""), undefined);
            assert.equal(installedAs("managed-instance mi-bad"), undefined);
            assert.ok(dependencyClosure("ecs-anywhere-anywhere-pi-1-verify").has("ecs-anywhere-anywhere-pi-1-install"));
            const settings = { hostName: "pi-1", region: MOCK_REGION, cluster: "c", dataDir: "/data", installerUrl: "u", installerSha256: "none", ecsVersion: "1", reregister: false, verifyTimeoutSeconds: 5 };
            assert.match(verifyCommand(settings, "mi-0123456789abcdef0"), /INSTALLED_AS='mi-0123456789abcdef0'/);
            assert.doesNotMatch(verifyCommand(settings), /INSTALLED_AS='/);
        });
        it("hands the activation code to the host on stdin, sealed to the host's key (in plain text in no input), as a secret", () => {
            for (const install of ofType("command:remote:Command").filter((c) => c.name.endsWith("-install"))) {
                assert.ok(isSecretValue(install.inputs.stdin), `${install.urn}: stdin is not secret`);
                const [sealed, id, rest] = (install.inputs.stdin as { value: string }).value.split("\n");
                assert.deepEqual([id, rest], [String(only("aws:ssm/activation:Activation").id), ""], `${install.urn}: line 2 is not the activation id`);
                assert.ok(sealed.startsWith(SEALED_PREFIX), `${install.urn}: the code is not sealed`);
                // The mocked hosts' seal step printed MOCK_SEAL_KEY's public half: its private half opens the code.
                const opened = crypto.privateDecrypt({ key: MOCK_SEAL_KEY.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from(sealed.slice(SEALED_PREFIX.length), "base64"));
                assert.equal(opened.toString(), "MOCK-ACTIVATION-CODE-1234");
            }
            for (const command of ofType("command:remote:Command")) assert.ok(!JSON.stringify(command.inputs).includes("MOCK-ACTIVATION-CODE"), `${command.urn}: the code in plain text among its inputs`);
        });
        it("seals the code in a resource of its own per host: the host's key and the activation as inputs, the code a secret input", () => {
            const activationId = String(only("aws:ssm/activation:Activation").id);
            const sealed = ofType("pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode");
            assert.deepEqual(sealed.map((s) => s.name).sort(), Object.keys(deployment.hosts).map((name) => `ecs-anywhere-anywhere-${name}-sealed-code`).sort());
            for (const resource of sealed) {
                assert.ok(isSecretValue(resource.inputs.activationCode), `${resource.urn}: the code is not a secret input`);
                assert.equal(resource.inputs.activationId, activationId);
                assert.equal(resource.inputs.publicKey, MOCK_SEAL_KEY.publicKey.export({ format: "der", type: "spki" }).toString("base64"));
            }
        });
        it("makes the sealing key again at every new activation, after preflight and cleanup, and install waits for it", () => {
            for (const [name, host] of Object.entries(deployment.hosts)) {
                const seal = ofType("command:remote:Command").find((c) => c.name === `ecs-anywhere-anywhere-${name}-seal`);
                assert.ok(JSON.stringify(seal?.inputs.triggers).includes(String(only("aws:ssm/activation:Activation").id)), `${name}: the activation id is not among seal's triggers`);
                assert.equal(seal?.inputs.delete, undefined, "seal runs nothing on delete: cleanup removes the key");
                assert.ok(dependencyClosure(`ecs-anywhere-anywhere-${name}-seal`).has(`ecs-anywhere-anywhere-${name}-cleanup`));
                assert.ok(dependencyClosure(`ecs-anywhere-anywhere-${name}-install`).has(`ecs-anywhere-anywhere-${name}-seal`));
                assert.ok(((host.installOptions.dependsOn as unknown[]) ?? []).includes(host.seal));
            }
        });
        it("keeps the SSH private key secret and pins each host's key", () => {
            for (const command of ofType("command:remote:Command")) {
                // A secret anywhere in the connection makes the whole connection secret.
                assert.ok(isSecretValue(command.inputs.connection), `${command.urn}: connection (with the private key) not secret`);
                const connection = (command.inputs.connection as { value: Record<string, unknown> }).value;
                assert.equal(connection.privateKey, TEST_KEY);
                assert.match(String(connection.hostKey), /^ssh-ed25519 AAAA/);
            }
        });
        it("never asks a host's sshd to accept PULUMI_COMMAND_* variables: addPreviousOutputInEnv is false on every remote command", () => {
            const commands = ofType("command:remote:Command");
            assert.equal(commands.length, 2 * 6);
            for (const command of commands) assert.equal(command.inputs.addPreviousOutputInEnv, false, `${command.urn}: addPreviousOutputInEnv is ${command.inputs.addPreviousOutputInEnv}`);
        });
        it("makes the data folders beside seal and install (after preflight), and verifies once both are done", () => {
            for (const name of Object.keys(deployment.hosts)) {
                const step = (suffix: string) => `ecs-anywhere-anywhere-${name}-${suffix}`;
                const data = dependencyClosure(step("data"));
                assert.ok(data.has(step("preflight")) && !data.has(step("install")) && !data.has(step("seal")), `${name}: data waits for ${[...data].join(", ")}`);
                assert.ok(dependencyClosure(step("verify")).has(step("data")) && dependencyClosure(step("verify")).has(step("install")));
            }
        });
        it("registers hosts in parallel: no host waits for another", () => {
            for (const [name, host] of Object.entries(deployment.hosts)) {
                const deps = (host.installOptions.dependsOn as unknown[]) ?? [];
                assert.deepEqual(deps, [host.preflight, host.cleanup, host.seal, host.sealedCode], `${name} install waits only for its own preflight, cleanup, seal and sealed code`);
            }
        });
        it("deregisters each host in AWS from the Pulumi side, keyed by the ids verify reported", () => {
            const registrations = ofType("pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration");
            assert.equal(registrations.length, 2);
            for (const registration of registrations) {
                assert.equal(registration.inputs.cluster, "ecs-anywhere-anywhere");
                assert.equal(registration.inputs.region, MOCK_REGION);
            }
        });
    });

    describe("one ManagedHost component per host", () => {
        it("is one component per configured host, named after stack and host", async () => {
            const components = ofType("ecs-anywhere:hosts:ManagedHost");
            assert.deepEqual(components.map((c) => c.name).sort(), ["ecs-anywhere-anywhere-dc-vm-1", "ecs-anywhere-anywhere-pi-1"]);
            assert.deepEqual(Object.keys(deployment.hosts).sort(), ["dc-vm-1", "pi-1"]);
            for (const [name, host] of Object.entries(deployment.hosts)) {
                assert.equal(await urnOf(host), `urn:pulumi:anywhere::ecs-anywhere::ecs-anywhere:hosts:ManagedHost::ecs-anywhere-anywhere-${name}`);
            }
        });
        it("parents every host resource to its host's component, under the names they had before", async () => {
            for (const [name, host] of Object.entries(deployment.hosts)) {
                for (const [step, child] of Object.entries(stepsOf(host))) {
                    const type = step === "registration" ? "pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration" : "command:remote:Command";
                    assert.equal(await urnOf(child), `urn:pulumi:anywhere::ecs-anywhere::ecs-anywhere:hosts:ManagedHost$${type}::ecs-anywhere-anywhere-${name}-${step}`);
                }
            }
            // Nothing of a host's lifecycle is made outside the components.
            const hostResources = recorded.filter((r) => r.type === "command:remote:Command" || r.type.endsWith(":HostRegistration"));
            assert.equal(hostResources.length, Object.keys(deployment.hosts).length * HOST_STEP_NAMES.length);
        });
        it("aliases each child to its URN at the top of the stack, so a stack made before the component keeps its hosts registered", async () => {
            for (const [name, host] of Object.entries(deployment.hosts)) {
                for (const [step, child] of Object.entries(stepsOf(host))) {
                    // The SDK's own resolution of the child's aliases (what it sends the engine).
                    const aliases = await Promise.all(((child as unknown as { __aliases: pulumi.Output<string>[] }).__aliases ?? []).map(promiseOf));
                    const type = step === "registration" ? "pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration" : "command:remote:Command";
                    assert.deepEqual(aliases, [`urn:pulumi:anywhere::ecs-anywhere::${type}::ecs-anywhere-anywhere-${name}-${step}`], `${name} ${step}`);
                }
            }
        });
        it("outputs the ids verify reported, as the stack's hosts output does", async () => {
            const hosts = outputs.hosts as Record<string, { managedInstanceId: string; containerInstanceArn: string }>;
            for (const [name, host] of Object.entries(deployment.hosts)) {
                const ids = parseVerifyOutput(name, await promiseOf(host.verify.stdout));
                assert.deepEqual({ managedInstanceId: await promiseOf(host.managedInstanceId), containerInstanceArn: await promiseOf(host.containerInstanceArn) }, ids);
                assert.deepEqual(hosts[name], ids);
            }
            assert.notEqual(hosts["pi-1"].managedInstanceId, hosts["dc-vm-1"].managedInstanceId);
        });
    });

    describe("EXTERNAL task and service", () => {
        it("runs the worker with bridge networking and the host's data folder", () => {
            const task = only("aws:ecs/taskDefinition:TaskDefinition");
            assert.deepEqual(task.inputs.requiresCompatibilities, ["EXTERNAL"]);
            assert.equal(task.inputs.networkMode, "bridge");
            assert.deepEqual(task.inputs.volumes, [{ name: "data", hostPath: "/data" }]);
            assert.equal(task.inputs.executionRoleArn, REGION_STACK_OUTPUTS.executionRoleArn);
            assert.equal(task.inputs.taskRoleArn, REGION_STACK_OUTPUTS.taskRoleArn);
        });
        it("runs one worker per host, on EXTERNAL instances only, after every host is verified", () => {
            const service = only("aws:ecs/service:Service");
            assert.equal(service.inputs.launchType, "EXTERNAL");
            assert.equal(service.inputs.desiredCount, 2);
            assert.deepEqual(service.inputs.placementConstraints, [{ type: "distinctInstance" }]);
            assert.equal(service.inputs.loadBalancers, undefined);
            // Waiting on a component waits on every child: each host's verify and registration.
            assert.deepEqual([...deployment.serviceDependsOn], Object.values(deployment.hosts), "the service waits for every host's component");
        });
        // Runs the region program under mocks too, so it comes last in this block.
        it("differs from the region task only in log prefix, file-name log mode and sizing", async () => {
            // The region program under mocks; its outputs feed a fresh anywhere run.
            await setupMocks({ stack: "region", config: exampleConfig("region") });
            const regionOutputs = regionProgram();
            const values: Record<string, string> = {};
            for (const [name, output] of Object.entries(regionOutputs)) values[name] = await promiseOf(output);
            await settle();
            const [inRegion] = JSON.parse(only("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions as string) as Array<Record<string, unknown>>;
            await runAnywhere("anywhere", {}, values);
            const [external] = JSON.parse(only("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions as string) as Array<Record<string, unknown>>;

            const differences = Object.keys({ ...inRegion, ...external }).filter((key) => JSON.stringify(inRegion[key]) !== JSON.stringify(external[key])).sort();
            assert.deepEqual(differences, ["cpu", "environment", "logConfiguration", "memory", "memoryReservation"]);
            const env = (d: Record<string, unknown>) => Object.fromEntries((d.environment as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
            const [envA, envB] = [env(inRegion), env(external)];
            assert.deepEqual(Object.keys({ ...envA, ...envB }).filter((k) => envA[k] !== envB[k]), ["CREATE_FOLDERS", "LOG_FILE_NAMES"]);
            assert.deepEqual([envA.LOG_FILE_NAMES, envB.LOG_FILE_NAMES], ["plain", "hash"]);
            const logs = (d: Record<string, unknown>) => (d.logConfiguration as { options: Record<string, string> }).options;
            assert.deepEqual({ ...logs(external), "awslogs-stream-prefix": "region" }, logs(inRegion));
            assert.equal(logs(external)["awslogs-stream-prefix"], "external");
        });
    });

    describe("outputs", () => {
        it("exports the cluster, activation and per-host ids", () => {
            assert.deepEqual(Object.keys(outputs).sort(), ["activationCode", "activationExpires", "activationId", "activationReach", "clusterName", "hosts", "installCommand", "serviceName"]);
        });
    });
});

describe("region stack reference", function () {
    this.timeout(30_000);
        it("stops with one error naming every missing output and the fix", async () => {
            const { queueUrl: _dropped, clusterName: _alsoDropped, ...partial } = REGION_STACK_OUTPUTS;
            await setupMocks({ stack: "anywhere", config: anywhereConfig(), stackOutputs: partial });
            const region = readRegionStack("organization/ecs-anywhere/region");
            // Output.promise() is Pulumi's internal view of the value; it rejects where the run would fail.
            const errors = await Promise.all(
                [region.queueUrl, region.logGroupName].map((output) => (output as unknown as { promise(): Promise<string> }).promise().then(() => undefined, (error: unknown) => error)),
            );
            for (const error of errors) {
                assert.ok(pulumi.RunError.isInstance(error), "a RunError: the engine shows its message without a stack trace");
                assert.match(String((error as Error).message), /the region stack organization\/ecs-anywhere\/region has no output `queueUrl`, `clusterName`: run `pulumi up -s region` first/);
            }
            // One error object for every output, so the run reports it once.
            assert.equal(errors[0], errors[1]);
        });

        it("passes every output through when all are there", async () => {
            await setupMocks({ stack: "anywhere", config: anywhereConfig(), stackOutputs: REGION_STACK_OUTPUTS });
            const region = readRegionStack("organization/ecs-anywhere/region");
            assert.equal(await promiseOf(region.logGroupName), REGION_STACK_OUTPUTS.logGroupName);
            assert.equal(await promiseOf(region.queueUrl), REGION_STACK_OUTPUTS.queueUrl);
        });
});

describe("several anywhere stacks on one region stack", function () {
    this.timeout(60_000);
    it("collide in no AWS name", async () => {
        const names = new Map<string, string>();
        for (const stack of ["anywhere-berlin", "anywhere-pi"]) {
            await runAnywhere(stack);
            const explicit = recorded.filter((r: RecordedResource) => typeof r.inputs.name === "string" && r.type.startsWith("aws:")).map((r) => `${r.type}=${r.inputs.name}`);
            const families = ofType("aws:ecs/taskDefinition:TaskDefinition").map((t) => `family=${t.inputs.family}`);
            for (const name of [...explicit, ...families]) {
                assert.ok(!names.has(name), `${name} is used by ${names.get(name)} and ${stack}`);
                names.set(name, stack);
            }
        }
        assert.ok([...names.keys()].some((n) => n.includes("ecs-anywhere-anywhere-berlin")));
    });
});

describe("host identity fails closed", function () {
    this.timeout(60_000);
    const hostsWith = (changes: Record<string, unknown>[]) => [
        { name: "dc-vm-1", address: "192.0.2.10", user: "ubuntu", hostKey: ED25519_KEY, ...changes[0] },
        { name: "pi-1", address: "192.0.2.20", port: 2222, user: "pi", hostKey: ECDSA_256_KEY, ...changes[1] },
    ];
    const withoutKey = (host: Record<string, unknown>) => Object.fromEntries(Object.entries(host).filter(([k]) => k !== "hostKey"));

    /** Runs the program under mocks and returns what it threw (and that nothing was registered). */
    async function refusal(extra: Record<string, unknown>): Promise<Error> {
        await setupMocks({ stack: "anywhere", config: anywhereConfig(extra), secretKeys: ["ecs-anywhere:sshPrivateKey"], stackOutputs: REGION_STACK_OUTPUTS });
        let thrown: unknown;
        try {
            buildAnywhere({ now: NOW, context: { organization: "organization", project: "ecs-anywhere" } });
        } catch (error) {
            thrown = error;
        }
        await settle();
        assert.ok(thrown instanceof ConfigError, `expected a ConfigError, got ${String(thrown)}`);
        assert.deepEqual(recorded.map((r) => r.urn), [], "no resource is registered, not even the stack reference");
        return thrown;
    }

    it("a host without hostKey stops the run before any resource, naming it and the ssh-keyscan command to check at its console", async () => {
        const hosts = hostsWith([{}, {}]);
        const error = await refusal({ "ecs-anywhere:hosts": [hosts[0], withoutKey(hosts[1])] });
        assert.match(error.message, /^`ecs-anywhere:hosts\[1\]\.hostKey` is not set: host pi-1 \(192\.0\.2\.20\) would be reached without checking its identity/);
        assert.ok(error.message.includes("`ssh-keyscan -t ed25519 -p 2222 192.0.2.20`"), error.message);
        assert.ok(error.message.includes("`npm run --silent host-keys -- 192.0.2.20:2222`"), error.message);
        assert.ok(error.message.includes("`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`"), "says how to check it at the host's console");
        assert.ok(error.message.includes("`insecureIgnoreHostKey: true`"), "names the opt-out");
        assert.ok(!error.message.includes("dc-vm-1"), "the pinned host is not blamed");
    });

    it("names every host without a key in one error", async () => {
        const hosts = hostsWith([{}, {}]);
        const error = await refusal({ "ecs-anywhere:hosts": hosts.map(withoutKey) });
        assert.match(error.message, /^`ecs-anywhere:hosts\[0\]\.hostKey` is not set: host dc-vm-1 \(192\.0\.2\.10\)/);
        assert.match(error.message, /also without a key: host pi-1 \(192\.0\.2\.20\) at `ecs-anywhere:hosts\[1\]\.hostKey`/);
        assert.ok(error.message.includes("`ssh-keyscan -t ed25519 192.0.2.10`, `ssh-keyscan -t ed25519 -p 2222 192.0.2.20`"), error.message);
        assert.ok(error.message.includes("host-keys -- 192.0.2.10 192.0.2.20:2222"), error.message);
    });

    it("a bastion without hostKey stops the run too; it has no opt-out", async () => {
        const error = await refusal({ "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump" } });
        assert.match(error.message, /^`ecs-anywhere:bastion\.hostKey` is not set: the bastion \(198\.51\.100\.5\) would be reached without checking its identity/);
        assert.match(error.message, /every host's connection goes through it/);
        assert.ok(error.message.includes("`ssh-keyscan -t ed25519 198.51.100.5`"), error.message);
        assert.ok(!error.message.includes("insecureIgnoreHostKey"), "no opt-out is offered for the bastion");
        const optOut = await refusal({ "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump", insecureIgnoreHostKey: true } });
        assert.match(optOut.message, /`ecs-anywhere:bastion\.insecureIgnoreHostKey` is true: unknown field; the fields are address, port, user, hostKey/);
    });

    it("tells hosts behind the bastion to scan from the bastion", async () => {
        const hosts = hostsWith([{}, {}]);
        const error = await refusal({ "ecs-anywhere:hosts": [withoutKey(hosts[0]), hosts[1]], "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump", hostKey: ED25519_KEY } });
        assert.match(error.message, /host dc-vm-1 .*for hosts reached through the bastion, run the scan on the bastion/);
    });

    it("an ssh-rsa key is refused before any resource, naming the host and the ed25519 fix", async () => {
        const error = await refusal({ "ecs-anywhere:hosts": hostsWith([{}, { hostKey: RSA_KEY }]) });
        assert.match(error.message, /^`ecs-anywhere:hosts\[1\]\.hostKey` is "ssh-rsa AAAA.*": host pi-1 \(192\.0\.2\.20\): an RSA host key cannot be pinned: .*SHA-1 `ssh-rsa`.*OpenSSH 8\.8/);
        assert.ok(error.message.includes("Pin the host's ed25519 key instead: `ssh-keyscan -t ed25519 -p 2222 192.0.2.20`"), error.message);
        assert.ok(error.message.includes("`sudo ssh-keygen -A`"), "says how a host without an ed25519 key gets one");
        const bastion = await refusal({ "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump", hostKey: RSA_KEY } });
        assert.match(bastion.message, /^`ecs-anywhere:bastion\.hostKey` is "ssh-rsa .*": the bastion \(198\.51\.100\.5\): an RSA host key cannot be pinned/);
    });

    it("insecureIgnoreHostKey: true lets a host through unverified, with a warning naming it; the others stay pinned", async () => {
        const warnings: string[] = [];
        const warn = console.warn;
        // Without an engine, pulumi.log.warn writes to console.warn.
        console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
        let deployment: AnywhereDeployment;
        try {
            const hosts = hostsWith([{}, {}]);
            ({ deployment } = await runAnywhere("anywhere", { "ecs-anywhere:hosts": [hosts[0], { ...withoutKey(hosts[1]), insecureIgnoreHostKey: true }] }));
        } finally {
            console.warn = warn;
        }
        const hostKeyOf = (host: string) => commandsOf(host).map((c) => (c.inputs.connection as { value: Record<string, unknown> }).value.hostKey);
        assert.deepEqual(hostKeyOf("pi-1"), Array(HOST_STEP_NAMES.length - 1).fill(undefined), "pi-1 is reached without a pinned key");
        assert.deepEqual(hostKeyOf("dc-vm-1"), Array(HOST_STEP_NAMES.length - 1).fill(ED25519_KEY));
        assert.equal(deployment.config.hosts[1].insecureIgnoreHostKey, true);
        const expected = unverifiedHostWarning(deployment.config.hosts[1]);
        assert.match(expected, /^host pi-1 \(192\.0\.2\.20\) has insecureIgnoreHostKey: its identity is not verified/);
        assert.deepEqual(warnings.filter((w) => w.includes("insecureIgnoreHostKey")), [`warning: [runtime] ${expected}`]);
    });

    it("a pinned ECDSA key reaches the connection as configured; the bastion's goes to the proxy", () => {
        const config = loadAnywhereConfig(
            readerOf(anywhereConfig({ "ecs-anywhere:hosts": hostsWith([{}, {}]), "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump", hostKey: `${ECDSA_384_KEY} root@bastion` } })),
            { organization: "org", project: "ecs-anywhere" },
        );
        const connection = sshConnection(config.hosts[1], { privateKey: TEST_KEY, ...(config.bastion ? { bastion: config.bastion } : {}) });
        assert.equal(connection.hostKey, ECDSA_256_KEY);
        assert.deepEqual(connection.proxy, { host: "198.51.100.5", port: 22, user: "jump", privateKey: TEST_KEY, hostKey: ECDSA_384_KEY, dialErrorLimit: 15, perDialTimeout: 5 });
    });

    it("dials the host and the bastion alike: 15 failed dials (about 36 s of waiting between them), each given up after 5 s", () => {
        const bastion = { address: "198.51.100.5", port: 22, user: "jump", hostKey: ED25519_KEY };
        const connection = sshConnection({ name: "a", address: "192.0.2.1", port: 22, user: "root", hostKey: ED25519_KEY, insecureIgnoreHostKey: false }, { privateKey: TEST_KEY, bastion });
        const proxy = connection.proxy as { dialErrorLimit: number; perDialTimeout: number };
        assert.deepEqual([connection.dialErrorLimit, connection.perDialTimeout, proxy.dialErrorLimit, proxy.perDialTimeout], [DIAL_ERROR_LIMIT, PER_DIAL_TIMEOUT_SECONDS, DIAL_ERROR_LIMIT, PER_DIAL_TIMEOUT_SECONDS]);
        // The provider's retry (pulumi sdk retry.Until): 0.1 s, x1.5 each time, at most 5 s; the waits between DIAL_ERROR_LIMIT + 1 dials.
        let wait = 0;
        for (let i = 0, delay = 0.1; i < DIAL_ERROR_LIMIT; i++, delay *= 1.5) wait += Math.min(delay, 5);
        assert.ok(wait > 30 && wait < 40, `the waits add up to ${wait.toFixed(1)} s`);
    });
});

describe("host keys", () => {
    const target = { address: "192.0.2.20", port: 22 };
    const refusedFor = (text: string) => {
        try {
            parseHostKey(text, target);
        } catch (error) {
            assert.ok(error instanceof HostKeyError, String(error));
            return error.message;
        }
        assert.fail(`accepted ${text}`);
    };

    it("accepts ed25519 and ECDSA keys, with or without a comment", () => {
        assert.deepEqual(parseHostKey(ED25519_KEY, target), { type: "ssh-ed25519", key: ED25519_KEY });
        assert.deepEqual(parseHostKey(`  ${ECDSA_256_KEY} root@pi-1\n`, target), { type: "ecdsa-sha2-nistp256", key: ECDSA_256_KEY });
        assert.deepEqual(parseHostKey(ECDSA_384_KEY, target), { type: "ecdsa-sha2-nistp384", key: ECDSA_384_KEY });
    });
    it("refuses ssh-rsa: the provider would offer only SHA-1 signatures", () => {
        assert.match(refusedFor(RSA_KEY), /an RSA host key cannot be pinned.*Pin the host's ed25519 key instead: `ssh-keyscan -t ed25519 192\.0\.2\.20`/);
    });
    it("refuses DSA and security-key types, naming the accepted ones", () => {
        for (const type of ["ssh-dss", "sk-ssh-ed25519@openssh.com", "x509v3-sign-rsa"]) {
            assert.match(refusedFor(`${type} AAAAB3NzaC1kc3MAAACBAIbn`), /expected an ed25519 or ECDSA public key \(ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521\)/, type);
        }
    });
    it("says to drop the address of a pasted ssh-keyscan line", () => {
        assert.match(refusedFor(`192.0.2.20 ${ED25519_KEY}`), /drop the leading "192\.0\.2\.20": hostKey is the key alone, e\.g\. ssh-ed25519 AAAAC3NzaC1l\.\.\./);
    });
    it("refuses a key cut short, damaged or under another type's name", () => {
        assert.match(refusedFor(ED25519_KEY.slice(0, -8)), /damaged or cut short/);
        assert.match(refusedFor("ssh-ed25519 not-base64!"), /damaged or cut short \(not base64\)/);
        assert.match(refusedFor(`ssh-ed25519 ${ECDSA_256_KEY.split(" ")[1]}`), /its data does not start with ssh-ed25519/);
        assert.match(refusedFor(`ecdsa-sha2-nistp384 ${ECDSA_256_KEY.split(" ")[1]}`), /its data does not start with ecdsa-sha2-nistp384/);
        assert.match(refusedFor("ssh-ed25519"), /not base64/);
    });
    it("suggests the scan for the host's own port", () => {
        assert.equal(keyscanCommand({ address: "192.0.2.20", port: 2222 }), "ssh-keyscan -t ed25519 -p 2222 192.0.2.20");
        assert.equal(keyscanCommand(target), "ssh-keyscan -t ed25519 192.0.2.20");
    });
});

describe("anywhere config", () => {
    const context = { organization: "org", project: "ecs-anywhere" };
    const base = anywhereConfig();
    const load = (extra: Record<string, unknown>) => loadAnywhereConfig(readerOf({ ...base, ...extra }), context);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ "ecs-anywhere:hosts": [] }, /`ecs-anywhere:hosts` is \[\]: list the hosts to register/],
        [{ "ecs-anywhere:hosts": [{ name: "a'b; touch /tmp/pwned", address: "192.0.2.1", user: "root" }] }, /`ecs-anywhere:hosts\[0\].name` is "a'b; touch \/tmp\/pwned": expected 1 to 32 lower-case letters/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root" }, { name: "a", address: "192.0.2.2", user: "root" }] }, /`ecs-anywhere:hosts\[1\].name` is "a": hosts\[0\] has the same name/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", port: 70000 }] }, /`ecs-anywhere:hosts\[0\].port` is 70000: set it to a whole number from 1 to 65535/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", hostKey: "AAAA" }] }, /`ecs-anywhere:hosts\[0\].hostKey` is "AAAA": host a \(192\.0\.2\.1\): expected an ed25519 or ECDSA public key/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", hostKey: 25519 }] }, /`ecs-anywhere:hosts\[0\].hostKey` is 25519: host a \(192\.0\.2\.1\): expected the host's public key as text/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", insecureIgnoreHostKey: "yes" }] }, /`ecs-anywhere:hosts\[0\].insecureIgnoreHostKey` is "yes": set it to true or false/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", hostKey: ED25519_KEY, insecureIgnoreHostKey: true }] }, /`ecs-anywhere:hosts\[0\].insecureIgnoreHostKey` is true: host a \(192\.0\.2\.1\) has a hostKey, which is checked: remove insecureIgnoreHostKey/],
        [{ "ecs-anywhere:hosts": [{ name: "a", address: "192.0.2.1", user: "root", pasword: "x" }] }, /`ecs-anywhere:hosts\[0\].pasword` is "x": unknown field/],
        [{ "ecs-anywhere:sshPrivateKey": undefined }, /`ecs-anywhere:sshPrivateKey` is not set: set the SSH key/],
        [{ "ecs-anywhere:sshPrivateKey": "hunter2-not-a-key" }, /`ecs-anywhere:sshPrivateKey` is "\(secret, not shown\)": expected a private key/],
        [{ "ecs-anywhere:sshPrivateKey": mockSshKey("aes256-ctr") }, /`ecs-anywhere:sshPrivateKeyPassphrase` is not set: `ecs-anywhere:sshPrivateKey` is encrypted: set its passphrase with `pulumi config set --secret ecs-anywhere:sshPrivateKeyPassphrase`/],
        [{ "ecs-anywhere:sshPrivateKeyPassphrase": "hunter2" }, /`ecs-anywhere:sshPrivateKeyPassphrase` is "\(secret, not shown\)": `ecs-anywhere:sshPrivateKey` is not encrypted: remove it with `pulumi config rm ecs-anywhere:sshPrivateKeyPassphrase`/],
        [{ "ecs-anywhere:sshPrivateKey": undefined, "ecs-anywhere:sshAgentSocket": "/run/agent.sock", "ecs-anywhere:sshPrivateKeyPassphrase": "hunter2" }, /`ecs-anywhere:sshPrivateKeyPassphrase` is "\(secret, not shown\)": no `ecs-anywhere:sshPrivateKey` is set/],
        [{ "ecs-anywhere:activationExpiryDays": 31 }, /`ecs-anywhere:activationExpiryDays` is 31: set it to a whole number from 1 to 30/],
        [{ "ecs-anywhere:dataDir": "data" }, /`ecs-anywhere:dataDir` is "data": expected an absolute folder/],
        [{ "ecs-anywhere:installerSha256": "abc" }, /`ecs-anywhere:installerSha256` is "abc": expected 64 lower-case hex digits/],
        [{ "ecs-anywhere:installerUrl": "http://mirror.example/ecs-anywhere-install.sh" }, /`ecs-anywhere:installerUrl` is "http:\/\/mirror\.example\/ecs-anywhere-install\.sh": expected an https:\/\/ URL \(the hosts fetch it over HTTPS only\)/],
        [{ "ecs-anywhere:installerUrl": "https://mirror.example/ecs-anywhere-install.sh" }, /`ecs-anywhere:installerSha256` is not set: `ecs-anywhere:installerUrl` is not the default, so pin what it serves/],
        [{ "ecs-anywhere:ecsVersion": "latest; rm -rf /" }, /`ecs-anywhere:ecsVersion` is "latest; rm -rf \/": expected an amazon-ecs-init package version such as 1\.105\.0-1/],
        [{ "ecs-anywhere:ssmEndpoint": "http://ssm.eu-west-1.amazonaws.com" }, /`ecs-anywhere:ssmEndpoint` is "http:\/\/ssm\.eu-west-1\.amazonaws\.com": expected an https:\/\/ URL the hosts reach SSM at/],
        [{ "ecs-anywhere:logFileNames": "names" }, /`ecs-anywhere:logFileNames` is "names": set it to one of plain, hash, off/],
        [{ "ecs-anywhere:ssmEndpoint": "vpce-123.ssm" }, /`ecs-anywhere:ssmEndpoint` is "vpce-123.ssm": expected an https:\/\/ URL the hosts reach SSM at/],
        [{ "ecs-anywhere:ecsEndpoint": "https://ecs .example" }, /`ecs-anywhere:ecsEndpoint` is "https:\/\/ecs \.example": expected an https:\/\/ URL the hosts reach ECS at/],
    ];
    for (const [extra, message] of bad) {
        it(`stops on ${JSON.stringify(extra).slice(0, 90)}`, () => {
            const config = { ...base, ...extra };
            for (const [k, v] of Object.entries(extra)) if (v === undefined) delete config[k];
            assert.throws(() => loadAnywhereConfig(readerOf(config), context), (error: unknown) => error instanceof ConfigError && message.test(error.message));
        });
    }
    it("hands an encrypted key's passphrase to every connection, the bastion's too, as a secret", async () => {
        const bastion = { address: "198.51.100.5", user: "jump", hostKey: ECDSA_384_KEY };
        const config = load({ "ecs-anywhere:sshPrivateKey": mockSshKey("aes256-ctr"), "ecs-anywhere:sshPrivateKeyPassphrase": "hunter2", "ecs-anywhere:bastion": bastion });
        assert.ok(config.sshPrivateKeyPassphrase !== undefined && (await isSecretOutput(config.sshPrivateKeyPassphrase)), "the passphrase is a secret");
        const connection = sshConnection(config.hosts[0], { privateKey: TEST_KEY, privateKeyPassword: config.sshPrivateKeyPassphrase, bastion: config.bastion });
        assert.equal(await promiseOf(connection.privateKeyPassword as pulumi.Output<string>), "hunter2");
        assert.equal(await promiseOf((connection.proxy as unknown as { privateKeyPassword: pulumi.Output<string> }).privateKeyPassword), "hunter2");
        assert.equal(sshConnection(config.hosts[0], { privateKey: TEST_KEY }).privateKeyPassword, undefined, "no passphrase, none given");
    });
    it("never prints the private key or its passphrase in an error", () => {
        for (const extra of [{ "ecs-anywhere:sshPrivateKey": "hunter2-not-a-key" }, { "ecs-anywhere:sshPrivateKeyPassphrase": "hunter2" }, { "ecs-anywhere:sshPrivateKey": `${mockSshKey("aes256-ctr")}hunter2` }]) {
            assert.throws(() => load(extra), (error: unknown) => error instanceof ConfigError && !error.message.includes("hunter2"));
        }
    });
    it("hands the hosts' SSM and ECS endpoints to preflight, and ECS's to the installer", () => {
        const config = load({ "ecs-anywhere:ssmEndpoint": "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com", "ecs-anywhere:ecsEndpoint": "https://vpce-1.ecs.eu-west-1.vpce.amazonaws.com" });
        assert.equal(config.ssmEndpoint, "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com");
        const commands = hostCommands({ hostName: "pi-1", region: "eu-west-1", cluster: "c", dataDir: "/data", installerUrl: config.installerUrl, installerSha256: config.installerSha256, ecsVersion: config.ecsVersion, reregister: false, verifyTimeoutSeconds: 60, ssmEndpoint: config.ssmEndpoint, ecsEndpoint: config.ecsEndpoint });
        assert.match(commands.preflight, /SSM_ENDPOINT='https:\/\/vpce-1\.ssm\.eu-west-1\.vpce\.amazonaws\.com' ECS_ENDPOINT='https:\/\/vpce-1\.ecs/);
        assert.match(commands.install, /ECS_ENDPOINT='https:\/\/vpce-1\.ecs\.eu-west-1\.vpce\.amazonaws\.com'/);
        assert.doesNotMatch(hostCommands({ hostName: "pi-1", region: "eu-west-1", cluster: "c", dataDir: "/data", installerUrl: config.installerUrl, installerSha256: config.installerSha256, ecsVersion: config.ecsVersion, reregister: false, verifyTimeoutSeconds: 60 }).install, /ECS_ENDPOINT='/);
    });
    it("reads the example with its defaults", () => {
        const config = load({});
        assert.equal(config.regionStack, "org/ecs-anywhere/region");
        assert.equal(config.hosts.length, 2);
        assert.equal(config.desiredCount, 2);
        assert.equal(config.logFileNames, "hash");
        assert.equal(config.dataDir, "/data");
        assert.equal(config.hosts[1].port, 22);
        assert.equal(config.ssmEndpoint, undefined, "the region's public endpoints unless set");
    });
});

describe("remote commands quote every value", () => {
    const hostile = "a'b; touch /tmp/pwned-quote-$$ `touch /tmp/pwned-quote-bt` $(touch /tmp/pwned-quote-cs)\n\"x\"";
    let dir: string;
    before(() => {
        // A stand-in for hosts/bootstrap whose every step prints its environment, NUL-separated.
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-quote-"));
        fs.writeFileSync(path.join(dir, "common.sh"), "set -eu\n");
        for (const step of HOST_STEPS) fs.writeFileSync(path.join(dir, `${step}.sh`), 'for v in HOST_NAME REGION CLUSTER DATA_DIR; do printf "%s=%s\\0" "$v" "${!v-}"; done\n');
        // A host's passwordless sudo, which the line calls when run by a user other than root: it takes only `-n` and logs each call.
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "sudo"), `#!/bin/sh\n[ "$1" = -n ] || { echo "sudo stand-in: -n expected first: $*" >&2; exit 64; }\nshift\necho "$1" >>${shellQuote(path.join(dir, "sudo-calls"))}\nexec "$@"\n`, { mode: 0o755 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("shellQuote survives every byte but NUL", () => {
        const all = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join("");
        assert.equal(execFileSync("bash", ["-c", `printf '%s' ${shellQuote(all)}`]).toString("utf8"), all);
        assert.throws(() => shellQuote("a\0b"), /NUL/);
    });

    it("a host or cluster named `a'b; touch /tmp/pwned` arrives intact and runs nothing (as root, or through `sudo -n` as another user)", () => {
        for (const step of HOST_STEPS) {
            const line = remoteScriptCommand(step, { HOST_NAME: hostile, REGION: hostile, CLUSTER: hostile, DATA_DIR: hostile }, dir);
            // Run as the SSH server would: the remote user's shell gets the line with -c.
            const out = execFileSync("sh", ["-c", line], { env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}` } }).toString();
            const env = Object.fromEntries(out.split("\0").filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
            assert.deepEqual(env, { HOST_NAME: hostile, REGION: hostile, CLUSTER: hostile, DATA_DIR: hostile }, step);
        }
        assert.deepEqual(fs.readdirSync("/tmp").filter((name) => name.startsWith("pwned-quote")), []);
        const sudoCalls = fs.existsSync(path.join(dir, "sudo-calls")) ? fs.readFileSync(path.join(dir, "sudo-calls"), "utf8") : "";
        assert.equal(sudoCalls, process.getuid?.() === 0 ? "" : "env\n".repeat(HOST_STEPS.length), "sudo -n exactly when not root");
    });

    it("rejects variable names that are not plain identifiers", () => {
        assert.throws(() => remoteScriptCommand("verify", { "A;B": "x" }, dir), /bad variable name/);
    });
});

describe("verify output", () => {
    it("parses the ids from the last line and names the host when they are missing", () => {
        const arn = "arn:aws:ecs:eu-west-1:123456789012:container-instance/c/0123456789abcdef0123456789abcdef";
        assert.deepEqual(parseVerifyOutput("pi-1", `noise\n{"managedInstanceId":"mi-0123456789abcdef0","containerInstanceArn":"${arn}"}\n`), { managedInstanceId: "mi-0123456789abcdef0", containerInstanceArn: arn });
        assert.throws(() => parseVerifyOutput("pi-1", "agent not ready"), /host pi-1: verify did not print its result line/);
        assert.throws(() => parseVerifyOutput("pi-1", '{"managedInstanceId":"i-1"}'), /host pi-1: verify printed unexpected ids/);
    });
});

describe("SSH client keys: passphrase or not, told from the text", () => {
    const keygen = spawnSync("sh", ["-c", "command -v ssh-keygen"]).status === 0;
    const made = (args: string[]): string => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssh-key-test-"));
        try {
            execFileSync("ssh-keygen", ["-q", ...args, "-f", path.join(dir, "key")]);
            return fs.readFileSync(path.join(dir, "key"), "utf8");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
    it("the mock keys of these tests: none, or a cipher", () => {
        assert.equal(keyProtection(mockSshKey()), "none");
        assert.equal(keyProtection(mockSshKey("aes256-ctr")), "passphrase");
        assert.equal(keyProtection("-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"), "unknown");
        assert.equal(keyProtection("hunter2"), "unknown");
    });
    it("keys ssh-keygen makes: OpenSSH, PEM and PKCS#8, with and without a passphrase", function () {
        if (!keygen) this.skip(); // ssh-keygen is missing: apt-get install openssh-client
        const cases: Array<[string[], string]> = [
            [["-t", "ed25519", "-N", ""], "none"],
            [["-t", "ed25519", "-N", "pass phrase"], "passphrase"],
            [["-t", "ecdsa", "-N", "pass phrase"], "passphrase"],
            [["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""], "none"],
            [["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "pass phrase"], "passphrase"],
            [["-t", "ecdsa", "-m", "PKCS8", "-N", "pass phrase"], "passphrase"],
            [["-t", "ecdsa", "-m", "PKCS8", "-N", ""], "none"],
        ];
        for (const [args, expected] of cases) assert.equal(keyProtection(made(args)), expected, `ssh-keygen ${args.join(" ")}`);
    });
});
