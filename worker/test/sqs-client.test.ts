/**
 * The worker's own SQS client (worker/src/sqs-client.ts, credentials.ts), held to the AWS SDK's
 * SQSClient it replaces: the same requests on the wire, the same errors and retries for the same
 * answers, SigV4 signatures that verify, abort signals and timeouts, credentials from the
 * environment and from a container endpoint (with its token, refreshed before expiry). Most cases
 * run against a loopback stand-in that answers as told; the emulator shows a long poll end.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { SignatureV4 } from "@smithy/signature-v4";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSqsClient, credentialSource, QUERY_ERROR_NAMES, sqsEndpoint, SqsClient, SqsServiceError, WorkerConfigError, type SqsClientOptions } from "../src/index";
import { credentialChain } from "../src/credentials";
import { Hash } from "@smithy/core/serde";
import { DEFAULTS, type WorkerOptions } from "../src/options";
import { startCannedServer, type CannedAnswer, type CannedRequest, type CannedServer } from "./support/canned-server";
import { buildWorker, createQueuePair, startEmulator, WORKER_MAIN } from "./support/harness";

const REGION = "eu-west-1";
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/files";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-token-1" };
const DELETE = { QueueUrl: QUEUE_URL, Entries: [{ Id: "0", ReceiptHandle: "handle-0" }] };

function leanClient(endpoint: string, overrides: Partial<SqsClientOptions> = {}): SqsClient {
    return new SqsClient({ region: REGION, endpoint: new URL(endpoint), credentials: async () => CREDENTIALS, maxSockets: 8, connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000, ...overrides });
}

function sdkClient(endpoint: string): SQSClient {
    return new SQSClient({ region: REGION, endpoint, credentials: CREDENTIALS });
}

/** What the worker, its logs and the retry rules read of an error. */
function errorFields(error: unknown): Record<string, unknown> {
    const e = error as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number }; Code?: string; Type?: string };
    return { name: e.name, message: e.message, code: e.code, fault: e.$fault, status: e.$metadata?.httpStatusCode, requestId: e.$metadata?.requestId, attempts: e.$metadata?.attempts, Code: e.Code, Type: e.Type };
}

async function failure(call: Promise<unknown>): Promise<unknown> {
    try {
        await call;
    } catch (error) {
        return error;
    }
    throw new Error("expected the call to fail, it succeeded");
}

/** `x-amz-date` (20261207T005132Z) as a Date. */
function amzDate(value: string | string[] | undefined): Date {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(value));
    assert.ok(m, `x-amz-date ${String(value)}`);
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** Signs what the server received again, with the signer the client uses, and returns the Authorization header it gets. */
async function reSign(request: CannedRequest, port: number, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region = REGION): Promise<string> {
    const signed = /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))?.[1].split(";") ?? [];
    const headers = Object.fromEntries(signed.filter((name) => !["x-amz-date", "x-amz-security-token"].includes(name)).map((name) => [name, String(request.headers[name])]));
    const signer = new SignatureV4({ service: "sqs", region, credentials, sha256: Hash.bind(null, "sha256") });
    const again = await signer.sign({ method: request.method, protocol: "http:", hostname: "127.0.0.1", port, path: request.url, query: {}, headers, body: request.body }, { signingDate: amzDate(request.headers["x-amz-date"]) });
    return again.headers.authorization;
}

