/**
 * Stand-in ECS, SSM and STS API endpoints, for what the program calls through the AWS SDK v3 at
 * destroy (infra/anywhere/deregister.ts): `DeregisterContainerInstance` and
 * `DeregisterManagedInstance`, and for what the hosts' agents call when the installer registers
 * them (the test bed's HTTPS front, hosts/test/testbed.ts, serves this handler as
 * ssm.<region>.amazonaws.com and ecs.<region>.amazonaws.com): SSM `RegisterManagedInstance`
 * (unsigned, with the activation's id and code) and ECS `RegisterContainerInstance`, in the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Action>` or `AmazonSSM.<Action>`, content type
 * `application/x-amz-json-1.1`), and STS `GetCallerIdentity` and `AssumeRole` in the query
 * protocol (`POST /`, form-encoded `Action=...&Version=2011-06-15`, XML answers). One server
 * answers all three: point `AWS_ENDPOINT_URL_ECS`, `AWS_ENDPOINT_URL_SSM` and
 * `AWS_ENDPOINT_URL_STS` at it.
 *
 * Accounts: the hosts and clusters are in account 123456789012, the aws stand-in's. Requests are
 * not authenticated, but the access key id in their signature tells who calls: keys issued by
 * `AssumeRole` act in the role's account, any other key in the caller account (`--caller-account`
 * or `$E2E_STS_ACCOUNT`, default 123456789012). `GetCallerIdentity` answers that account; in any
 * account but 123456789012, ECS finds no cluster (`ClusterNotFoundException`) and SSM no instance
 * (`InvalidInstanceId`), as AWS answers a caller in the wrong account.
 *
 * Registrations: RegisterManagedInstance checks the activation against the aws stand-in's live
 * records (`aws:ssm/activation:Activation`: its id, its code's sha256, its expiry and registration
 * limit), as SSM does (`InvalidActivationId`, `InvalidActivation`, `ActivationExpired`,
 * `RegistrationLimitExceeded`... as below), and records the managed instance in
 * `<state>/ssm-api.json` (type `ssm:managedInstance`, id `mi-...`, outputs `activationId`,
 * `region`, `registered`); RegisterContainerInstance checks the cluster and records the container
 * instance in `<state>/ecs-api.json` (type `ecs:containerInstance`, id its ARN, outputs `cluster`,
 * `ec2InstanceId`: the managed instance, whose id the caller's access key id carries). So what
 * DescribeInstanceInformation and DescribeContainerInstances would answer can be read there; the
 * deregistrations remove them. Without a state folder nothing is recorded and no activation is known.
 *
 * Calls made with keys issued for a role (AssumeRole, or `ApiState.roleSession` for the stand-in
 * agents) are checked against that role's policies as the aws stand-in recorded them
 * (iam-evaluator.ts): a call the role does not allow is refused as AWS refuses it,
 * `AccessDeniedException` naming the action and resource. A role the aws stand-in has no record of
 * (an operator's role defined outside the stacks) is not checked.
 *
 * Any instance not recorded is taken to be registered until it is deregistered once; deregistering it again
 * fails as AWS does (ECS `InvalidParameterException` "Container instance not found.", SSM
 * `InvalidInstanceId`), and so does an id of the wrong shape (SSM `ValidationException`). With
 * a state folder, ECS also checks the cluster against the aws stand-in's live records
 * (`ClusterNotFoundException`). Any other action: 400 `UnknownOperationException` (STS:
 * `InvalidAction`) naming it. GET and HEAD (the hosts' preflight probes the endpoints with curl
 * and reads `Date`) get 200 for `/` and 404 elsewhere, always with a `Date` header.
 *
 *   tsx e2e/standins/aws-api.ts --listen 127.0.0.1:0 [--listen 10.x.y.z:PORT] --ready-file <path> [--state <dir>] [--caller-account <12 digits>]
 *
 * writes `{"urls": [...], "pid": n}` to the ready file once listening and runs until SIGTERM.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { logCall } from "./call-log";
import { accessDeniedMessage, authorizeRoleCall, findRole, type RequestContext } from "./iam-evaluator";
import { HISTORY_PREFIX, RecordStore } from "./records";

export const ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
export const SSM_TARGET_PREFIX = "AmazonSSM.";
export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
/** The account the hosts and clusters are in (the aws stand-in's). */
const ACCOUNT_ID = "123456789012";
const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

