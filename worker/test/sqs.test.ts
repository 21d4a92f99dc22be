/**
 * The worker's SQS client, the AWS SDK's SQSClient as worker/src/sqs.ts sets it up: what the SDK
 * does for the worker by its own settings (the MD5 check, retries, endpoint, credentials from its
 * default chain) and what the worker adds (a request timeout that fails a call, a deadline on the
 * credential chain, the abort of a long poll at stop, error messages cut before they reach a log).
 * Against loopback stand-ins that answer as told, and the emulator; never AWS.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSqsClient, describeConnection, Logger, Worker, type SqsClientOverrides } from "../src/index";
import { DEFAULTS, type WorkerOptions } from "../src/options";
import { startCannedServer, type CannedAnswer, type CannedServer } from "./support/canned-server";
import { createQueuePair, HERMETIC_AWS_ENV, makeDataFolders, startEmulator, waitFor } from "./support/harness";

const REGION = "eu-west-1";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-token-1" };
const SETTINGS = { region: REGION, receiveLoops: 1, waitTimeSeconds: 0 };

/** The worker's client on `endpoint` (the SDK's endpoint resolution when undefined). */
function client(endpoint: string | undefined, overrides: SqsClientOverrides = {}): SQSClient {
    return createSqsClient(SETTINGS, { credentials: CREDENTIALS, ...(endpoint === undefined ? {} : { endpoint }), ...overrides });
}

function deleteCommand(queueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/files"): DeleteMessageBatchCommand {
    return new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "0", ReceiptHandle: "handle-0" }] });
}

async function failure(call: Promise<unknown>): Promise<unknown> {
    try {
        await call;
    } catch (error) {
        return error;
    }
    throw new Error("expected the call to fail, it succeeded");
}

/** `promise`, or "still waiting" after `ms`: a call that hangs fails the test instead of holding it. */
function within<T>(ms: number, promise: Promise<T>): Promise<T | "still waiting"> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([promise, new Promise<"still waiting">((resolve) => (timer = setTimeout(() => resolve("still waiting"), ms)))]).finally(() => clearTimeout(timer));
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

/** No AWS setting of whoever runs the tests: no keys, profile, shared files, endpoints, instance metadata. */
const CLEAN_AWS_ENV: Record<string, string | undefined> = {
    ...HERMETIC_AWS_ENV,
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_SQS: undefined,
    AWS_MAX_ATTEMPTS: undefined,
    AWS_RETRY_MODE: undefined,
    AWS_USE_FIPS_ENDPOINT: undefined,
};