/** Sets environment variables (undefined: removes) while `body` runs, then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
    const apply = (values: Record<string, string | undefined>) => {
        for (const [key, value] of Object.entries(values)) {
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
    };
    apply(vars);
    try {
        return await body();
    } finally {
        apply(saved);
    }
}

const NO_CREDENTIAL_VARIABLES = {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined,
};

function workerOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
    return { ...DEFAULTS, queueUrl: QUEUE_URL, region: REGION, sourceDir: "/data/s", destinationDir: "/data/d", ...overrides };
}

describe("worker SQS client", function () {
    this.timeout(60_000);
    let server: CannedServer;
    beforeEach(async () => {
        server = await startCannedServer(() => ({ body: {} }));
    });
    afterEach(async () => {
        await server.close();
    });

    describe("requests", () => {
        it("signs each call with SigV4: the headers are there, the payload hash is the body's, and signing the received request again gives the same signature", async () => {
            await leanClient(server.url).send("DeleteMessageBatch", DELETE);
            const [request] = server.requests;
            const authorization = String(request.headers.authorization);
            const date = amzDate(request.headers["x-amz-date"]);
            assert.ok(Math.abs(date.getTime() - Date.now()) < 60_000, `signed now (${date.toISOString()})`);
            const day = date.toISOString().slice(0, 10).replace(/-/g, "");
            assert.match(authorization, new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${day}/eu-west-1/sqs/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`));
            const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1].split(";");
            for (const name of ["content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target", "x-amz-content-sha256"]) assert.ok(signedHeaders?.includes(name), `${name} is signed (${signedHeaders?.join(";")})`);
            assert.equal(request.headers["x-amz-security-token"], CREDENTIALS.sessionToken);
            assert.equal(request.headers["x-amz-content-sha256"], createHash("sha256").update(request.body).digest("hex"), "the payload hash is the body's");
            assert.equal(await reSign(request, server.port, CREDENTIALS), authorization, "the same signer, credentials and date give the same signature");
            assert.notEqual(await reSign(request, server.port, { ...CREDENTIALS, secretAccessKey: "another" }), authorization, "another secret gives another signature");
            assert.notEqual(await reSign(request, server.port, CREDENTIALS, "us-east-1"), authorization, "another region gives another signature");
        });

        it("sends each of the worker's calls in AWS JSON 1.0 exactly as the SDK's SQSClient does: POST /, its X-Amz-Target, the same body", async () => {
            const calls = [
                { action: "ReceiveMessage", input: { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 20, VisibilityTimeout: 60, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }, sdk: ReceiveMessageCommand },
                { action: "DeleteMessageBatch", input: { QueueUrl: QUEUE_URL, Entries: [{ Id: "0", ReceiptHandle: "h0" }, { Id: "1", ReceiptHandle: "h1" }] }, sdk: DeleteMessageBatchCommand },
                { action: "ChangeMessageVisibilityBatch", input: { QueueUrl: QUEUE_URL, Entries: [{ Id: "0", ReceiptHandle: "h0", VisibilityTimeout: 0 }] }, sdk: ChangeMessageVisibilityBatchCommand },
            ] as const;
            const lean = leanClient(server.url);
            const sdk = sdkClient(server.url);
            const shape = (request: CannedRequest) => ({
                method: request.method,
                path: request.url,
                contentType: request.headers["content-type"],
                target: request.headers["x-amz-target"],
                queryMode: request.headers["x-amzn-query-mode"],
                body: JSON.parse(request.body) as unknown,
            });
            for (const call of calls) {
                server.requests.length = 0;
                await lean.send(call.action, call.input as never);
                const Command = call.sdk as unknown as new (input: unknown) => DeleteMessageBatchCommand;
                await sdk.send(new Command(call.input));
                const [ours, theirs] = server.requests.map(shape);
                assert.equal(ours.target, `AmazonSQS.${call.action}`);
                assert.deepEqual(ours.body, call.input);
                assert.deepEqual(ours, theirs, call.action);
            }
            sdk.destroy();
        });

        it("checks each received body against its MD5, as the SDK does", async () => {
            const md5 = (text: string) => createHash("md5").update(text).digest("hex");
            const good = { MessageId: "m1", ReceiptHandle: "r1", Body: "file-001", MD5OfBody: md5("file-001") };
            server.handler = () => ({ body: { Messages: [good, { MessageId: "m2", ReceiptHandle: "r2", Body: "file-002", MD5OfBody: md5("file-00X") }] } });
            const lean = leanClient(server.url);
            await assert.rejects(lean.send("ReceiveMessage", { QueueUrl: QUEUE_URL }), /^Error: Invalid MD5 checksum on messages: m2$/);
            server.handler = () => ({ body: { Messages: [good] } });
            assert.deepEqual(await lean.send("ReceiveMessage", { QueueUrl: QUEUE_URL }), { Messages: [good] });
        });
    });

    describe("errors and retries, against the SDK's SQSClient answered alike", () => {
        const json = (status: number, queryError: string | undefined, body: object): CannedAnswer => ({ status, headers: { "x-amzn-requestid": "req-1", ...(queryError ? { "x-amzn-query-error": queryError } : {}) }, body });
        const cases: Array<[string, CannedAnswer]> = [
            ["a missing queue, with the query-compatible code", json(400, "AWS.SimpleQueueService.NonExistentQueue;Sender", { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." })],
            ["a missing queue, __type alone", json(400, undefined, { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." })],
            ["throttling (retried)", json(400, "ThrottlingException;Sender", { __type: "com.amazon.coral.availability#ThrottlingException", message: "Rate exceeded" })],
            ["SQS's RequestThrottled (retried)", json(403, "RequestThrottled;Sender", { __type: "com.amazonaws.sqs#RequestThrottled", message: "Slow down" })],
            ["an internal failure, 500 (retried)", json(500, "InternalFailure;Receiver", { __type: "com.amazon.coral.service#InternalFailure" })],
            ["a 502 with an empty body (retried)", { status: 502, headers: { "x-amzn-requestid": "req-1" }, body: "" }],
            ["access denied (not retried)", json(400, "AccessDenied;Sender", { __type: "com.amazon.coral.service#AccessDeniedException", Message: "not allowed" })],
            ["a bad key", json(403, "InvalidClientTokenId;Sender", { __type: "com.amazon.coral.service#UnrecognizedClientException", message: "The security token included in the request is invalid." })],
            ["KMS throttling (SQS's own model: not retried)", json(400, "KMS.ThrottlingException;Sender", { __type: "com.amazonaws.sqs#KmsThrottled", message: "kms" })],
        ];
        for (const [what, answer] of cases) {
            it(`${what}: the same name, message, fault, status, request id, codes and attempts`, async () => {
                server.handler = () => answer;
                const lean = leanClient(server.url);
                const sdk = sdkClient(server.url);
                const ours = await failure(lean.send("DeleteMessageBatch", DELETE));
                const oursOnWire = server.requests.length;
                server.requests.length = 0;
                const theirs = await failure(sdk.send(new DeleteMessageBatchCommand(DELETE)));
                sdk.destroy();
                assert.ok(ours instanceof SqsServiceError, String(ours));
                assert.deepEqual(errorFields(ours), errorFields(theirs));
                assert.equal(oursOnWire, server.requests.length, "as many requests on the wire");
            });
        }

        it("names every query-compatible code of SQS's model as the SDK does", async () => {
            const codes = [...Object.keys(QUERY_ERROR_NAMES), "InvalidAddress", "OverLimit", "ReceiptHandleIsInvalid", "AWS.SimpleQueueService.SomethingNew"];
            let code = "";
            server.handler = () => json(400, `${code};Sender`, { __type: "com.amazonaws.sqs#Whatever", message: code });
            const lean = leanClient(server.url);
            const sdk = sdkClient(server.url);
            for (code of codes) {
                const ours = await failure(lean.send("DeleteMessageBatch", DELETE));
                const theirs = await failure(sdk.send(new DeleteMessageBatchCommand(DELETE)));
                assert.equal((ours as Error).name, (theirs as Error).name, code);
            }
            sdk.destroy();
            assert.equal((await failure(lean.send("DeleteMessageBatch", DELETE)) as Error).name, "AWS.SimpleQueueService.SomethingNew", "an unknown code is its own name");
        });

        it("keeps only the first paragraph of a message: SignatureDoesNotMatch's canonical request, with the session token in it, stays out of the error the worker logs", async () => {
            const canonical = ["POST", "/", "", "content-type:application/x-amz-json-1.0", "host:sqs.eu-west-1.amazonaws.com", `x-amz-security-token:${CREDENTIALS.sessionToken}`, "", "content-type;host;x-amz-security-token"].join("\n");
            const first = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
            server.handler = () => json(403, "SignatureDoesNotMatch;Sender", { __type: "com.amazon.coral.service#SignatureDoesNotMatch", message: `${first}\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256'\n` });
            const ours = (await failure(leanClient(server.url).send("DeleteMessageBatch", DELETE))) as SqsServiceError;
            assert.equal(ours.name, "SignatureDoesNotMatch");
            assert.equal(ours.message, first);
            assert.ok(!JSON.stringify({ ...ours, message: ours.message }).includes(CREDENTIALS.sessionToken));
            server.handler = () => json(400, "AccessDenied;Sender", { __type: "com.amazon.coral.service#AccessDeniedException", message: "x".repeat(5_000) });
            assert.equal(((await failure(leanClient(server.url).send("DeleteMessageBatch", DELETE))) as Error).message, `${"x".repeat(400)}...`, "a long message is cut");
        });

        it("a body that is not JSON (a proxy's page): named Unknown with the status and the start of the body, retried like the SDK's", async () => {
            server.handler = () => ({ status: 503, headers: { "content-type": "text/html" }, body: "<html>Service Unavailable</html>" });
            const ours = await failure(leanClient(server.url).send("DeleteMessageBatch", DELETE));
            const oursOnWire = server.requests.length;
            server.requests.length = 0;
            const sdk = sdkClient(server.url);
            const theirs = await failure(sdk.send(new DeleteMessageBatchCommand(DELETE)));
            sdk.destroy();
            // The SDK throws its JSON parser's SyntaxError here; the status is what its retry rules read, as ours do.
            assert.deepEqual(errorFields(ours), { ...errorFields(ours), name: "Unknown", fault: "server", status: 503, attempts: 3 });
            assert.match((ours as Error).message, /^HTTP 503 with a body that is not JSON: "<html>Service Unavailable/);
            assert.equal((theirs as { $metadata: { attempts: number } }).$metadata.attempts, 3);
            assert.equal(oursOnWire, server.requests.length);
        });

        it("network errors keep Node's code, a reset named TimeoutError as the SDK names it, each tried three times", async () => {
            server.handler = () => "reset";
            const reset = await failure(leanClient(server.url).send("DeleteMessageBatch", DELETE));
            const resetOnWire = server.requests.length;
            server.requests.length = 0;
            const sdk = sdkClient(server.url);
            assert.deepEqual(errorFields(reset), errorFields(await failure(sdk.send(new DeleteMessageBatchCommand(DELETE)))));
            sdk.destroy();
            assert.deepEqual([(reset as Error).name, (reset as NodeJS.ErrnoException).code, resetOnWire, server.requests.length], ["TimeoutError", "ECONNRESET", 3, 3]);

            const closed = await startCannedServer(() => ({}));
            await closed.close();
            const refused = await failure(leanClient(closed.url).send("DeleteMessageBatch", DELETE));
            const sdkRefused = sdkClient(closed.url);
            assert.deepEqual(errorFields(refused), { ...errorFields(await failure(sdkRefused.send(new DeleteMessageBatchCommand(DELETE)))), message: (refused as Error).message });
            sdkRefused.destroy();
            assert.deepEqual([(refused as NodeJS.ErrnoException).code, errorFields(refused).attempts], ["ECONNREFUSED", 3]);
        });

        it("a server clock 10 minutes ahead: the refused call is signed again with the server's time and succeeds, as with the SDK", async () => {
            const ahead = () => new Date(Date.now() + 600_000).toUTCString();
            server.handler = (_request, index) => (index % 2 === 0 ? { ...json(403, "SignatureDoesNotMatch;Sender", { __type: "com.amazon.coral.service#InvalidSignatureException", message: "Signature expired" }), headers: { date: ahead() } } : { headers: { date: ahead() }, body: {} });
            await leanClient(server.url).send("DeleteMessageBatch", DELETE);
            const sdk = sdkClient(server.url);
            await sdk.send(new DeleteMessageBatchCommand(DELETE));
            sdk.destroy();
            assert.equal(server.requests.length, 4, "each client: one refused request, one retried");
            const skew = (request: CannedRequest) => Math.round((amzDate(request.headers["x-amz-date"]).getTime() - Date.now()) / 60_000) || 0;
            assert.deepEqual(server.requests.map(skew), [0, 10, 0, 10], "minutes ahead of this clock each request was signed");
        });

        it("the request timeout ends a call that gets no answer, with the SDK's TimeoutError and ETIMEDOUT, retried", async () => {
            server.handler = () => "hang";
            const started = Date.now();
            const error = await failure(leanClient(server.url, { requestTimeoutMs: 300 }).send("DeleteMessageBatch", DELETE));
            assert.deepEqual([(error as Error).name, (error as NodeJS.ErrnoException).code, errorFields(error).attempts, server.requests.length], ["TimeoutError", "ETIMEDOUT", 3, 3]);
            assert.ok(Date.now() - started < 5_000, `given up after ${Date.now() - started} ms`);
        });
    });

    describe("abort signals", () => {
        it("a long poll on the emulator ends promptly when its signal aborts, and a call with an aborted signal does not go out", async () => {
            const emulator = await startEmulator();
            try {
                const queue = createQueuePair(emulator);
                const lean = leanClient(emulator.endpoint);
                const stop = new AbortController();
                const started = Date.now();
                const waiting = lean.send("ReceiveMessage", { QueueUrl: queue.url, WaitTimeSeconds: 20 }, { abortSignal: stop.signal });
                setTimeout(() => stop.abort(), 200);
                const error = await failure(waiting);
                assert.deepEqual([(error as Error).name, (error as Error).message], ["AbortError", "Request aborted"]);
                assert.ok(Date.now() - started < 1_500, `the long poll ended ${Date.now() - started} ms after it began (it waits 20 s unaborted)`);
            } finally {
                await emulator.stop();
            }
            const lean = leanClient(server.url);
            const aborted = AbortSignal.abort();
            const error = await failure(lean.send("ReceiveMessage", { QueueUrl: QUEUE_URL, WaitTimeSeconds: 20 }, { abortSignal: aborted }));
            assert.equal((error as Error).name, "AbortError");
            assert.equal(server.requests.length, 0, "nothing sent");
        });

        it("an abort during the wait before a retry ends the call at once", async () => {
            // Throttled, and told to wait 3 s (the SDK's retry honours x-amz-retry-after): abort inside that wait.
            server.handler = () => ({ status: 400, headers: { "x-amzn-query-error": "ThrottlingException;Sender", "x-amz-retry-after": "3000" }, body: { __type: "ThrottlingException" } });
            const stop = new AbortController();
            const waiting = leanClient(server.url).send("ReceiveMessage", { QueueUrl: QUEUE_URL }, { abortSignal: stop.signal });
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.equal(server.requests.length, 1, "answered, and waiting to retry");
            const aborted = Date.now();
            stop.abort();
            assert.equal(((await failure(waiting)) as Error).name, "AbortError");
            assert.ok(Date.now() - aborted < 100, `ended ${Date.now() - aborted} ms after the abort`);
            assert.equal(server.requests.length, 1);
        });
    });

    describe("endpoint", () => {
        it("AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL, else the queue URL's origin, else the region's endpoint", () => {
            assert.equal(sqsEndpoint(QUEUE_URL, REGION, { AWS_ENDPOINT_URL_SQS: " http://127.0.0.1:4566 ", AWS_ENDPOINT_URL: "http://other:1" }).href, "http://127.0.0.1:4566/");
            assert.equal(sqsEndpoint(QUEUE_URL, REGION, { AWS_ENDPOINT_URL: "https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com" }).href, "https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com/");
            assert.equal(sqsEndpoint(QUEUE_URL, REGION, {}).href, "https://sqs.eu-west-1.amazonaws.com/");
            assert.equal(sqsEndpoint("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1", {}).href, "https://sqs.cn-north-1.amazonaws.com.cn/");
            // An emulator's URL that WHATWG does not parse: the region's endpoint, as the SDK falls back.
            assert.equal(sqsEndpoint("http://sqs.us-east-1.127.0.0.1:4566/000000000000/q", "us-east-1", {}).href, "https://sqs.us-east-1.amazonaws.com/");
            assert.throws(() => sqsEndpoint(QUEUE_URL, REGION, { AWS_ENDPOINT_URL_SQS: "localhost:4566" }), (error: unknown) => error instanceof WorkerConfigError && error.variable === "AWS_ENDPOINT_URL_SQS" && /expected an http\(s\) URL.*got "localhost:4566"/.test(error.message));
        });

        it("a path on the endpoint is kept, and calls POST to it", async () => {
            await leanClient(`${server.url}/sqs`).send("DeleteMessageBatch", DELETE);
            assert.equal(server.requests[0].url, "/sqs/");
        });
    });

    describe("credentials", () => {
        let credentialsServer: CannedServer;
        let issued: Array<{ AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: string }>;
        const TOKEN = "container-auth-token";
        beforeEach(async () => {
            issued = [];
            credentialsServer = await startCannedServer((request) => {
                if (request.headers.authorization !== TOKEN) return { status: 401, body: { Code: "AccessDenied", Message: "bad token" } };
                return { body: issued[Math.min(credentialsServer.requests.length, issued.length) - 1] };
            });
        });
        afterEach(async () => {
            await credentialsServer.close();
        });

        /** The access key and session token of the last request SQS received, and whether its signature verifies with `secret`. */
        async function lastSignature(secret: string): Promise<{ key: string; token: unknown; verifies: boolean }> {
            const request = server.requests[server.requests.length - 1];
            const key = /Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? "";
            const token = request.headers["x-amz-security-token"];
            const verifies = (await reSign(request, server.port, { accessKeyId: key, secretAccessKey: secret, ...(typeof token === "string" ? { sessionToken: token } : {}) })) === request.headers.authorization;
            return { key, token, verifies };
        }

        it("from the environment first, even beside a container endpoint", async () => {
            await withEnv({ ...NO_CREDENTIAL_VARIABLES, AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "env-secret", AWS_SESSION_TOKEN: "env-token", AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/creds` }, async () => {
                const sqs = createSqsClient(workerOptions(), { AWS_ENDPOINT_URL_SQS: server.url });
                assert.equal(sqs.credentials, "environment");
                await sqs.send("DeleteMessageBatch", DELETE);
                assert.deepEqual(await lastSignature("env-secret"), { key: "AKIDENV", token: "env-token", verifies: true });
                assert.equal(credentialsServer.requests.length, 0, "the container endpoint is not asked");
            });
        });

        it("from the container endpoint with its authorization token (given, or in a file), refreshed 5 minutes before they expire", async () => {
            const soon = new Date(Date.now() + 300_000 + 5_000).toISOString();
            const later = new Date(Date.now() + 3_600_000).toISOString();
            issued = [
                { AccessKeyId: "ASIAFIRST", SecretAccessKey: "first-secret", Token: "first-token", Expiration: soon },
                { AccessKeyId: "ASIASECOND", SecretAccessKey: "second-secret", Token: "second-token", Expiration: later },
            ];
            await withEnv({ ...NO_CREDENTIAL_VARIABLES, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/v2/credentials/task`, AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN }, async () => {
                const sqs = createSqsClient(workerOptions(), { AWS_ENDPOINT_URL_SQS: server.url });
                assert.equal(sqs.credentials, "container");
                await sqs.send("DeleteMessageBatch", DELETE);
                await sqs.send("DeleteMessageBatch", DELETE);
                assert.deepEqual(await lastSignature("first-secret"), { key: "ASIAFIRST", token: "first-token", verifies: true });
                assert.equal(credentialsServer.requests.length, 1, "fetched once while they are good");
                assert.deepEqual([credentialsServer.requests[0].url, credentialsServer.requests[0].headers.authorization], ["/v2/credentials/task", TOKEN]);
                // Now within 5 minutes of their expiry: the next call fetches new ones first.
                await new Promise((resolve) => setTimeout(resolve, 5_500));
                await sqs.send("DeleteMessageBatch", DELETE);
                assert.deepEqual(await lastSignature("second-secret"), { key: "ASIASECOND", token: "second-token", verifies: true });
                assert.equal(credentialsServer.requests.length, 2);
            });
            const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-token-")), "token");
            fs.writeFileSync(tokenFile, TOKEN);
            try {
                await withEnv({ ...NO_CREDENTIAL_VARIABLES, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/v2/credentials/task`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }, async () => {
                    await createSqsClient(workerOptions(), { AWS_ENDPOINT_URL_SQS: server.url }).send("DeleteMessageBatch", DELETE);
                    assert.equal(credentialsServer.requests[credentialsServer.requests.length - 1].headers.authorization, TOKEN, "the token read from its file");
                    assert.deepEqual(await lastSignature("second-secret"), { key: "ASIASECOND", token: "second-token", verifies: true });
                });
            } finally {
                fs.rmSync(path.dirname(tokenFile), { recursive: true, force: true });
            }
        });

        it("a wrong container token fails the call with the provider's error, and nothing unsigned goes to SQS", async () => {
            issued = [{ AccessKeyId: "ASIAX", SecretAccessKey: "x", Token: "x", Expiration: new Date(Date.now() + 3_600_000).toISOString() }];
            await withEnv({ ...NO_CREDENTIAL_VARIABLES, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" }, async () => {
                const error = await failure(createSqsClient(workerOptions(), { AWS_ENDPOINT_URL_SQS: server.url }).send("DeleteMessageBatch", DELETE));
                assert.equal((error as Error).name, "CredentialsProviderError");
                assert.equal(server.requests.length, 0);
            });
        });

        it("a container endpoint that takes the request and never answers fails the call after the timeout, an abort ends a call waiting on it, and the next fetch goes out afresh", async () => {
            issued = [{ AccessKeyId: "ASIALATE", SecretAccessKey: "late-secret", Token: "late-token", Expiration: new Date(Date.now() + 3_600_000).toISOString() }];
            let hang = true;
            const answer = credentialsServer.handler;
            credentialsServer.handler = (request, index) => (hang ? "hang" : answer(request, index));
            await withEnv({ ...NO_CREDENTIAL_VARIABLES, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN }, async () => {
                const sqs = leanClient(server.url, { credentials: credentialChain(500).provider });
                let started = Date.now();
                const error = await failure(sqs.send("DeleteMessageBatch", DELETE));
                assert.deepEqual([(error as Error).name, (error as Error).message], ["CredentialsProviderError", "no answer from the container credentials endpoint within 500 ms"]);
                assert.ok(Date.now() - started < 3_000, `failed after ${Date.now() - started} ms`);
                assert.equal(server.requests.length, 0, "nothing unsigned goes to SQS");

                const stop = new AbortController();
                const waiting = sqs.send("ReceiveMessage", { QueueUrl: QUEUE_URL, WaitTimeSeconds: 20 }, { abortSignal: stop.signal });
                setTimeout(() => stop.abort(), 100);
                started = Date.now();
                assert.equal(((await failure(waiting)) as Error).name, "AbortError");
                assert.ok(Date.now() - started < 300, `the abort ended it ${Date.now() - started} ms after the call began`);

                // Once the fetch in flight has timed out, the next call fetches again and gets an answer.
                await new Promise((resolve) => setTimeout(resolve, 600));
                hang = false;
                await sqs.send("DeleteMessageBatch", DELETE);
                assert.deepEqual(await lastSignature("late-secret"), { key: "ASIALATE", token: "late-token", verifies: true });
                assert.equal(credentialsServer.requests.length, 3);
            });
        });

        it("picks the chain by the variables set, and loads only that chain's provider (a container never loads the default chain)", () => {
            assert.equal(credentialSource({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/x" }), "environment");
            assert.equal(credentialSource({ AWS_ACCESS_KEY_ID: "a", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/x" }), "container");
            assert.equal(credentialSource({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1/x" }), "container");
            assert.equal(credentialSource({ AWS_PROFILE: "dev" }), "default-chain");
            buildWorker();
            const loaded = (env: Record<string, string>) => {
                const script = `const { credentialChain } = require(${JSON.stringify(path.join(path.dirname(WORKER_MAIN), "credentials.js"))});
const { source } = credentialChain();
const providers = Object.keys(require.cache).map((file) => /credential-provider-([a-z]+)[\\\\/]/.exec(file)?.[1]).filter(Boolean);
console.log(JSON.stringify({ source, providers: [...new Set(providers)].sort() }));`;
                const run = spawnSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env }, encoding: "utf8" });
                assert.equal(run.status, 0, run.stderr);
                return JSON.parse(run.stdout) as { source: string; providers: string[] };
            };
            assert.deepEqual(loaded({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }), { source: "environment", providers: ["env"] });
            assert.deepEqual(loaded({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/x" }), { source: "container", providers: ["http"] });
            const fallback = loaded({ AWS_PROFILE: "dev" });
            assert.equal(fallback.source, "default-chain");
            assert.ok(fallback.providers.includes("node"), `the default chain loaded: ${fallback.providers.join(", ")}`);
        });
    });
});