export interface AwsApiOptions {
    readonly listen: readonly { readonly host: string; readonly port: number }[];
    /** The aws stand-in's state folder: clusters are checked against its live records. Default `$E2E_STANDIN_STATE`. */
    readonly stateDir?: string;
    /** Region for ARNs built from bare ids when the request does not tell. Default `$AWS_REGION` or eu-west-1. */
    readonly region?: string;
    /** Account of callers whose keys were not issued by AssumeRole. Default `$E2E_STS_ACCOUNT` or 123456789012. */
    readonly callerAccount?: string;
}

export interface AwsApi {
    readonly urls: string[];
    close(): Promise<void>;
}

class ApiError extends Error {
    constructor(
        readonly code: string,
        message: string,
        readonly status = 400,
    ) {
        super(message);
    }
}

interface Handled {
    readonly body: Record<string, unknown>;
    readonly id?: string;
}

/** Who calls: the account and identity their credentials stand for. */
export interface Caller {
    readonly account: string;
    readonly arn: string;
    readonly userId: string;
    /** The role the keys were issued for (an assumed-role session), if any. */
    readonly roleArn?: string;
}

/** Keys of a role session, as STS hands them out. */
export interface SessionCredentials {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
    readonly expiration: string;
}

/** The cluster's ARN from a request's `cluster` (a name, an ARN, or unset: `default`). */
function clusterArnOf(cluster: unknown, region: string): string {
    const value = typeof cluster === "string" && cluster !== "" ? cluster : "default";
    return value.startsWith("arn:") ? value : `arn:aws:ecs:${region}:${ACCOUNT_ID}:cluster/${value}`;
}

/**
 * What IAM checks an ECS or SSM call against (the Service Authorization Reference's resource type for
 * the action; `*` for one that takes none) and the condition keys it sets. For the stand-in agents
 * too: ecs:Poll and ecs:StartTelemetrySession (the agent's websocket channels) check the container
 * instance with `ecs:cluster`.
 */
export function iamTargetOf(service: "ecs" | "ssm", action: string, input: Record<string, unknown>, region: string): { resource: string; context: RequestContext } {
    if (service === "ssm") {
        const id = input.InstanceId;
        return typeof id === "string" && MANAGED_INSTANCE_ID.test(id) ? { resource: `arn:aws:ssm:${region}:${ACCOUNT_ID}:managed-instance/${id}`, context: {} } : { resource: "*", context: {} };
    }
    const cluster = clusterArnOf(input.cluster, region);
    switch (action) {
        case "RegisterContainerInstance":
        case "DeregisterContainerInstance":
        case "SubmitTaskStateChange":
        case "SubmitContainerStateChange":
        case "SubmitAttachmentStateChanges":
            return { resource: cluster, context: {} };
        case "Poll":
        case "StartTelemetrySession": {
            const instance = String(input.containerInstance ?? "");
            const arn = instance.startsWith("arn:") ? instance : `arn:aws:ecs:${region}:${ACCOUNT_ID}:container-instance/${cluster.split("/").pop()}/${instance}`;
            return { resource: arn, context: { "ecs:cluster": cluster } };
        }
        default:
            return { resource: "*", context: {} };
    }
}

/** The access key id of a SigV4-signed request (`Authorization: AWS4-HMAC-SHA256 Credential=<key>/...`), if any. */
export function accessKeyOf(request: http.IncomingMessage): string | undefined {
    return /Credential=([^/,\s]+)\//.exec(String(request.headers.authorization ?? ""))?.[1];
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c);

/** An ECS ContainerInstance as the API answers it: `fields` over an idle external instance's. */
function containerInstanceOf(arn: string, fields: Record<string, unknown>): Record<string, unknown> {
    return { containerInstanceArn: arn, runningTasksCount: 0, pendingTasksCount: 0, registeredResources: [], remainingResources: [], attachments: [], tags: [], ...fields };
}

