/**
 * The hosts' AWS-side deregistration at destroy: the stack's AWS settings it uses, the credentials
 * it builds from them, the account check before "not found" may count as already gone, the order
 * of the calls, and the dynamic provider's diff (new settings update, new ids replace). No AWS:
 * the SDK calls and credential providers are fakes; the e2e-parts tests run the real SDK against
 * stand-in endpoints.
 */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { loadSerializedProvider } from "../../test-support/serialized-provider";
import { holdsSecrets, readAwsAccess } from "../anywhere/aws-access";
import { credentialPlan, credentialsFromPlan, DEFAULT_SESSION_NAME, describeCredentials, memoizeCredentials, type AwsAccess, type CredentialFactories, type CredentialProvider } from "../anywhere/aws-credentials";
import {
    deleteRegistration,
    deregisterHost,
    deregistrationClientSettings,
    HostRegistration,
    hostRegistrationProvider,
    isAlreadyGone,
    registrationScope,
    type DeregistrationApi,
    type HostRegistrationProps,
} from "../anywhere/deregister";
import { ConfigError } from "../config";
import { readerOf } from "./support/example-config";
import { ofType, settle, setupMocks } from "./support/mocks";

const HOME = "/home/operator";
const HOST_ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "210987654321";
const ARN = `arn:aws:ecs:eu-west-1:${HOST_ACCOUNT}:container-instance/ecs-anywhere-anywhere/0123456789abcdef0123456789abcdef`;
const TARGET = { region: "eu-west-1", cluster: "ecs-anywhere-anywhere", containerInstanceArn: ARN, managedInstanceId: "mi-0123456789abcdef0" };
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecretValue = (value: unknown): boolean => typeof value === "object" && value !== null && SECRET_SIG in value;

const gone = (name: string, message: string) => Object.assign(new Error(message), { name });

/** A fake AWS: the caller's account, and what is still registered there; every call in `calls`. */
function fakeApi(options: { account: string; ecs?: boolean; ssm?: boolean; ecsError?: Error; ssmError?: Error; stsError?: Error }, calls: string[]): DeregistrationApi {
    const state = { ecs: options.ecs ?? true, ssm: options.ssm ?? true };
    return {
        async callerAccount() {
            calls.push("sts");
            if (options.stsError) throw options.stsError;
            return options.account;
        },
        async deregisterContainerInstance(cluster, arn) {
            calls.push(`ecs ${cluster} ${arn}`);
            if (options.ecsError) throw options.ecsError;
            // As AWS answers in any account: a host it does not know is "not found".
            if (!state.ecs || options.account !== HOST_ACCOUNT) throw gone("InvalidParameterException", "Container instance not found.");
            state.ecs = false;
        },
        async deregisterManagedInstance(id) {
            calls.push(`ssm ${id}`);
            if (options.ssmError) throw options.ssmError;
            if (state.ssm && state.ecs) throw new Error("SSM before ECS");
            if (!state.ssm || options.account !== HOST_ACCOUNT) throw gone("InvalidInstanceId", `Instance ${id} is not registered`);
            state.ssm = false;
        },
    };
}

type FactoryLog = Array<{ factory: string; init: Record<string, unknown>; provider: CredentialProvider }>;

/** Credential factories that record how they were called; each provider resolves to keys naming it. */
function fakeFactories(log: FactoryLog, files: Record<string, string> = {}): CredentialFactories {
    const make = (factory: string) => (init: object) => {
        const provider: CredentialProvider = async () => ({ accessKeyId: `AKIA-${factory}-${log.length}`, secretAccessKey: "x" });
        log.push({ factory, init: init as Record<string, unknown>, provider });
        return provider;
    };
    return {
        fromNodeProviderChain: make("fromNodeProviderChain"),
        fromIni: make("fromIni"),
        fromWebToken: make("fromWebToken"),
        fromTemporaryCredentials: make("fromTemporaryCredentials"),
        readFile: (file) => {
            log.push({ factory: "readFile", init: { file }, provider: async () => ({ accessKeyId: "", secretAccessKey: "" }) });
            return files[file] ?? "";
        },
    };
}

