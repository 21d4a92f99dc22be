/**
 * Pulumi mocks for the infra tests: realistic ids and ARNs per resource type, a record of every
 * resource created (type, name, inputs, URN), StackReference outputs the test chooses, and a
 * `promiseOf` helper to await an Output.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { sealActivationCode } from "../../anywhere/seal";

export const ACCOUNT = "123456789012";
export const MOCK_REGION = "eu-west-1";

/** The region stack's contract outputs as an anywhere stack reads them (tests of both the program and the policy pack). */
export const REGION_STACK_OUTPUTS = {
    region: MOCK_REGION,
    queueUrl: `https://sqs.${MOCK_REGION}.amazonaws.com/${ACCOUNT}/ecs-anywhere-region-queue-1a2b3c`,
    queueArn: `arn:aws:sqs:${MOCK_REGION}:${ACCOUNT}:ecs-anywhere-region-queue-1a2b3c`,
    deadLetterQueueUrl: `https://sqs.${MOCK_REGION}.amazonaws.com/${ACCOUNT}/ecs-anywhere-region-dlq-4d5e6f`,
    imageUri: `${ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/ecs-anywhere-region-repository:latest@sha256:${"ab".repeat(32)}`,
    logGroupName: "/ecs/ecs-anywhere-region",
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-anywhere-region-task-7a8b9c`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-anywhere-region-execution-0d1e2f`,
    clusterName: "ecs-anywhere-region-cluster-3a4b5c",
};

/**
 * A stand-in SSH private key in the OpenSSH format, shaped as ssh-keygen writes one (magic, cipher,
 * KDF, options, one key) with mock key bytes: `cipher` "none" for a key without passphrase.
 */
export function mockSshKey(cipher = "none"): string {
    const field = (text: string) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(text.length);
        return Buffer.concat([length, Buffer.from(text, "latin1")]);
    };
    const count = Buffer.from([0, 0, 0, 1]);
    const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), field(cipher), field(cipher === "none" ? "none" : "bcrypt"), field(""), count, field("mock public key"), field("mock private key")]);
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The SSH key of the tests' anywhere stacks. */
export const TEST_SSH_KEY = mockSshKey();

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    readonly id: string;
}

/**
 * What each resource was registered depending on (dependsOn and every Output its inputs came
 * from: what the engine orders creates and deletes by), as the URNs the SDK sent, by resource name.
 */
export const dependenciesByName = new Map<string, readonly string[]>();

/** The names of the resources `name` depends on, directly or through others. */
export function dependencyClosure(name: string): Set<string> {
    const seen = new Set<string>();
    const visit = (current: string) => {
        for (const urn of dependenciesByName.get(current) ?? []) {
            const dependency = urn.split("::").pop() ?? urn;
            if (!seen.has(dependency)) {
                seen.add(dependency);
                visit(dependency);
            }
        }
    };
    visit(name);
    return seen;
}

export interface MockOptions {
    readonly project?: string;
    readonly stack: string;
    /** Plain config values by full key (`ecs-anywhere:hosts`); objects are JSON-encoded. */
    readonly config?: Record<string, unknown>;
    /** Config keys to mark secret. */
    readonly secretKeys?: readonly string[];
    /** Outputs of any StackReference the program makes. */
    readonly stackOutputs?: Record<string, unknown>;
    /** Output names of the StackReference that are secret. */
    readonly secretStackOutputs?: readonly string[];
}

export const recorded: RecordedResource[] = [];

/** The sealing key every mocked host's seal step prints; tests open the sealed code with its private half. */
export const MOCK_SEAL_KEY = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });

function arn(service: string, resource: string, region = MOCK_REGION): string {
    return `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;
}

/** The state a real provider would return for `type`: inputs plus computed ids and ARNs. */
function stateFor(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } { // eslint-disable-line @typescript-eslint/no-explicit-any
    const physical = (inputs.name as string | undefined) ?? `${name}-${(name.length * 7919).toString(16).padStart(7, "0")}`;
    switch (type) {
        case "aws:sqs/queue:Queue":
            return { id: `https://sqs.${MOCK_REGION}.amazonaws.com/${ACCOUNT}/${physical}`, state: { ...inputs, name: physical, url: `https://sqs.${MOCK_REGION}.amazonaws.com/${ACCOUNT}/${physical}`, arn: arn("sqs", physical) } };
        case "aws:iam/role:Role":
            return { id: physical, state: { ...inputs, name: physical, arn: `arn:aws:iam::${ACCOUNT}:role/${physical}` } };
        case "aws:ecr/repository:Repository":
            return { id: physical, state: { ...inputs, name: physical, arn: arn("ecr", `repository/${physical}`), registryId: ACCOUNT, repositoryUrl: `${ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${physical}` } };
        case "aws:cloudwatch/logGroup:LogGroup":
            return { id: physical, state: { ...inputs, name: physical, arn: arn("logs", `log-group:${physical}`) } };
        case "aws:ecs/cluster:Cluster":
            return { id: arn("ecs", `cluster/${physical}`), state: { ...inputs, name: physical, arn: arn("ecs", `cluster/${physical}`) } };
        case "aws:ecs/taskDefinition:TaskDefinition":
            return { id: physical, state: { ...inputs, arn: arn("ecs", `task-definition/${inputs.family ?? physical}:1`), revision: 1 } };
        case "aws:ecs/service:Service":
            return { id: arn("ecs", `service/${physical}`), state: { ...inputs, name: physical } };
        case "aws:efs/fileSystem:FileSystem":
            return { id: "fs-0123456789abcdef0", state: { ...inputs, arn: arn("elasticfilesystem", "file-system/fs-0123456789abcdef0"), dnsName: `fs-0123456789abcdef0.efs.${MOCK_REGION}.amazonaws.com` } };
        case "aws:efs/accessPoint:AccessPoint":
            return { id: "fsap-0123456789abcdef0", state: { ...inputs, arn: arn("elasticfilesystem", "access-point/fsap-0123456789abcdef0") } };
        case "aws:ssm/activation:Activation":
            return { id: `${physical}-activation-id`, state: { ...inputs, activationCode: "MOCK-ACTIVATION-CODE-1234", expired: false } };
        case "docker-build:index:Image": {
            const tag = (inputs.tags as string[] | undefined)?.[0] ?? `${physical}:latest`;
            const digest = "sha256:" + "ab".repeat(32);
            return { id: physical, state: { ...inputs, digest, ref: `${tag}@${digest}` } };
        }
        case "command:remote:Command": {
            // What verify.sh prints on a registered host (its ids on the last line), and seal.sh (the host's public sealing key).
            const create = String(inputs.create ?? "");
            const stdout = create.endsWith("ecs-anywhere-verify")
                ? `{"managedInstanceId":"mi-0${(name.length * 104729).toString(16).padStart(16, "0").slice(-16)}","containerInstanceArn":"${arn("ecs", `container-instance/cluster/${"0".repeat(32)}`)}"}\n`
                : create.endsWith("ecs-anywhere-seal")
                  ? `seal-key ${MOCK_SEAL_KEY.publicKey.export({ format: "der", type: "spki" }).toString("base64")}\n`
                  : "";
            return { id: `${name}-id`, state: { ...inputs, stdout, stderr: "" } };
        }
        case "awsx:ec2:Vpc": {
            // A remote component: under mocks awsx's children are not created, only the outputs the program reads.
            const zones = (inputs.numberOfAvailabilityZones as number | undefined) ?? 3;
            const specs = (inputs.subnetSpecs as Array<{ type: string }> | undefined) ?? [{ type: "Public" }, { type: "Private" }];
            const ids = (type: string) => (specs.some((spec) => spec.type === type) ? Array.from({ length: zones }, (_, i) => `subnet-0${type.toLowerCase()}${i}${"0".repeat(8)}`) : []);
            return { id: "", state: { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ids("Public"), privateSubnetIds: ids("Private"), isolatedSubnetIds: ids("Isolated") } };
        }
        case "pulumi-nodejs:dynamic/ecs-anywhere:SealedActivationCode": {
            // As the dynamic provider seals at create (infra/anywhere/seal.ts); secret inputs arrive wrapped.
            const plain = (value: unknown) => (typeof value === "object" && value !== null && "value" in value ? (value as { value: unknown }).value : value);
            const sealed = sealActivationCode(String(plain(inputs.publicKey)), String(plain(inputs.activationCode)));
            return { id: `${name}-id`, state: { publicKey: plain(inputs.publicKey), activationId: plain(inputs.activationId), sealed } };
        }
        case "pulumi:pulumi:StackReference":
            return { id: String(inputs.name ?? name), state: { ...inputs, outputs: stackOutputs, secretOutputNames: secretStackOutputs } };
        default: {
            const service = type.split(":")[1]?.split("/")[0] ?? "mock";
            return { id: `${physical}-id`, state: { ...inputs, arn: arn(service, `${type.split(":").pop()?.toLowerCase()}/${physical}`) } };
        }
    }
}