/** What the services remember between calls. */
class ApiState {
    private readonly gone = new Set<string>();
    /** Keys issued by AssumeRole, and whom they stand for. */
    private readonly sessions = new Map<string, Caller>();

    constructor(
        private readonly stateDir: string | undefined,
        private readonly region: string,
        private readonly defaultAccount: string,
    ) {}

    callerOf(accessKeyId: string | undefined): Caller {
        const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
        if (session) return session;
        const digest = crypto.createHash("sha256").update(accessKeyId ?? "anonymous").digest("hex").toUpperCase();
        return { account: this.defaultAccount, arn: `arn:aws:iam::${this.defaultAccount}:user/e2e-standin`, userId: `AIDA${digest.slice(0, 17)}` };
    }

    /** ECS and SSM of another account than the hosts' know none of them. */
    private checkAccount(caller: Caller, service: "ecs" | "ssm", id: string): void {
        if (caller.account === ACCOUNT_ID) return;
        if (service === "ecs") throw new ApiError("ClusterNotFoundException", "Cluster not found.");
        throw new ApiError("InvalidInstanceId", `Instance ${id} is not a registered managed instance of account ${caller.account}`);
    }

    getCallerIdentity(caller: Caller): string {
        return `<GetCallerIdentityResult><Arn>${escapeXml(caller.arn)}</Arn><UserId>${escapeXml(caller.userId)}</UserId><Account>${caller.account}</Account></GetCallerIdentityResult>`;
    }

    /**
     * Keys for a session of `roleArn` named `sessionName`, acting as that role from now on: what
     * AssumeRole hands out, and what the stand-in SSM gives a managed instance for its activation's role.
     */
    roleSession(roleArn: string, sessionName: string, durationSeconds = 3600): { credentials: SessionCredentials; caller: Caller } {
        const match = ROLE_ARN.exec(roleArn);
        if (!match) throw new ApiError("ValidationError", `${roleArn === "" ? "RoleArn is required" : `${roleArn} is invalid`}`);
        const [, account, roleName] = match;
        const random = (bytes: number) => crypto.randomBytes(bytes).toString("hex").toUpperCase();
        const accessKeyId = `ASIA${random(8)}`;
        const roleId = `AROA${crypto.createHash("sha256").update(roleArn).digest("hex").toUpperCase().slice(0, 17)}`;
        const caller: Caller = { account, arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`, userId: `${roleId}:${sessionName}`, roleArn };
        this.sessions.set(accessKeyId, caller);
        const credentials = {
            accessKeyId,
            secretAccessKey: crypto.randomBytes(30).toString("base64"),
            sessionToken: crypto.randomBytes(96).toString("base64"),
            expiration: new Date(Date.now() + durationSeconds * 1000).toISOString(),
        };
        return { credentials, caller };
    }

    /**
     * Refuses, as AWS does, a call made with a role's keys that the role's recorded policies do not
     * allow. Keys of no role, or of a role the aws stand-in has no record of, are not checked.
     */
    authorize(caller: Caller, service: "ecs" | "ssm", action: string, input: Record<string, unknown>): void {
        if (caller.roleArn === undefined || !this.stateDir) return;
        const records = new RecordStore("aws", this.stateDir).all();
        if (!findRole(records, caller.roleArn)) return;
        const { resource, context } = iamTargetOf(service, action, input, this.regionOf(typeof input.cluster === "string" ? input.cluster : ""));
        const decision = authorizeRoleCall(records, caller.roleArn, `${service}:${action}`, resource, context);
        if (!decision.allowed) throw new ApiError("AccessDeniedException", accessDeniedMessage(caller.arn, `${service}:${action}`, resource, decision));
    }

    assumeRole(input: URLSearchParams): { xml: string; id: string } {
        const roleArn = input.get("RoleArn") ?? "";
        const sessionName = input.get("RoleSessionName") ?? "";
        if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) throw new ApiError("ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
        const duration = Number(input.get("DurationSeconds") ?? 3600);
        if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
            throw new ApiError("ValidationError", `1 validation error detected: Value '${input.get("DurationSeconds")}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
        }
        const { credentials, caller: assumed } = this.roleSession(roleArn, sessionName, duration);
        const source = input.get("SourceIdentity");
        const xml =
            "<AssumeRoleResult>" +
            (source ? `<SourceIdentity>${escapeXml(source)}</SourceIdentity>` : "") +
            `<AssumedRoleUser><AssumedRoleId>${escapeXml(assumed.userId)}</AssumedRoleId><Arn>${escapeXml(assumed.arn)}</Arn></AssumedRoleUser>` +
            `<Credentials><AccessKeyId>${credentials.accessKeyId}</AccessKeyId><SecretAccessKey>${credentials.secretAccessKey}</SecretAccessKey>` +
            `<SessionToken>${credentials.sessionToken}</SessionToken><Expiration>${credentials.expiration}</Expiration></Credentials>` +
            `<PackedPolicySize>${input.get("Policy") ? 6 : 0}</PackedPolicySize></AssumeRoleResult>`;
        return { xml, id: assumed.arn };
    }