/** A shared config file holding `text`, removed after `body`. */
async function withConfigFile<T>(text: string, body: (file: string) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-aws-config-"));
    const file = path.join(dir, "config");
    fs.writeFileSync(file, text);
    try {
        return await body(file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The access key a request was signed with. */
function signingKey(server: CannedServer, index = server.requests.length - 1): string | undefined {
    return /Credential=([^/]+)\//.exec(String(server.requests[index]?.headers.authorization))?.[1];
}

function json(status: number, queryError: string, body: object): CannedAnswer {
    return { status, headers: { "x-amzn-requestid": "req-1", "x-amzn-query-error": queryError }, body };
}

describe("worker SQS client (the AWS SDK's SQSClient)", function () {
    this.timeout(30_000);
    let server: CannedServer;
    beforeEach(async () => {
        server = await startCannedServer(() => ({ body: {} }));
    });
    afterEach(async () => {
        await server.close();
    });

    it("checks each received body against its MD5 (the SDK's own check)", async () => {
        const md5 = (text: string) => createHash("md5").update(text).digest("hex");
        const good = { MessageId: "m1", ReceiptHandle: "r1", Body: "file-001", MD5OfBody: md5("file-001") };
        server.handler = () => ({ body: { Messages: [good, { MessageId: "m2", ReceiptHandle: "r2", Body: "file-002", MD5OfBody: md5("file-00X") }] } });
        const sqs = client(server.url);
        const receive = new ReceiveMessageCommand({ QueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/files" });
        await assert.rejects(sqs.send(receive), /^Error: Invalid MD5 checksum on messages: m2$/);
        server.handler = () => ({ body: { Messages: [good] } });
        assert.deepEqual((await sqs.send(receive)).Messages, [good]);
    });

    it("a call that gets no answer fails with the SDK's TimeoutError after the request timeout (by default the long-poll wait plus 10 s), and the SDK retries it", async () => {
        server.handler = () => "hang";
        const started = Date.now();
        const error = await within(8_000, failure(client(server.url, { requestTimeoutMs: 300 }).send(deleteCommand())));
        assert.notEqual(error, "still waiting", "the call was still waiting on a server that never answers");
        const { name, code, $metadata } = error as { name: string; code: string; $metadata: { attempts: number } };
        assert.deepEqual([name, code, $metadata.attempts, server.requests.length], ["TimeoutError", "ETIMEDOUT", 3, 3]);
        assert.ok(Date.now() - started < 5_000, `given up after ${Date.now() - started} ms`);

        server.handler = () => ({ body: {} });
        const worker = createSqsClient({ ...SETTINGS, waitTimeSeconds: 20 }, { credentials: CREDENTIALS, endpoint: server.url });
        await worker.send(deleteCommand());
        const handler = worker.config.requestHandler as unknown as { httpHandlerConfigs(): { requestTimeout?: number; throwOnRequestTimeout?: boolean } };
        const { requestTimeout, throwOnRequestTimeout } = handler.httpHandlerConfigs();
        assert.deepEqual([requestTimeout, throwOnRequestTimeout], [30_000, true]);
    });

    it("retries as the SDK's settings say: AWS_MAX_ATTEMPTS, max_attempts in the shared config, else 3 attempts", async () => {
        server.handler = () => json(500, "InternalFailure;Receiver", { __type: "com.amazon.coral.service#InternalFailure", message: "try again" });
        const attempts = async (env: Record<string, string | undefined>) =>
            withEnv({ ...CLEAN_AWS_ENV, ...env }, async () => {
                server.requests.length = 0;
                const error = (await failure(client(server.url).send(deleteCommand()))) as { name: string; $metadata: { attempts: number } };
                assert.equal(error.name, "InternalFailure");
                assert.equal(error.$metadata.attempts, server.requests.length);
                return server.requests.length;
            });
        assert.equal(await attempts({}), 3);
        assert.equal(await attempts({ AWS_MAX_ATTEMPTS: "2" }), 2);
        assert.equal(await withConfigFile("[default]\nmax_attempts = 4\n", (file) => attempts({ AWS_CONFIG_FILE: file })), 4);
        await withEnv({ ...CLEAN_AWS_ENV, AWS_RETRY_MODE: "adaptive" }, async () => {
            const { retryMode } = client(server.url).config;
            assert.equal(typeof retryMode === "function" ? await retryMode() : retryMode, "adaptive");
        });
    });

    it("sends to the SDK's own endpoint, AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL, else endpoint_url in the shared config, never to the queue URL's host, and names it", async () => {
        const queueHost = await startCannedServer(() => ({ body: {} }));
        const other = await startCannedServer(() => ({ body: {} }));
        try {
            const queueUrl = `${queueHost.url}/123456789012/files`;
            const sentTo = (env: Record<string, string | undefined>) =>
                withEnv({ ...CLEAN_AWS_ENV, ...env }, async () => {
                    server.requests.length = 0;
                    const sqs = client(undefined);
                    await sqs.send(deleteCommand(queueUrl));
                    assert.deepEqual([server.requests.length, queueHost.requests.length, other.requests.length], [1, 0, 0], JSON.stringify(env));
                    return (await describeConnection(sqs, queueUrl)).sqsEndpoint;
                });
            assert.equal(await sentTo({ AWS_ENDPOINT_URL_SQS: server.url, AWS_ENDPOINT_URL: other.url }), server.url);
            assert.equal(await sentTo({ AWS_ENDPOINT_URL: server.url }), server.url);
            assert.equal(await withConfigFile(`[default]\nendpoint_url = ${server.url}\n`, (file) => sentTo({ AWS_CONFIG_FILE: file })), server.url);
        } finally {
            await queueHost.close();
            await other.close();
        }
        // With none, the region's endpoint by the SDK's rules (named only: nothing is sent).
        const named = (region: string, env: Record<string, string> = {}) =>
            withEnv({ ...CLEAN_AWS_ENV, ...env }, async () => (await describeConnection(createSqsClient({ ...SETTINGS, region }, { credentials: CREDENTIALS }), `https://sqs.${region}.amazonaws.com/123456789012/q`)).sqsEndpoint);
        assert.equal(await named("eu-west-1"), "https://sqs.eu-west-1.amazonaws.com");
        assert.equal(await named("us-east-1", { AWS_USE_FIPS_ENDPOINT: "true" }), "https://sqs-fips.us-east-1.amazonaws.com");
        assert.equal(await named("cn-north-1"), "https://sqs.cn-north-1.amazonaws.com.cn");
    });

    it("an abort during the SDK's wait before a retry ends the call at once", async () => {
        // Throttled, and told to wait 3 s (the SDK honours x-amz-retry-after): abort inside that wait.
        server.handler = () => ({ status: 400, headers: { "x-amzn-query-error": "ThrottlingException;Sender", "x-amz-retry-after": "3000" }, body: { __type: "ThrottlingException" } });
        const stop = new AbortController();
        const waiting = failure(client(server.url).send(new ReceiveMessageCommand({ QueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/files" }), { abortSignal: stop.signal }));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(server.requests.length, 1, "answered, and waiting to retry");
        const aborted = Date.now();
        stop.abort();
        assert.equal(((await waiting) as Error).name, "AbortError");
        assert.ok(Date.now() - aborted < 100, `ended ${Date.now() - aborted} ms after the abort`);
        assert.equal(server.requests.length, 1);
    });

    describe("credentials, from the SDK's default chain", () => {
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
        const container = () => ({ ...CLEAN_AWS_ENV, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentialsServer.url}/v2/credentials/task`, AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN });
        const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

        it("from the environment: named `environment`, each call signed with its key and token", async () => {
            await withEnv({ ...CLEAN_AWS_ENV, AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "env-secret", AWS_SESSION_TOKEN: "env-token" }, async () => {
                const sqs = createSqsClient(SETTINGS, { endpoint: server.url });
                assert.deepEqual(await describeConnection(sqs, "https://sqs.eu-west-1.amazonaws.com/123456789012/files"), { sqsEndpoint: server.url, credentials: "environment" });
                await sqs.send(deleteCommand());
                assert.deepEqual([signingKey(server), server.requests[0].headers["x-amz-security-token"]], ["AKIDENV", "env-token"]);
            });
        });

        it("from the container endpoint ECS sets, with its authorization token: named `container`, fetched again 5 minutes before they expire", async () => {
            issued = [
                { AccessKeyId: "ASIAFIRST", SecretAccessKey: "first-secret", Token: "first-token", Expiration: new Date(Date.now() + 300_000 + 3_000).toISOString() },
                { AccessKeyId: "ASIASECOND", SecretAccessKey: "second-secret", Token: "second-token", Expiration: inAnHour() },
            ];
            await withEnv(container(), async () => {
                const sqs = createSqsClient(SETTINGS, { endpoint: server.url });
                assert.equal((await describeConnection(sqs, "https://sqs.eu-west-1.amazonaws.com/123456789012/files")).credentials, "container");
                await sqs.send(deleteCommand());
                assert.deepEqual([signingKey(server), server.requests[0].headers["x-amz-security-token"]], ["ASIAFIRST", "first-token"]);
                assert.deepEqual([credentialsServer.requests.length, credentialsServer.requests[0].url, credentialsServer.requests[0].headers.authorization], [1, "/v2/credentials/task", TOKEN]);
                // Now within 5 minutes of their expiry: the SDK fetches new ones behind this call (the old are good a while yet) and the next uses them.
                await new Promise((resolve) => setTimeout(resolve, 3_500));
                await sqs.send(deleteCommand());
                await waitFor("the fetch of new credentials", () => credentialsServer.requests.length === 2);
                await new Promise((resolve) => setTimeout(resolve, 200));
                await sqs.send(deleteCommand());
                assert.deepEqual([signingKey(server), credentialsServer.requests.length], ["ASIASECOND", 2]);
            });
        });

        it("a container endpoint that takes the request and never answers fails the call at the deadline, sends nothing unsigned, and the next call fetches afresh", async () => {
            issued = [{ AccessKeyId: "ASIALATE", SecretAccessKey: "late-secret", Token: "late-token", Expiration: inAnHour() }];
            let hang = true;
            const answer = credentialsServer.handler;
            credentialsServer.handler = (request, index) => (hang ? "hang" : answer(request, index));
            await withEnv(container(), async () => {
                const sqs = createSqsClient(SETTINGS, { endpoint: server.url, credentialsDeadlineMs: 500 });
                const started = Date.now();
                const error = await within(8_000, failure(sqs.send(deleteCommand())));
                assert.notEqual(error, "still waiting", "the call was still waiting on a credentials endpoint that never answers");
                assert.deepEqual([(error as Error).name, (error as Error).message], ["CredentialsTimeoutError", "no credentials from the AWS SDK's default chain within 500 ms"]);
                assert.ok(Date.now() - started < 3_000, `failed after ${Date.now() - started} ms`);
                assert.equal(server.requests.length, 0, "nothing unsigned goes to SQS");
                hang = false;
                await sqs.send(deleteCommand());
                assert.equal(signingKey(server), "ASIALATE");
                assert.equal(credentialsServer.requests.length, 2, "one lost fetch, one answered");
            });
        });

        it("none to be had, or an endpoint the SDK cannot use (endpoint_url in the shared config not a URL): the start-up details say so rather than failing the start", async () => {
            await withEnv(CLEAN_AWS_ENV, async () => {
                const { credentials } = await describeConnection(createSqsClient(SETTINGS, { endpoint: server.url }), "https://sqs.eu-west-1.amazonaws.com/123456789012/files");
                assert.match(credentials, /^none yet \(CredentialsProviderError: /);
            });
            const unresolved = await withConfigFile("[default]\nendpoint_url = not a url\n", (file) =>
                withEnv({ ...CLEAN_AWS_ENV, AWS_CONFIG_FILE: file }, async () => (await describeConnection(client(undefined), "https://sqs.eu-west-1.amazonaws.com/123456789012/files")).sqsEndpoint),
            );
            assert.equal(unresolved, "unresolved (TypeError: ERR_INVALID_URL Invalid URL)");
            assert.equal(server.requests.length, 0);
        });
    });

    describe("in the worker", () => {
        const options = (queueUrl: string, overrides: Partial<WorkerOptions> = {}): WorkerOptions => ({ ...DEFAULTS, queueUrl, region: REGION, sourceDir: "/unused", destinationDir: "/unused", receiveLoops: 1, ...overrides });

        it("stop ends a long poll at once: each receive carries the worker's abort signal", async () => {
            const emulator = await startEmulator();
            const folders = makeDataFolders();
            try {
                const queue = createQueuePair(emulator);
                const worker = new Worker(options(queue.url, { sourceDir: folders.source, destinationDir: folders.destination, receiveLoops: 2, waitTimeSeconds: 20 }), {
                    sqs: client(emulator.endpoint),
                    logger: new Logger("plain", "k", () => undefined),
                });
                await worker.start();
                await new Promise((resolve) => setTimeout(resolve, 500));
                const stopping = Date.now();
                assert.notEqual(await within(10_000, worker.stop()), "still waiting", "stop waited on the 20 s long poll");
                assert.ok(Date.now() - stopping < 2_000, `stopped ${Date.now() - stopping} ms after stop() (the long poll waits 20 s)`);
            } finally {
                folders.remove();
                await emulator.stop();
            }
        });

        it("an SQS error reaches the log cut to its first paragraph: SignatureDoesNotMatch's canonical request, session token included, never does", async () => {
            const canonical = ["POST", "/", "", "content-type:application/x-amz-json-1.0", "host:sqs.eu-west-1.amazonaws.com", `x-amz-security-token:${CREDENTIALS.sessionToken}`, "", "content-type;host;x-amz-security-token"].join("\n");
            const first = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
            let message = `${first}\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256'\n`;
            server.handler = () => json(403, "SignatureDoesNotMatch;Sender", { __type: "com.amazon.coral.service#SignatureDoesNotMatch", message });
            const folders = makeDataFolders();
            try {
                const errorLine = async () => {
                    const lines: string[] = [];
                    const worker = new Worker(options("https://sqs.eu-west-1.amazonaws.com/123456789012/files", { sourceDir: folders.source, destinationDir: folders.destination }), {
                        sqs: client(server.url),
                        logger: new Logger("plain", "k", (line) => lines.push(line)),
                    });
                    await worker.start();
                    await waitFor("an sqs-error line", () => lines.some((line) => line.includes('"sqs-error"')));
                    await worker.stop();
                    return lines.find((line) => line.includes('"sqs-error"')) ?? "";
                };
                const refused = await errorLine();
                assert.ok(!refused.includes(CREDENTIALS.sessionToken), `the session token reached the log: ${refused}`);
                assert.equal((JSON.parse(refused) as { error: string }).error, `ReceiveMessage failed: SignatureDoesNotMatch: ${first}`);
                message = "x".repeat(5_000);
                assert.match((JSON.parse(await errorLine()) as { error: string }).error, /^ReceiveMessage failed: SignatureDoesNotMatch: x+\.\.\.$/);
                assert.equal((JSON.parse(await errorLine()) as { error: string }).error.length, "ReceiveMessage failed: ".length + 400 + 3);
            } finally {
                folders.remove();
            }
        });
    });
});