let stackOutputs: Record<string, unknown> = {};
let secretStackOutputs: readonly string[] = [];

/** Starts a fresh mocked run for `stack` with `config`; clears the record. Call before running a program. */
export async function setupMocks(options: MockOptions): Promise<void> {
    recorded.length = 0;
    stackOutputs = options.stackOutputs ?? {};
    secretStackOutputs = options.secretStackOutputs ?? [];
    const config: Record<string, string> = { "aws:region": MOCK_REGION };
    for (const [key, value] of Object.entries(options.config ?? {})) config[key] = typeof value === "string" ? value : JSON.stringify(value);
    pulumi.runtime.setAllConfig(config, [...(options.secretKeys ?? [])]);
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
                const { id, state } = stateFor(args.type, args.name, args.inputs);
                recorded.push({ type: args.type, name: args.name, urn: `urn:pulumi:${options.stack}::${options.project ?? "ecs-anywhere"}::${args.type}::${args.name}`, inputs: args.inputs, id });
                return { id: args.id || id, state };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                switch (args.token) {
                    case "aws:index/getAvailabilityZones:getAvailabilityZones":
                        return { names: [`${MOCK_REGION}a`, `${MOCK_REGION}b`, `${MOCK_REGION}c`], zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"] };
                    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                        return { userName: "AWS", password: "mock-ecr-password", proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com`, authorizationToken: "bW9jaw==" };
                    case "aws:index/getCallerIdentity:getCallerIdentity":
                        return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: "MOCK" };
                    case "aws:index/getRegion:getRegion":
                        return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION };
                    case "aws:index/getPartition:getPartition":
                        return { partition: "aws", dnsSuffix: "amazonaws.com" };
                    default:
                        return args.inputs;
                }
            },
        },
        options.project ?? "ecs-anywhere",
        options.stack,
        false,
    );
    // The mocks' newResource sees no dependencies: read them off the request the SDK sends.
    dependenciesByName.clear();
    type Request = { getName(): string; getDependenciesList(): string[]; getPropertydependenciesMap(): { forEach(f: (deps: { getUrnsList(): string[] }) => void): void } };
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Request, callback: unknown): unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: Request, callback: unknown) => {
        const urns = new Set(req.getDependenciesList());
        req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((urn) => urns.add(urn)));
        dependenciesByName.set(req.getName(), [...urns]);
        return register(req, callback);
    };
}

/** The value of an Output (unknowns during preview resolve to undefined). */
export function promiseOf<T>(output: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));
}

/** Whether an Output is secret. */
export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
    return pulumi.isSecret(output);
}

/** Waits until no new resource has been registered for a while, so the record is complete. */
export async function settle(quietMs = 100, timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    let count = -1;
    while (count !== recorded.length) {
        count = recorded.length;
        await new Promise((resolve) => setTimeout(resolve, quietMs));
        if (Date.now() - start > timeoutMs) throw new Error("resources kept being registered");
    }
}

/** Every recorded resource of `type` (a type token such as `aws:sqs/queue:Queue`). */
export function ofType(type: string): RecordedResource[] {
    return recorded.filter((resource) => resource.type === type);
}

/** The one recorded resource of `type` (whose name matches `name`, if given); fails naming the candidates. */
export function only(type: string, name?: RegExp): RecordedResource {
    const matches = ofType(type).filter((resource) => name === undefined || name.test(resource.name));
    if (matches.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${matches.length}: ${matches.map((r) => r.urn).join(", ")}`);
    return matches[0];
}