    /** The region in an ARN, else the default. */
    private regionOf(text: string): string {
        return text.startsWith("arn:aws:") ? (text.split(":")[3] ?? this.region) : this.region;
    }

    /** The aws stand-in's live activation `id`, if any. */
    private activation(id: string): Record<string, unknown> | undefined {
        if (!this.stateDir) return undefined;
        return new RecordStore("aws", this.stateDir).all().find((r) => r.type === "aws:ssm/activation:Activation" && r.id === id)?.outputs;
    }

    /** SSM RegisterManagedInstance: what the SSM agent's `-register` calls, unsigned, with the activation. */
    registerManagedInstance(input: Record<string, unknown>): Handled {
        const { ActivationCode: code, ActivationId: id, PublicKey: publicKey } = input;
        if (typeof id !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
            throw new ApiError("ValidationException", `1 validation error detected: Value '${String(id)}' at 'activationId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);
        }
        if (typeof code !== "string" || code.length < 20 || code.length > 250) throw new ApiError("ValidationException", "1 validation error detected: Value at 'activationCode' failed to satisfy constraint: Member must have length between 20 and 250");
        if (typeof publicKey !== "string" || publicKey === "") throw new ApiError("ValidationException", "1 validation error detected: Value at 'publicKey' failed to satisfy constraint: Member must not be null");
        const activation = this.activation(id);
        if (!activation) throw new ApiError("InvalidActivationId", "The activation ID is not valid. Verify the that activation ID is correct and try again.");
        if (activation.activationCodeSha256 !== crypto.createHash("sha256").update(code).digest("hex")) {
            throw new ApiError("InvalidActivation", "The activation is not valid. The activation might have been deleted, or the ActivationId and the ActivationCode do not match.");
        }
        if (typeof activation.expirationDate === "string" && Date.parse(activation.expirationDate) <= Date.now()) throw new ApiError("ActivationExpired", "The activation has expired.");
        const store = new RecordStore("ssm-api", this.stateDir);
        const used = store.all().filter((r) => r.type === "ssm:managedInstance" && r.outputs?.activationId === id).length + this.spent(id);
        const limit = typeof activation.registrationLimit === "number" ? activation.registrationLimit : 1;
        if (used >= limit) throw new ApiError("RegistrationLimitExceeded", `The activation ${id} has reached its registration limit of ${limit}.`);
        const instanceId = `mi-${crypto.randomBytes(9).toString("hex").slice(0, 17)}`;
        store.add(`managedInstance#${instanceId}`, { type: "ssm:managedInstance", name: instanceId, id: instanceId, urn: "", outputs: { activationId: id, region: this.region, registered: new Date().toISOString() } });
        return { id: instanceId, body: { InstanceId: instanceId } };
    }

    /** Registrations of activation `id` already deregistered: they still count against its limit, as in SSM. */
    private spent(id: string): number {
        return new RecordStore(`${HISTORY_PREFIX}ssm`, this.stateDir).all().filter((r) => r.outputs?.activationId === id).length;
    }

    /** The cluster's short name from a name or ARN. */
    private clusterName(input: unknown): string {
        const text = typeof input === "string" && input !== "" ? input : "default";
        return text.includes(":cluster/") ? text.slice(text.indexOf(":cluster/") + 9) : text;
    }

    /** Whether the aws stand-in holds cluster `name` (in `region`); true without a state folder. */
    private clusterKnown(name: string, input: unknown, region: string): boolean {
        if (!this.stateDir) return true;
        return new RecordStore("aws", this.stateDir)
            .all()
            .filter((r) => r.type === "aws:ecs/cluster:Cluster")
            .some((r) => {
                const outputs = r.outputs ?? {};
                return (outputs.name === name || outputs.arn === input) && (outputs.region === undefined || outputs.region === region);
            });
    }

    /** ECS RegisterContainerInstance: what the ECS agent calls at its first start; the caller's key stands for its managed instance. */
    registerContainerInstance(caller: Caller, accessKey: string | undefined, input: Record<string, unknown>): Handled {
        const cluster = this.clusterName(input.cluster);
        this.checkAccount(caller, "ecs", cluster);
        if (!this.clusterKnown(cluster, input.cluster, this.region)) throw new ApiError("ClusterNotFoundException", "Cluster not found.");
        const managedInstance = accessKey !== undefined && MANAGED_INSTANCE_ID.test(accessKey) ? accessKey : undefined;
        if (this.stateDir && (managedInstance === undefined || !new RecordStore("ssm-api", this.stateDir).get(`managedInstance#${managedInstance}`))) {
            throw new ApiError("AccessDeniedException", `The request is not signed with the credentials of a registered managed instance (${accessKey ?? "no credentials"}).`);
        }
        const arn = `arn:aws:ecs:${this.region}:${ACCOUNT_ID}:container-instance/${cluster}/${crypto.randomBytes(16).toString("hex")}`;
        new RecordStore("ecs-api", this.stateDir).add(`containerInstance#${arn}`, {
            type: "ecs:containerInstance",
            name: arn.split("/").pop() ?? arn,
            id: arn,
            urn: "",
            outputs: { cluster, ec2InstanceId: managedInstance ?? "", registered: new Date().toISOString() },
        });
        return {
            id: arn,
            body: {
                containerInstance: containerInstanceOf(arn, {
                    ec2InstanceId: managedInstance,
                    version: 1,
                    versionInfo: input.versionInfo ?? {},
                    status: "ACTIVE",
                    agentConnected: true,
                    attributes: input.attributes ?? [],
                    registeredAt: Date.now() / 1000,
                }),
            },
        };
    }

    deregisterContainerInstance(caller: Caller, input: Record<string, unknown>): Handled {
        const containerInstance = input.containerInstance;
        if (typeof containerInstance !== "string" || containerInstance === "") {
            throw new ApiError("InvalidParameterException", "containerInstance can not be blank.");
        }
        const clusterInput = typeof input.cluster === "string" && input.cluster !== "" ? input.cluster : "default";
        const clusterName = clusterInput.includes(":cluster/") ? clusterInput.slice(clusterInput.indexOf(":cluster/") + 9) : clusterInput;
        const region = this.regionOf(containerInstance.startsWith("arn:") ? containerInstance : clusterInput);
        this.checkAccount(caller, "ecs", containerInstance);
        if (this.stateDir) {
            const clusters = new RecordStore("aws", this.stateDir).all().filter((r) => r.type === "aws:ecs/cluster:Cluster");
            const known = clusters.some((r) => {
                const outputs = r.outputs ?? {};
                return (outputs.name === clusterName || outputs.arn === clusterInput) && (outputs.region === undefined || outputs.region === region);
            });
            if (!known) throw new ApiError("ClusterNotFoundException", "Cluster not found.");
        }
        const instanceId = containerInstance.split("/").pop() ?? containerInstance;
        const arn = containerInstance.startsWith("arn:") ? containerInstance : `arn:aws:ecs:${region}:${ACCOUNT_ID}:container-instance/${clusterName}/${instanceId}`;
        const key = `ecs:${region}:${clusterName}:${instanceId}`;
        if (this.gone.has(key)) throw new ApiError("InvalidParameterException", "Container instance not found.");
        this.gone.add(key);
        const store = new RecordStore("ecs-api", this.stateDir);
        const recorded = store.get(`containerInstance#${arn}`)?.outputs?.ec2InstanceId;
        store.remove(`containerInstance#${arn}`);
        return {
            id: arn,
            body: {
                containerInstance: containerInstanceOf(arn, {
                    ec2InstanceId: typeof recorded === "string" && recorded !== "" ? recorded : `mi-${crypto.createHash("sha256").update(instanceId).digest("hex").slice(0, 17)}`,
                    version: 3,
                    versionInfo: { agentVersion: "1.89.0", agentHash: "0bd4e5a4", dockerVersion: "DockerVersion: 25.0.8" },
                    status: "INACTIVE",
                    statusReason: input.force === true ? "Instance deregistration forced by the user." : "Instance deregistered by the user.",
                    agentConnected: false,
                    attributes: [{ name: "ecs.capability.external" }],
                    registeredAt: Date.now() / 1000 - 3600,
                }),
            },
        };
    }

    deregisterManagedInstance(caller: Caller, input: Record<string, unknown>): Handled {
        const id = input.InstanceId;
        if (typeof id !== "string" || !MANAGED_INSTANCE_ID.test(id)) {
            throw new ApiError(
                "ValidationException",
                `1 validation error detected: Value '${String(id)}' at 'instanceId' failed to satisfy constraint: Member must satisfy regular expression pattern: (^mi-[0-9a-f]{17}$)|(^eks_c:[0-9A-Za-z][A-Za-z0-9\\-_]{0,99}_\\w{17}$)`,
            );
        }
        this.checkAccount(caller, "ssm", id);
        const key = `ssm:${id}`;
        if (this.gone.has(key)) throw new ApiError("InvalidInstanceId", `Instance ${id} is not a registered managed instance of account ${ACCOUNT_ID}`);
        this.gone.add(key);
        const store = new RecordStore("ssm-api", this.stateDir);
        const registered = store.get(`managedInstance#${id}`);
        if (registered) {
            store.remove(`managedInstance#${id}`);
            // Kept (in a history store, not live) so the activation's limit still counts it.
            new RecordStore(`${HISTORY_PREFIX}ssm`, this.stateDir).add(`spent#${id}`, { type: "ssm:spentRegistration", name: id, id, urn: "", outputs: { activationId: registered.outputs?.activationId } });
        }
        return { id, body: {} };
    }
}

function send(response: http.ServerResponse, status: number, body: string | undefined, headers: Record<string, string> = {}): void {
    response.writeHead(status, { "x-amzn-RequestId": crypto.randomUUID(), ...headers });
    response.end(body);
}

function sendError(response: http.ServerResponse, error: ApiError, namespace: string): void {
    const body = JSON.stringify({ __type: `${namespace}#${error.code}`, message: error.message });
    send(response, error.status, body, {
        "Content-Type": "application/x-amz-json-1.1",
        "x-amzn-ErrorType": `${error.code}:`,
        "x-amzn-query-error": `${error.code};Sender`,
    });
}

function sendStsError(response: http.ServerResponse, error: ApiError): void {
    const type = error.status >= 500 ? "Receiver" : "Sender";
    const body = `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`;
    send(response, error.status, body, { "Content-Type": "text/xml" });
}

/** STS, in the query protocol: a form-encoded POST naming its Action; XML answers. */
function handleSts(state: ApiState, request: http.IncomingMessage, response: http.ServerResponse, raw: string): void {
    const form = new URLSearchParams(raw);
    const action = form.get("Action") ?? "";
    const inputs = Object.fromEntries([...form.entries()].filter(([key]) => key !== "Action" && key !== "Version"));
    const record = (result: string, id?: string) => logCall({ provider: "sts-api", operation: "api", type: action || "(none)", name: "", ...(id ? { id } : {}), inputs, result });
    try {
        const caller = state.callerOf(accessKeyOf(request));
        let result: { xml: string; id: string };
        if (form.get("Version") !== "2011-06-15") throw new ApiError("InvalidParameterValue", `Version ${form.get("Version") ?? "(none)"} is not 2011-06-15`);
        if (action === "GetCallerIdentity") result = { xml: state.getCallerIdentity(caller), id: caller.arn };
        else if (action === "AssumeRole") result = state.assumeRole(form);
        else throw new ApiError("InvalidAction", `stand-in STS does not know ${action || "a request without Action"}: add it to e2e/standins/aws-api.ts`);
        record("ok", result.id);
        const body = `<${action}Response xmlns="${STS_NAMESPACE}">${result.xml}<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
        send(response, 200, body, { "Content-Type": "text/xml" });
    } catch (error) {
        const apiError = error instanceof ApiError ? error : new ApiError("InternalFailure", String(error), 500);
        record(`${apiError.code}: ${apiError.message}`);
        sendStsError(response, apiError);
    }
}

function readBody(request: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}

/** The endpoints' request handler on its own, for a server of the caller's (the test bed's HTTPS front). */
export function awsApiHandler(options: Omit<AwsApiOptions, "listen"> = {}): http.RequestListener {
    const callerAccount = options.callerAccount ?? (process.env.E2E_STS_ACCOUNT || ACCOUNT_ID);
    return handler(new ApiState(options.stateDir ?? process.env.E2E_STANDIN_STATE, options.region ?? process.env.AWS_REGION ?? "eu-west-1", callerAccount));
}

function handler(state: ApiState): http.RequestListener {
    return (request, response) => {
        void (async () => {
            if (request.method === "GET" || request.method === "HEAD") {
                const ok = (request.url ?? "/").split("?")[0] === "/";
                send(response, ok ? 200 : 404, request.method === "HEAD" ? undefined : ok ? "healthy" : "Not Found", { "Content-Type": "text/plain" });
                return;
            }
            const contentType = String(request.headers["content-type"] ?? "");
            if (request.method === "POST" && request.headers["x-amz-target"] === undefined && contentType.startsWith("application/x-www-form-urlencoded")) {
                handleSts(state, request, response, await readBody(request));
                return;
            }
            const target = String(request.headers["x-amz-target"] ?? "");
            const service = target.startsWith(ECS_TARGET_PREFIX) ? "ecs" : target.startsWith(SSM_TARGET_PREFIX) ? "ssm" : undefined;
            const action = service === "ecs" ? target.slice(ECS_TARGET_PREFIX.length) : service === "ssm" ? target.slice(SSM_TARGET_PREFIX.length) : target;
            const namespace = service === "ssm" ? "com.amazonaws.ssm" : "com.amazonaws.ecs";
            const raw = await readBody(request);
            let input: Record<string, unknown> = {};
            const record = (result: string, id?: string) =>
                logCall({ provider: service === "ssm" ? "ssm-api" : "ecs-api", operation: "api", type: action || "(none)", name: "", ...(id ? { id } : {}), inputs: input, result });
            try {
                if (request.method !== "POST") throw new ApiError("UnknownOperationException", `${request.method} is not supported`, 405);
                try {
                    input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
                } catch {
                    throw new ApiError("SerializationException", "Start of structure or map found where not expected.");
                }
                let handled: Handled;
                const caller = state.callerOf(accessKeyOf(request));
                if (service !== undefined) state.authorize(caller, service, action, input);
                if (service === "ecs" && action === "DeregisterContainerInstance") handled = state.deregisterContainerInstance(caller, input);
                else if (service === "ecs" && action === "RegisterContainerInstance") handled = state.registerContainerInstance(caller, accessKeyOf(request), input);
                else if (service === "ssm" && action === "RegisterManagedInstance") handled = state.registerManagedInstance(input);
                else if (service === "ssm" && action === "DeregisterManagedInstance") handled = state.deregisterManagedInstance(caller, input);
                else throw new ApiError("UnknownOperationException", `stand-in AWS API does not know ${target || "a request without X-Amz-Target"}: add it to e2e/standins/aws-api.ts`);
                record("ok", handled.id);
                send(response, 200, JSON.stringify(handled.body), { "Content-Type": "application/x-amz-json-1.1" });
            } catch (error) {
                const apiError = error instanceof ApiError ? error : new ApiError("InternalServerError", String(error), 500);
                record(`${apiError.code}: ${apiError.message}`);
                sendError(response, apiError, apiError.code === "UnknownOperationException" || apiError.code === "SerializationException" ? "com.amazon.coral.service" : namespace);
            }
        })();
    };
}

function listen(server: http.Server, host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
            server.off("error", reject);
            const address = server.address() as AddressInfo;
            const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
            resolve(`http://${shown}:${address.port}`);
        });
    });
}