describe("the stack's AWS settings (aws:*)", () => {
    it("are empty when none is set: the SDK's default chain", () => {
        assert.deepEqual(readAwsAccess(readerOf({ "aws:region": "eu-west-1" })), {});
        assert.deepEqual(credentialPlan({}, HOME), { base: { kind: "default-chain" }, roles: [] });
        assert.deepEqual(credentialPlan(undefined, HOME), { base: { kind: "default-chain" }, roles: [] });
    });

    it("reads profile, shared files, keys, roles (durations in seconds), STS region and the ECS/SSM/STS endpoints as the aws provider takes them", () => {
        const access = readAwsAccess(
            readerOf({
                "aws:profile": "ops",
                "aws:sharedConfigFiles": ["~/.aws/config-ops"],
                "aws:sharedCredentialsFiles": ["/etc/aws/credentials"],
                "aws:assumeRoles": [
                    { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer`, sessionName: "ci", externalId: "ext-1", duration: "1h30m", tags: { team: "ops" }, transitiveTagKeys: ["team"] },
                    { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/path/to/admin`, duration: "900s", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] },
                ],
                "aws:stsRegion": "us-east-1",
                "aws:endpoints": [{ ecs: "http://127.0.0.1:4566", s3: "http://ignored" }, { sts: "http://127.0.0.1:4567" }],
            }),
        );
        assert.deepEqual(access, {
            profile: "ops",
            sharedConfigFiles: ["~/.aws/config-ops"],
            sharedCredentialsFiles: ["/etc/aws/credentials"],
            assumeRoles: [
                { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer`, sessionName: "ci", externalId: "ext-1", durationSeconds: 5400, tags: { team: "ops" }, transitiveTagKeys: ["team"] },
                { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/path/to/admin`, durationSeconds: 900, policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] },
            ],
            stsRegion: "us-east-1",
            endpoints: { ecs: "http://127.0.0.1:4566", sts: "http://127.0.0.1:4567" },
        });
        assert.equal(holdsSecrets(access), false);
        assert.equal(holdsSecrets(readAwsAccess(readerOf({ "aws:accessKey": "AKIAEXAMPLE", "aws:secretKey": "s3cret" }))), true);
        assert.equal(holdsSecrets(readAwsAccess(readerOf({ "aws:assumeRoleWithWebIdentity": { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/ci`, webIdentityToken: "eyJ" } }))), true);
        assert.equal(holdsSecrets(readAwsAccess(readerOf({ "aws:assumeRoleWithWebIdentity": { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/ci`, webIdentityTokenFile: "/run/token" } }))), false);
    });

    it("refuses at `pulumi up` what the deregistration could not honour, naming the key and never a secret", () => {
        const refuses = (config: Record<string, unknown>, key: string, fix: RegExp) => {
            assert.throws(
                () => readAwsAccess(readerOf(config)),
                (error: unknown) => error instanceof ConfigError && error.key === key && fix.test(error.message) && !error.message.includes("s3cret"),
                `${key}: ${JSON.stringify(config)}`,
            );
        };
        refuses({ "aws:sharedConfigFiles": ["/a", "/b"] }, "aws:sharedConfigFiles", /reads one such file/);
        refuses({ "aws:sharedCredentialsFiles": ["/a", "/b"] }, "aws:sharedCredentialsFiles", /reads one such file/);
        refuses({ "aws:assumeRoles": [{ roleArn: "deployer" }] }, "aws:assumeRoles[0].roleArn", /ARN of an IAM role/);
        refuses({ "aws:assumeRoles": { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/x` } }, "aws:assumeRoles", /list/);
        refuses({ "aws:assumeRoles": [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/x`, duration: "1d" }] }, "aws:assumeRoles[0].duration", /15m to 12h/);
        refuses({ "aws:assumeRoles": [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/x`, duration: "5m" }] }, "aws:assumeRoles[0].duration", /15m to 12h/);
        refuses({ "aws:assumeRoles": [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/x`, sessionName: "a b" }] }, "aws:assumeRoles[0].sessionName", /letters/);
        refuses({ "aws:secretKey": "s3cret" }, "aws:accessKey", /both/);
        refuses({ "aws:accessKey": "AKIAEXAMPLE" }, "aws:secretKey", /both/);
        refuses({ "aws:assumeRoleWithWebIdentity": { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/ci` } }, "aws:assumeRoleWithWebIdentity", /exactly one/);
        refuses({ "aws:stsRegion": "Frankfurt" }, "aws:stsRegion", /region/);
    });
});

describe("the deregistration's credentials, from the recorded settings", () => {
    it("uses the profile with the shared files (~ expanded), then assumes each role with the credentials before it", async () => {
        const access: AwsAccess = {
            profile: "ops",
            sharedConfigFiles: ["~/.aws/config-ops"],
            sharedCredentialsFiles: ["/etc/aws/credentials"],
            assumeRoles: [
                { roleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/hop`, externalId: "ext-1", durationSeconds: 5400, tags: { team: "ops" } },
                { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer`, sessionName: "ci", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] },
            ],
        };
        const log: FactoryLog = [];
        const credentials = credentialsFromPlan(credentialPlan(access, HOME), { region: "eu-west-1" }, fakeFactories(log));
        assert.deepEqual(
            log.map((entry) => entry.factory),
            ["fromIni", "fromTemporaryCredentials", "fromTemporaryCredentials"],
        );
        assert.deepEqual(log[0].init, { profile: "ops", filepath: "/etc/aws/credentials", configFilepath: `${HOME}/.aws/config-ops`, clientConfig: { region: "eu-west-1" } });
        assert.deepEqual(log[1].init.params, { RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/hop`, RoleSessionName: DEFAULT_SESSION_NAME, ExternalId: "ext-1", DurationSeconds: 5400, Tags: [{ Key: "team", Value: "ops" }] });
        assert.equal(log[1].init.masterCredentials, log[0].provider, "the first role is assumed with the profile's credentials");
        assert.deepEqual(log[2].init.params, { RoleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer`, RoleSessionName: "ci", PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }] });
        assert.equal(log[2].init.masterCredentials, log[1].provider, "the second role with the first role's");
        assert.deepEqual(await credentials(), await log[2].provider(), "the clients get the last role's credentials");
        assert.deepEqual(log[2].init.clientConfig, { region: "eu-west-1" });
    });

    it("without a profile: the SDK's default chain with the shared files; static keys and a web identity come before the profile, as in the aws provider", async () => {
        const log: FactoryLog = [];
        credentialsFromPlan(credentialPlan({ sharedConfigFiles: ["~/cfg"] }, HOME), { region: "eu-west-1", endpoint: "http://127.0.0.1:1" }, fakeFactories(log));
        assert.deepEqual(
            log.map((e) => [e.factory, e.init]),
            [["fromNodeProviderChain", { filepath: undefined, configFilepath: `${HOME}/cfg`, clientConfig: { region: "eu-west-1", endpoint: "http://127.0.0.1:1" } }]],
        );

        log.length = 0;
        const keys = credentialsFromPlan(credentialPlan({ profile: "ops", accessKey: "AKIAEXAMPLE", secretKey: "s3cret", token: "t0ken" }, HOME), { region: "eu-west-1" }, fakeFactories(log));
        assert.equal(log.length, 0, "static keys need no provider");
        assert.deepEqual(await keys(), { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cret", sessionToken: "t0ken" });

        log.length = 0;
        const web = credentialsFromPlan(
            credentialPlan({ profile: "ops", assumeRoleWithWebIdentity: { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/ci`, webIdentityTokenFile: "~/token", durationSeconds: 3600 } }, HOME),
            { region: "eu-west-1" },
            fakeFactories(log, { [`${HOME}/token`]: "eyJ-token" }),
        );
        assert.equal(log.length, 0, "the token file is read only when the credentials are needed");
        await web();
        assert.deepEqual(
            log.map((e) => [e.factory, e.init]),
            [
                ["readFile", { file: `${HOME}/token` }],
                ["fromWebToken", { roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/ci`, roleSessionName: DEFAULT_SESSION_NAME, durationSeconds: 3600, webIdentityToken: "eyJ-token", clientConfig: { region: "eu-west-1" } }],
            ],
        );
    });

    it("gives ECS and SSM the host's region and STS the STS region, all with the same credentials and the configured endpoints", () => {
        const log: FactoryLog = [];
        const settings = deregistrationClientSettings(
            "eu-central-1",
            { profile: "ops", stsRegion: "us-east-1", endpoints: { ssm: "http://127.0.0.1:2", sts: "http://127.0.0.1:3" }, assumeRoles: [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer` }] },
            fakeFactories(log),
            HOME,
        );
        const credentials = settings.ecs.credentials;
        assert.deepEqual(settings, {
            ecs: { region: "eu-central-1", credentials },
            ssm: { region: "eu-central-1", credentials, endpoint: "http://127.0.0.1:2" },
            sts: { region: "us-east-1", credentials, endpoint: "http://127.0.0.1:3" },
        });
        assert.deepEqual(log[1].init.clientConfig, { region: "us-east-1", endpoint: "http://127.0.0.1:3" }, "roles are assumed in the STS region, at its endpoint");
    });

    it("resolves the credentials once for the three clients, again when they near expiry, and retries after a failure", async () => {
        let calls = 0;
        const credentials = memoizeCredentials(async () => ({ accessKeyId: `AKIA${++calls}`, secretAccessKey: "x" }));
        const keys = await Promise.all([credentials(), credentials(), credentials()]);
        assert.deepEqual(keys.map((k) => k.accessKeyId), ["AKIA1", "AKIA1", "AKIA1"]);
        assert.equal((await credentials()).accessKeyId, "AKIA1");
        assert.equal(calls, 1);

        calls = 0;
        const expiring = memoizeCredentials(async () => ({ accessKeyId: `AKIA${++calls}`, secretAccessKey: "x", expiration: new Date(Date.now() + 60_000) }));
        await expiring();
        assert.equal((await expiring()).accessKeyId, "AKIA2", "credentials 1 minute from expiry are fetched again");

        let fail = true;
        const failing = memoizeCredentials(async () => {
            if (fail) throw new Error("no credentials");
            return { accessKeyId: "AKIA-late", secretAccessKey: "x" };
        });
        await assert.rejects(failing(), /no credentials/);
        fail = false;
        assert.equal((await failing()).accessKeyId, "AKIA-late");
    });

    it("describes where the credentials come from without a key", () => {
        assert.match(describeCredentials(undefined), /default credentials/);
        assert.equal(describeCredentials({ profile: "ops", assumeRoles: [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer` }] }), `profile \`ops\`, then role arn:aws:iam::${HOST_ACCOUNT}:role/deployer`);
        const described = describeCredentials({ accessKey: "AKIAEXAMPLE", secretKey: "s3cret", token: "t0ken" });
        assert.ok(!/AKIAEXAMPLE|s3cret|t0ken/.test(described), described);
    });
});

describe("AWS-side deregistration", () => {
    it("checks the account first, then deregisters the container instance before the managed instance", async () => {
        const calls: string[] = [];
        const result = await deregisterHost(fakeApi({ account: HOST_ACCOUNT }, calls), TARGET);
        assert.deepEqual(calls, ["sts", `ecs ${TARGET.cluster} ${ARN}`, `ssm ${TARGET.managedInstanceId}`]);
        assert.deepEqual(result, { ecs: "deregistered", ssm: "deregistered" });
    });

    it("in the host's account, 'not found' is already gone: deregistering twice succeeds", async () => {
        const calls: string[] = [];
        const api = fakeApi({ account: HOST_ACCOUNT }, calls);
        await deregisterHost(api, TARGET);
        assert.deepEqual(await deregisterHost(api, TARGET), { ecs: "already-gone", ssm: "already-gone" });
        assert.deepEqual(calls.filter((c) => c === "sts").length, 2, "the account is checked every time");
        assert.ok(isAlreadyGone(gone("ClusterNotFoundException", "Cluster not found.")));
        assert.ok(!isAlreadyGone(gone("AccessDeniedException", "not found")));
    });

    it("in another account, refuses before any deregistration, naming the host, both accounts and the fixes", async () => {
        const calls: string[] = [];
        const access: AwsAccess = { profile: "sandbox" };
        await assert.rejects(deregisterHost(fakeApi({ account: OTHER_ACCOUNT }, calls), TARGET, access), (error: Error) => {
            assert.match(error.message, new RegExp(`refusing to deregister host ${ARN.replace(/[/]/g, "\\/")}`));
            assert.match(error.message, new RegExp(`registered in AWS account ${HOST_ACCOUNT} \\(eu-west-1\\)`));
            assert.match(error.message, new RegExp(`profile \`sandbox\`, are of account ${OTHER_ACCOUNT}`));
            assert.match(error.message, /Nothing was deregistered/);
            assert.match(error.message, /aws:profile/);
            assert.match(error.message, /aws:assumeRoles/);
            assert.match(error.message, /pulumi state delete/);
            assert.doesNotMatch(error.message, /AWS_PROFILE=/, "recorded settings decide, not the environment");
            return true;
        });
        assert.deepEqual(calls, ["sts"], "no ECS or SSM call, so no 'not found' taken as gone");
    });

    it("lets other errors through: ECS's stops before SSM, SSM's after ECS", async () => {
        const denied = gone("AccessDeniedException", "User is not authorized to perform: ecs:DeregisterContainerInstance");
        let calls: string[] = [];
        await assert.rejects(deregisterHost(fakeApi({ account: HOST_ACCOUNT, ecsError: denied }, calls), TARGET), (error) => error === denied);
        assert.deepEqual(calls, ["sts", `ecs ${TARGET.cluster} ${ARN}`]);

        calls = [];
        const throttled = gone("ThrottlingException", "Rate exceeded");
        await assert.rejects(deregisterHost(fakeApi({ account: HOST_ACCOUNT, ssmError: throttled }, calls), TARGET), (error) => error === throttled);
        assert.deepEqual(calls, ["sts", `ecs ${TARGET.cluster} ${ARN}`, `ssm ${TARGET.managedInstanceId}`]);
    });

    it("fails naming the host when the caller's account cannot be learned, and deregisters nothing", async () => {
        const calls: string[] = [];
        const expired = gone("ExpiredToken", "The security token included in the request is expired");
        await assert.rejects(deregisterHost(fakeApi({ account: HOST_ACCOUNT, stsError: expired }, calls), TARGET, { profile: "ops" }), (error: Error) => {
            assert.match(error.message, /could not learn the account/);
            assert.match(error.message, /profile `ops`/);
            assert.match(error.message, /ExpiredToken: The security token included in the request is expired/);
            assert.equal(error.cause, expired);
            return true;
        });
        assert.deepEqual(calls, ["sts"]);
    });

    it("reads account and region from the container instance ARN, and refuses one that names neither", async () => {
        assert.deepEqual(registrationScope(ARN), { partition: "aws", region: "eu-west-1", account: HOST_ACCOUNT });
        assert.deepEqual(registrationScope(`arn:aws-us-gov:ecs:us-gov-west-1:${OTHER_ACCOUNT}:container-instance/c/0123`), { partition: "aws-us-gov", region: "us-gov-west-1", account: OTHER_ACCOUNT });
        const calls: string[] = [];
        await assert.rejects(deregisterHost(fakeApi({ account: HOST_ACCOUNT }, calls), { ...TARGET, containerInstanceArn: "arn:aws:ecs:eu-west-1:1:container-instance/c/1" }), /does not name the account and region/);
        assert.deepEqual(calls, []);
    });
});

const props: HostRegistrationProps = { ...TARGET, aws: { profile: "ops" } };

describe("the HostRegistration provider", () => {

    it("deletes in the region of the container instance ARN, with the recorded settings", async () => {
        const made: Array<[string, AwsAccess | undefined]> = [];
        const calls: string[] = [];
        const elsewhere = { ...props, region: "eu-central-1" };
        assert.deepEqual(
            await deleteRegistration(elsewhere, (region, access) => {
                made.push([region, access]);
                return fakeApi({ account: HOST_ACCOUNT }, calls);
            }),
            { ecs: "deregistered", ssm: "deregistered" },
        );
        assert.deepEqual(made, [["eu-west-1", { profile: "ops" }]]);
    });

    it("deletes a registration recorded before the settings were (no `aws`): default chain, and still the account check", async () => {
        const { aws: _aws, ...old } = props;
        const made: Array<[string, AwsAccess | undefined]> = [];
        const calls: string[] = [];
        await assert.rejects(
            deleteRegistration(old, (region, access) => {
                made.push([region, access]);
                return fakeApi({ account: OTHER_ACCOUNT }, calls);
            }),
            /default credentials.*are of account 210987654321.*Fix: run the destroy with credentials of account 123456789012 \(e\.g\. `AWS_PROFILE=/,
        );
        assert.deepEqual(made, [["eu-west-1", undefined]]);
        assert.deepEqual(calls, ["sts"]);
    });

    it("diff: other AWS settings or new provider code are an update; other ids a replacement, deleting first", async () => {
        const diff = (olds: object, news: object) => hostRegistrationProvider.diff!("id", { ...props, __provider: "v1", ...olds }, { ...props, __provider: "v1", ...news });
        assert.deepEqual(await diff({}, {}), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({}, { aws: { profile: "prod" } }), { changes: true, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({}, { aws: { profile: "ops", assumeRoles: [{ roleArn: `arn:aws:iam::${HOST_ACCOUNT}:role/deployer` }] } }), { changes: true, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ aws: undefined }, { aws: { profile: "ops" } }), { changes: true, replaces: [], deleteBeforeReplace: true }, "a stack made before: an update records the settings");
        assert.deepEqual(await diff({ aws: undefined }, { aws: {} }), { changes: false, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ aws: { stsRegion: "us-east-1", profile: "ops" } }, { aws: { profile: "ops", stsRegion: "us-east-1" } }), { changes: false, replaces: [], deleteBeforeReplace: true }, "key order is no change");
        assert.deepEqual(await diff({}, { __provider: "v2" }), { changes: true, replaces: [], deleteBeforeReplace: true }, "new code is recorded, so the delete runs it");
        assert.deepEqual(await diff({}, { managedInstanceId: "mi-0fffffffffffffff0" }), { changes: true, replaces: ["managedInstanceId"], deleteBeforeReplace: true });
        assert.deepEqual(await diff({}, { containerInstanceArn: `${ARN}1`, cluster: "other", aws: { profile: "prod" } }), { changes: true, replaces: ["cluster", "containerInstanceArn"], deleteBeforeReplace: true });
        assert.deepEqual(await diff({}, { region: "eu-central-1" }), { changes: true, replaces: ["region"], deleteBeforeReplace: true });
    });

    it("diff in a preview: ids verify has yet to report are a possible update, not a replacement (no deregistration previewed)", async () => {
        const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's unknown sentinel, as the dynamic provider receives it
        const diff = (news: object) => hostRegistrationProvider.diff!("id", { ...props, __provider: "v1" }, { ...props, __provider: "v1", ...news });
        assert.deepEqual(await diff({ containerInstanceArn: UNKNOWN, managedInstanceId: UNKNOWN }), { changes: true, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await diff({ containerInstanceArn: UNKNOWN, cluster: "other" }), { changes: true, replaces: ["cluster"], deleteBeforeReplace: true }, "a known change still replaces");
    });

    it("update records the new settings", async () => {
        const news = { ...props, aws: { profile: "prod" } };
        assert.deepEqual(await hostRegistrationProvider.update!("id", props, news), { outs: news });
    });
});

describe("the HostRegistration resource, under Pulumi mocks", function () {
    this.timeout(60_000);
    before(async () => {
        await setupMocks({ stack: "anywhere" });
        new HostRegistration("plain", { ...TARGET, aws: { profile: "ops" } });
        new HostRegistration("keys", { ...TARGET, aws: pulumi.output({ accessKey: "AKIAEXAMPLE", secretKey: "s3cret" }) });
        new HostRegistration("none", TARGET);
        await settle();
    });
    const input = (name: string) => {
        const found = ofType("pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration").find((r) => r.name === name);
        assert.ok(found, name);
        return found.inputs;
    };

    it("records the settings, as a secret when they hold keys", () => {
        assert.deepEqual(input("plain").aws, { profile: "ops" });
        assert.ok(isSecretValue(input("keys").aws), "static keys are recorded as a secret");
        assert.ok(!JSON.stringify(input("plain")).includes(SECRET_SIG));
        assert.equal(input("none").aws, undefined);
        assert.equal(input("none").containerInstanceArn, ARN);
    });

    it("stores a provider whose code loads on its own, small, and diffs as above", async () => {
        const text = input("plain").__provider as string;
        assert.equal(typeof text, "string");
        // The Pulumi SDK or the config readers captured by mistake would make it ~130 KB in every host's state.
        assert.ok(text.length < 60_000, `serialized provider is ${text.length} characters`);
        assert.ok(!text.includes('require("@pulumi/pulumi'), "the serialized provider does not load the Pulumi SDK");
        const provider = loadSerializedProvider(text);
        assert.deepEqual(await provider.diff!("id", { ...props, __provider: text }, { ...props, aws: { profile: "prod" }, __provider: text }), { changes: true, replaces: [], deleteBeforeReplace: true });
        assert.deepEqual(await provider.diff!("id", { ...props, __provider: text }, { ...props, managedInstanceId: "mi-0fffffffffffffff0", __provider: text }), {
            changes: true,
            replaces: ["managedInstanceId"],
            deleteBeforeReplace: true,
        });
    });
});
