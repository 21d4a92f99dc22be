/**
 * Stand-in ECS and SSM API endpoints, for what the program calls through the AWS SDK v3 at
 * destroy (infra/anywhere/deregister.ts): `DeregisterContainerInstance` and
 * `DeregisterManagedInstance`, in the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Action>` or `AmazonSSM.<Action>`, content type
 * `application/x-amz-json-1.1`). One server answers both services: point
 * `AWS_ENDPOINT_URL_ECS` and `AWS_ENDPOINT_URL_SSM` at it.
 *
 * Any instance is taken to be registered until it is deregistered once; deregistering it again
 * fails as AWS does (ECS `InvalidParameterException` "Container instance not found.", SSM
 * `InvalidInstanceId`), and so does an id of the wrong shape (SSM `ValidationException`). With
 * a state folder, ECS also checks the cluster against the aws stand-in's live records
 * (`ClusterNotFoundException`). Any other action: 400 `UnknownOperationException` naming it.
 * GET and HEAD (the hosts' preflight probes the endpoints with curl and reads `Date`) get 200
 * for `/` and 404 elsewhere, always with a `Date` header. Requests are not authenticated.
 *
 *   tsx e2e/standins/aws-api.ts --listen 127.0.0.1:0 [--listen 10.x.y.z:PORT] --ready-file <path> [--state <dir>]
 *
 * writes `{"urls": [...], "pid": n}` to the ready file once listening and runs until SIGTERM.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { logCall } from "./call-log";
import { RecordStore } from "./records";

export const ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
export const SSM_TARGET_PREFIX = "AmazonSSM.";
const ACCOUNT_ID = "123456789012";
const MANAGED_INSTANCE_ID = /^mi-[0-9a-f]{17}$/;

export interface AwsApiOptions {
    readonly listen: readonly { readonly host: string; readonly port: number }[];
    /** The aws stand-in's state folder: clusters are checked against its live records. Default `$E2E_STANDIN_STATE`. */
    readonly stateDir?: string;
    /** Region for ARNs built from bare ids when the request does not tell. Default `$AWS_REGION` or eu-west-1. */
    readonly region?: string;
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

/** What both services remember between calls. */
class ApiState {
    private readonly gone = new Set<string>();

    constructor(
        private readonly stateDir: string | undefined,
        private readonly region: string,
    ) {}

    /** The region in an ARN, else the default. */
    private regionOf(text: string): string {
        return text.startsWith("arn:aws:") ? (text.split(":")[3] ?? this.region) : this.region;
    }

    deregisterContainerInstance(input: Record<string, unknown>): Handled {
        const containerInstance = input.containerInstance;
        if (typeof containerInstance !== "string" || containerInstance === "") {
            throw new ApiError("InvalidParameterException", "containerInstance can not be blank.");
        }
        const clusterInput = typeof input.cluster === "string" && input.cluster !== "" ? input.cluster : "default";
        const clusterName = clusterInput.includes(":cluster/") ? clusterInput.slice(clusterInput.indexOf(":cluster/") + 9) : clusterInput;
        const region = this.regionOf(containerInstance.startsWith("arn:") ? containerInstance : clusterInput);
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
        const now = Date.now() / 1000;
        return {
            id: arn,
            body: {
                containerInstance: {
                    containerInstanceArn: arn,
                    ec2InstanceId: `mi-${crypto.createHash("sha256").update(instanceId).digest("hex").slice(0, 17)}`,
                    version: 3,
                    versionInfo: { agentVersion: "1.89.0", agentHash: "0bd4e5a4", dockerVersion: "DockerVersion: 25.0.8" },
                    status: "INACTIVE",
                    statusReason: input.force === true ? "Instance deregistration forced by the user." : "Instance deregistered by the user.",
                    agentConnected: false,
                    runningTasksCount: 0,
                    pendingTasksCount: 0,
                    registeredResources: [],
                    remainingResources: [],
                    attributes: [{ name: "ecs.capability.external" }],
                    registeredAt: now - 3600,
                    attachments: [],
                    tags: [],
                },
            },
        };
    }

    deregisterManagedInstance(input: Record<string, unknown>): Handled {
        const id = input.InstanceId;
        if (typeof id !== "string" || !MANAGED_INSTANCE_ID.test(id)) {
            throw new ApiError(
                "ValidationException",
                `1 validation error detected: Value '${String(id)}' at 'instanceId' failed to satisfy constraint: Member must satisfy regular expression pattern: (^mi-[0-9a-f]{17}$)|(^eks_c:[0-9A-Za-z][A-Za-z0-9\\-_]{0,99}_\\w{17}$)`,
            );
        }
        const key = `ssm:${id}`;
        if (this.gone.has(key)) throw new ApiError("InvalidInstanceId", `Instance ${id} is not a registered managed instance of account ${ACCOUNT_ID}`);
        this.gone.add(key);
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

function readBody(request: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}

function handler(state: ApiState): http.RequestListener {
    return (request, response) => {
        void (async () => {
            if (request.method === "GET" || request.method === "HEAD") {
                const ok = (request.url ?? "/").split("?")[0] === "/";
                send(response, ok ? 200 : 404, request.method === "HEAD" ? undefined : ok ? "healthy" : "Not Found", { "Content-Type": "text/plain" });
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
                if (service === "ecs" && action === "DeregisterContainerInstance") handled = state.deregisterContainerInstance(input);
                else if (service === "ssm" && action === "DeregisterManagedInstance") handled = state.deregisterManagedInstance(input);
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
    const state = new ApiState(options.stateDir ?? process.env.E2E_STANDIN_STATE, options.region ?? process.env.AWS_REGION ?? "eu-west-1");
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
            default:
                throw new Error(`aws-api.ts: unknown argument ${argv[i]}; usage: --listen host:port [--listen ...] [--ready-file path] [--state dir] [--region r]`);
        }
    }
    if (listenOn.length === 0) listenOn.push({ host: "127.0.0.1", port: 0 });
    const api = await startAwsApi({ listen: listenOn, ...(stateDir ? { stateDir } : {}), ...(region ? { region } : {}) });
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