/** Starts the endpoints on every `listen` address; `urls` are the bound ones, in order. */
export async function startAwsApi(options: AwsApiOptions): Promise<AwsApi> {
    if (options.listen.length === 0) throw new Error("startAwsApi: give at least one address to listen on");
    const callerAccount = options.callerAccount ?? (process.env.E2E_STS_ACCOUNT || ACCOUNT_ID);
    if (!/^\d{12}$/.test(callerAccount)) throw new Error(`startAwsApi: the caller account must be 12 digits, not ${JSON.stringify(callerAccount)}`);
    const state = new ApiState(options.stateDir ?? process.env.E2E_STANDIN_STATE, options.region ?? process.env.AWS_REGION ?? "eu-west-1", callerAccount);
    const servers: http.Server[] = [];
    const urls: string[] = [];
    try {
        for (const { host, port } of options.listen) {
            const server = http.createServer(handler(state));
            server.keepAliveTimeout = 1000;
            servers.push(server);
            urls.push(await listen(server, host, port));
        }
    } catch (error) {
        await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
        throw error;
    }
    return {
        urls,
        close: async () => {
            await Promise.all(
                servers.map(
                    (server) =>
                        new Promise<void>((resolve) => {
                            server.closeAllConnections();
                            server.close(() => resolve());
                        }),
                ),
            );
        },
    };
}

/** `host:port` (IPv6 as `[::1]:port`). */
export function parseListen(text: string): { host: string; port: number } {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
    if (!match) throw new Error(`--listen expects host:port, not ${text}`);
    return { host: match[1], port: Number(match[2]) };
}

async function cli(argv: string[]): Promise<void> {
    const listenOn: { host: string; port: number }[] = [];
    let readyFile: string | undefined;
    let stateDir: string | undefined;
    let region: string | undefined;
    let callerAccount: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const value = argv[i + 1];
        switch (argv[i]) {
            case "--listen":
                listenOn.push(parseListen(value ?? ""));
                i++;
                break;
            case "--ready-file":
                readyFile = value;
                i++;
                break;
            case "--state":
                stateDir = value;
                i++;
                break;
            case "--region":
                region = value;
                i++;
                break;
            case "--caller-account":
                callerAccount = value;
                i++;
                break;
            default:
                throw new Error(`aws-api.ts: unknown argument ${argv[i]}; usage: --listen host:port [--listen ...] [--ready-file path] [--state dir] [--region r] [--caller-account 123456789012]`);
        }
    }
    if (listenOn.length === 0) listenOn.push({ host: "127.0.0.1", port: 0 });
    const api = await startAwsApi({ listen: listenOn, ...(stateDir ? { stateDir } : {}), ...(region ? { region } : {}), ...(callerAccount ? { callerAccount } : {}) });
    const ready = JSON.stringify({ urls: api.urls, pid: process.pid });
    if (readyFile) {
        const temporary = path.join(path.dirname(readyFile), `.${path.basename(readyFile)}.${process.pid}.tmp`);
        fs.writeFileSync(temporary, `${ready}\n`);
        fs.renameSync(temporary, readyFile);
    } else {
        process.stdout.write(`${ready}\n`);
    }
    const stop = () => void api.close().then(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
}

if (require.main === module) {
    cli(process.argv.slice(2)).catch((error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
    });
}
