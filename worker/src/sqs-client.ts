/**
 * The worker's SQS client: the three calls it makes (ReceiveMessage, DeleteMessageBatch,
 * ChangeMessageVisibilityBatch) in SQS's AWS JSON 1.0 protocol over node:http(s) with one pool of
 * kept-alive connections, signed by AWS's own SigV4 signer (@smithy/signature-v4) and retried by
 * the AWS SDK's own standard retry strategy (@smithy/core/retry), as the SDK's SQSClient did. In
 * place of @aws-sdk/client-sqs, whose client, middleware and schemas were about 17 MB of the
 * worker's peak memory (docs/performance.md). Behaviour kept from that client, and held to it by
 * worker/test/sqs-client.test.ts: the endpoint, the error names and shapes, the retries (three
 * attempts, the same backoff and retry quota, long polls in their own scope), the clock-skew
 * correction from each response's Date header, the MD5 check of received bodies, abort signals.
 */
import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy, DEFAULT_MAX_ATTEMPTS, getRetryAfterHint } from "@smithy/core/retry";
import { Hash } from "@smithy/core/serde";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentityProvider, StandardRetryToken, RetryErrorType } from "@smithy/types";
import { createHash } from "node:crypto";
import * as http from "node:http";
import { setting, WorkerConfigError, type Environment, type WorkerOptions } from "./options";
import { credentialChain, type CredentialSource } from "./credentials";

/** A message as ReceiveMessage returns it (the fields the worker reads). */
export interface Message {
    readonly MessageId?: string;
    readonly ReceiptHandle?: string;
    readonly MD5OfBody?: string;
    readonly Body?: string;
    readonly Attributes?: Readonly<Record<string, string>>;
}

export interface ReceiveMessageInput {
    readonly QueueUrl: string;
    readonly MaxNumberOfMessages?: number;
    readonly WaitTimeSeconds?: number;
    readonly VisibilityTimeout?: number;
    readonly MessageSystemAttributeNames?: readonly string[];
}

/** One entry of a batch call that failed (the call itself succeeded). */
export interface BatchResultErrorEntry {
    readonly Id: string;
    readonly SenderFault: boolean;
    readonly Code: string;
    readonly Message?: string;
}

export interface BatchOutput {
    readonly Successful?: ReadonlyArray<{ readonly Id: string }>;
    readonly Failed?: readonly BatchResultErrorEntry[];
}

/** Each call the worker makes: its input and its output. */
export interface SqsActions {
    ReceiveMessage: { input: ReceiveMessageInput; output: { readonly Messages?: Message[] } };
    DeleteMessageBatch: { input: { readonly QueueUrl: string; readonly Entries: ReadonlyArray<{ readonly Id: string; readonly ReceiptHandle?: string }> }; output: BatchOutput };
    ChangeMessageVisibilityBatch: {
        input: { readonly QueueUrl: string; readonly Entries: ReadonlyArray<{ readonly Id: string; readonly ReceiptHandle?: string; readonly VisibilityTimeout: number }> };
        output: BatchOutput;
    };
}
export type SqsAction = keyof SqsActions;

/** What the worker asks of SQS (and what tests may stand in for). */
export interface SqsSender {
    send<A extends SqsAction>(action: A, input: SqsActions[A]["input"], options?: { readonly abortSignal?: AbortSignal }): Promise<SqsActions[A]["output"]>;
    /** Where the calls go and where the credentials come from, for the start-up line (no secrets). */
    readonly endpoint?: string;
    readonly credentials?: CredentialSource;
}

/** What the SDK's `$metadata` held that the worker's logs and the retry rules read. */
export interface ResponseMetadata {
    httpStatusCode?: number;
    requestId?: string;
    attempts?: number;
    totalRetryDelay?: number;
    /** Set when the server's clock moved this client's by 4 minutes or more: retried, as the SDK does. */
    clockSkewCorrected?: boolean;
}

/**
 * An error SQS answered with, named as the SDK names it: the modelled exception's name
 * (`QueueDoesNotExist`, `RequestThrottled`, `KmsThrottled`...) or, for one SQS does not model, its
 * code (`ThrottlingException`, `InternalFailure`, `AccessDenied`); `Unknown` when the answer names
 * none. `Code` and `Type` are the query-compatible code and fault SQS sends beside it.
 */
export class SqsServiceError extends Error {
    readonly $fault: "client" | "server";
    readonly $metadata: ResponseMetadata;
    readonly Code?: string;
    readonly Type?: string;
    constructor(fields: { name: string; message: string; statusCode: number; requestId?: string; code?: string; type?: string }) {
        super(fields.message);
        this.name = fields.name;
        this.$fault = fields.statusCode < 500 ? "client" : "server";
        this.$metadata = { httpStatusCode: fields.statusCode, ...(fields.requestId === undefined ? {} : { requestId: fields.requestId }) };
        if (fields.code !== undefined) this.Code = fields.code;
        if (fields.type !== undefined) this.Type = fields.type;
    }
}

/**
 * SQS's query-compatible error codes (the `x-amzn-query-error` header) whose modelled exception has
 * another name: the SDK's SQS model (`awsQueryError` traits); every other code is its own name.
 */
export const QUERY_ERROR_NAMES: Readonly<Record<string, string>> = {
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": "BatchEntryIdsNotDistinct",
    "AWS.SimpleQueueService.BatchRequestTooLong": "BatchRequestTooLong",
    "AWS.SimpleQueueService.EmptyBatchRequest": "EmptyBatchRequest",
    "AWS.SimpleQueueService.InvalidBatchEntryId": "InvalidBatchEntryId",
    "AWS.SimpleQueueService.MessageNotInflight": "MessageNotInflight",
    "AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist",
    "AWS.SimpleQueueService.PurgeQueueInProgress": "PurgeQueueInProgress",
    "AWS.SimpleQueueService.QueueDeletedRecently": "QueueDeletedRecently",
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": "TooManyEntriesInBatchRequest",
    "AWS.SimpleQueueService.UnsupportedOperation": "UnsupportedOperation",
    QueueAlreadyExists: "QueueNameExists",
    "KMS.AccessDeniedException": "KmsAccessDenied",
    "KMS.DisabledException": "KmsDisabled",
    "KMS.InvalidKeyUsageException": "KmsInvalidKeyUsage",
    "KMS.InvalidStateException": "KmsInvalidState",
    "KMS.NotFoundException": "KmsNotFound",
    "KMS.OptInRequired": "KmsOptInRequired",
    "KMS.ThrottlingException": "KmsThrottled",
};

/** `com.amazonaws.sqs#QueueDoesNotExist:http://...` to `QueueDoesNotExist`, as the SDK cleans an error code. */
function cleanErrorCode(raw: string): string {
    const code = raw.split(",")[0].split(":")[0];
    return code.includes("#") ? code.split("#")[1] : code;
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
    const value = headers[name];
    return Array.isArray(value) ? value.join(",") : value;
}

/**
 * The error for a non-200 answer, as the SDK's AWS JSON 1.0 protocol with query compatibility reads
 * it: the code from `x-amzn-query-error` first, else the body's `code`, the `x-amzn-errortype`
 * header, the body's `__type`.
 */
function errorFromResponse(statusCode: number, headers: http.IncomingHttpHeaders, text: string): SqsServiceError {
    const requestId = header(headers, "x-amzn-requestid");
    let data: Record<string, unknown>;
    try {
        const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text);
        data = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
        // A proxy's or load balancer's page: the status is all there is to go on.
        return new SqsServiceError({ name: "Unknown", message: `HTTP ${statusCode} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`, statusCode, ...(requestId === undefined ? {} : { requestId }) });
    }
    const [queryCode, queryType] = header(headers, "x-amzn-query-error")?.split(";") ?? [];
    const field = (name: string) => {
        const key = Object.keys(data).find((k) => k.toLowerCase() === name);
        const value = key === undefined ? undefined : data[key];
        return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
    };
    const raw = queryCode || field("code") || header(headers, "x-amzn-errortype") || field("__type");
    const code = raw === undefined ? "Unknown" : cleanErrorCode(raw);
    const message = firstParagraph(field("message") ?? "UnknownError");
    return new SqsServiceError({
        name: QUERY_ERROR_NAMES[code] ?? code,
        message,
        statusCode,
        ...(requestId === undefined ? {} : { requestId }),
        ...(queryCode ? { code: queryCode } : {}),
        ...(queryType ? { type: queryType } : {}),
    });
}

/** Longest error message kept from an answer: its first paragraph says what went wrong. */
const MAX_ERROR_MESSAGE_CHARS = 400;

/**
 * The first paragraph of SQS's error message, at most MAX_ERROR_MESSAGE_CHARS. SignatureDoesNotMatch
 * goes on, after a blank line, with the canonical request SQS expected, every signed header in it,
 * the session token among them: the worker logs the message in its `sqs-error` lines.
 */
function firstParagraph(message: string): string {
    const first = message.split(/\r?\n\s*\r?\n/, 1)[0] ?? "";
    return first.length > MAX_ERROR_MESSAGE_CHARS ? `${first.slice(0, MAX_ERROR_MESSAGE_CHARS)}...` : first;
}

/** Node errors the SDK's HTTP handler renamed `TimeoutError` (its retry rules read the code either way). */
const TIMEOUT_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);

function asTimeout(error: Error): Error {
    return TIMEOUT_CODES.has((error as NodeJS.ErrnoException).code ?? "") ? Object.assign(error, { name: "TimeoutError" }) : error;
}

function timeoutError(message: string, code?: string): Error {
    return Object.assign(new Error(message), { name: "TimeoutError" }, code === undefined ? {} : { code });
}

/** The SDK's abort error: "Request aborted", named `AbortError`, the signal's reason as its cause. */
export function abortError(signal: AbortSignal): Error {
    const reason: unknown = signal.reason;
    if (reason !== undefined && !(reason instanceof Error)) return Object.assign(new Error(String(reason)), { name: "AbortError" });
    return Object.assign(new Error("Request aborted", reason === undefined ? undefined : { cause: reason }), { name: "AbortError" });
}

/** `promise`, or an AbortError as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal === undefined) return promise;
    if (signal.aborted) {
        promise.catch(() => undefined); // its outcome no longer matters, and must not go unhandled
        return Promise.reject(abortError(signal));
    }
    return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(abortError(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
}

/** The SDK's sorting of an error for its retry strategy (@smithy/core/retry's middleware). */
function retryErrorType(error: Error): RetryErrorType {
    if (isThrottlingError(error as never)) return "THROTTLING";
    if (isTransientError(error as never)) return "TRANSIENT";
    if (isServerError(error as never)) return "SERVER_ERROR";
    return "CLIENT_ERROR";
}

/** SHA-256 and HMAC-SHA256 as the SDK's Node.js clients hand them to the signer (node:crypto, through @smithy/core, which the signer loads anyway). */
const SHA256 = Hash.bind(null, "sha256");

function md5Hex(text: string): string {
    return createHash("md5").update(text, "utf8").digest("hex");
}

/**
 * Where the calls go, as the SDK's SQSClient chose it for the worker: `AWS_ENDPOINT_URL_SQS` (else
 * `AWS_ENDPOINT_URL`) as given; otherwise the queue URL's own origin (the SDK's queueUrlMiddleware
 * puts it in place of the regional endpoint); the regional endpoint where the queue URL is not one
 * WHATWG parses (an emulator's `http://sqs.us-east-1.127.0.0.1:4566/...`).
 */
export function sqsEndpoint(queueUrl: string, region: string, env: Environment = process.env): URL {
    const given = setting(env, "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL");
    if (given !== undefined) {
        const { name, value } = given;
        const url = URL.canParse(value) ? new URL(value) : undefined;
        if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
            throw new WorkerConfigError(name, `expected an http(s) URL such as https://sqs.eu-west-1.amazonaws.com or http://127.0.0.1:4566, got ${JSON.stringify(value)}`);
        }
        return url;
    }
    if (URL.canParse(queueUrl)) return new URL(new URL(queueUrl).origin);
    return new URL(`https://sqs.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`);
}

export interface SqsClientOptions {
    readonly region: string;
    readonly endpoint: URL;
    readonly credentials: AwsCredentialIdentityProvider;
    /** Which chain `credentials` is, for the start-up line. */
    readonly credentialSource?: CredentialSource;
    /** Connections kept alive at most. */
    readonly maxSockets: number;
    readonly connectionTimeoutMs: number;
    /** Longest a call may take, answer included (a long poll holds it for its wait). */
    readonly requestTimeoutMs: number;
}

interface Answer {
    readonly statusCode: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly text: string;
}

const JSON_1_0 = "application/x-amz-json-1.0";
const USER_AGENT = `ecs-anywhere-worker lang/js md/nodejs#${process.versions.node}`;

export class SqsClient implements SqsSender {
    readonly endpoint: string;
    readonly credentials?: CredentialSource;
    private readonly transport: Pick<typeof http, "request">;
    private readonly agent: http.Agent;
    private readonly signer: SignatureV4;
    private readonly retry = new StandardRetryStrategy({ maxAttempts: DEFAULT_MAX_ATTEMPTS });
    private readonly hostname: string;
    private readonly port: number | undefined;
    private readonly path: string;
    private readonly host: string;
    /** Server time minus local time, from the last answer's Date header (the SDK's systemClockOffset). */
    private clockOffsetMs = 0;

    constructor(private readonly options: SqsClientOptions) {
        const url = options.endpoint;
        // https only where the endpoint is: TLS costs memory an emulator on loopback does not need.
        const https = url.protocol === "https:" ? process.getBuiltinModule("node:https") : undefined;
        this.transport = https ?? http;
        this.agent = new (https?.Agent ?? http.Agent)({ keepAlive: true, maxSockets: options.maxSockets });
        this.hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
        this.port = url.port === "" ? undefined : Number(url.port);
        this.host = url.host;
        this.path = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
        this.endpoint = url.origin + (this.path === "/" ? "" : this.path);
        if (options.credentialSource !== undefined) this.credentials = options.credentialSource;
        this.signer = new SignatureV4({ service: "sqs", region: options.region, credentials: options.credentials, sha256: SHA256 });
    }

    async send<A extends SqsAction>(action: A, input: SqsActions[A]["input"], options?: { readonly abortSignal?: AbortSignal }): Promise<SqsActions[A]["output"]> {
        const signal = options?.abortSignal;
        const body = JSON.stringify(input);
        let token: StandardRetryToken = await abortable(this.retry.acquireInitialRetryToken(action === "ReceiveMessage" ? ":longpoll" : ""), signal);
        let totalRetryDelay = 0;
        for (;;) {
            let answer: unknown;
            try {
                answer = await this.attempt(action, body, signal);
                this.retry.recordSuccess(token);
            } catch (caught) {
                const error = caught instanceof Error ? caught : new Error(String(caught));
                const retryAfterHint = error instanceof SqsServiceError ? retryAfter.get(error) : undefined;
                try {
                    token = await abortable(this.retry.refreshRetryTokenForRetry(token, { error: error as never, errorType: retryErrorType(error), ...(retryAfterHint ? { retryAfterHint } : {}) }), signal);
                } catch (refusal) {
                    if (signal?.aborted && refusal instanceof Error && refusal.name === "AbortError") throw refusal;
                    const metadata: ResponseMetadata = ((error as { $metadata?: ResponseMetadata }).$metadata ??= {});
                    metadata.attempts = token.getRetryCount() + 1;
                    metadata.totalRetryDelay = totalRetryDelay;
                    throw error;
                }
                totalRetryDelay += (token as { $retryLog?: { acquisitionDelay?: number } }).$retryLog?.acquisitionDelay ?? 0;
                continue;
            }
            if (action === "ReceiveMessage") checkBodies(answer as SqsActions["ReceiveMessage"]["output"]);
            return answer as SqsActions[A]["output"];
        }
    }

    /** Closes the kept-alive connections. */
    destroy(): void {
        this.agent.destroy();
    }

    /** One signed request and its answer: the output, or the error it stands for. */
    private async attempt(action: SqsAction, body: string, signal: AbortSignal | undefined): Promise<unknown> {
        if (signal?.aborted) throw abortError(signal);
        const offsetBefore = this.clockOffsetMs;
        const request = {
            method: "POST",
            protocol: this.options.endpoint.protocol,
            hostname: this.hostname,
            ...(this.port === undefined ? {} : { port: this.port }),
            path: this.path,
            query: {},
            headers: {
                host: this.host,
                "content-type": JSON_1_0,
                "x-amz-target": `AmazonSQS.${action}`,
                // Asks SQS for the query-compatible error code beside each error, as the SDK does.
                "x-amzn-query-mode": "true",
                "content-length": String(Buffer.byteLength(body)),
                "user-agent": USER_AGENT,
            },
            body,
        };
        // Abortable: signing waits on the credentials, which may be being fetched from an endpoint.
        const signed = await abortable(this.signer.sign(request, { signingDate: new Date(Date.now() + this.clockOffsetMs) }), signal);
        const sentAt = Date.now();
        const answer = await this.exchange(signed.headers, body, signal);
        this.sampleClock(answer.headers, sentAt);
        if (answer.statusCode === 200) return answer.text.trim() === "" ? {} : JSON.parse(answer.text);
        const error = errorFromResponse(answer.statusCode, answer.headers, answer.text);
        const hint = getRetryAfterHint({ statusCode: answer.statusCode, headers: answer.headers as Record<string, string> });
        if (hint !== undefined) retryAfter.set(error, hint);
        // As the SDK's signer: a large correction of this client's clock makes the error worth a retry.
        if (Math.abs(this.clockOffsetMs) >= 240_000 && this.clockOffsetMs !== offsetBefore) error.$metadata.clockSkewCorrected = true;
        throw error;
    }

    /** The SDK's clock-skew rule (@aws-sdk/core's getUpdatedSystemClockOffset): the server's Date, unless cached or slow. */
    private sampleClock(headers: http.IncomingHttpHeaders, sentAt: number): void {
        const date = header(headers, "date");
        if (date === undefined || headers.age !== undefined) return;
        const serverTime = Date.parse(date);
        const now = Date.now();
        if (Number.isNaN(serverTime) || now - sentAt > 900_000) return;
        this.clockOffsetMs = serverTime - now;
    }

    private exchange(headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<Answer> {
        const { connectionTimeoutMs, requestTimeoutMs } = this.options;
        return new Promise<Answer>((resolve, reject) => {
            let connectTimer: NodeJS.Timeout | undefined;
            let settled = false;
            const settle = (error: Error | undefined, answer?: Answer) => {
                if (settled) return;
                settled = true;
                clearTimeout(requestTimer);
                clearTimeout(connectTimer);
                signal?.removeEventListener("abort", onAbort);
                if (error !== undefined) reject(error);
                else resolve(answer as Answer);
            };
            const request = this.transport.request({ method: "POST", host: this.hostname, port: this.port, path: this.path, headers, agent: this.agent });
            const onAbort = () => {
                request.destroy();
                settle(abortError(signal as AbortSignal));
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            const requestTimer = setTimeout(() => {
                const error = timeoutError(`no answer from SQS within ${requestTimeoutMs} ms (the request timeout)`, "ETIMEDOUT");
                request.destroy(error);
                settle(error);
            }, requestTimeoutMs);
            request.once("socket", (socket) => {
                // A kept-alive socket is connected already; a new one has this long to connect.
                if (!socket.connecting) return;
                connectTimer = setTimeout(() => {
                    request.destroy();
                    settle(timeoutError(`no connection to SQS at ${this.host} within ${connectionTimeoutMs} ms (the connection timeout)`));
                }, connectionTimeoutMs);
                socket.once("connect", () => clearTimeout(connectTimer));
            });
            request.on("error", (error) => settle(asTimeout(error)));
            request.on("response", (response) => {
                let text = "";
                response.setEncoding("utf8");
                response.on("data", (chunk: string) => (text += chunk));
                response.on("error", (error) => settle(asTimeout(error)));
                response.on("end", () => settle(undefined, { statusCode: response.statusCode ?? -1, headers: response.headers, text }));
            });
            request.end(body);
        });
    }
}

/** Retry-After hints of errors, kept off the error itself (the SDK hides its raw response too). */
const retryAfter = new WeakMap<SqsServiceError, Date>();

/** The SDK's check of received bodies against their MD5 (its receiveMessageMiddleware). */
function checkBodies(output: SqsActions["ReceiveMessage"]["output"]): void {
    const bad = (output.Messages ?? []).filter((message) => message.MD5OfBody !== md5Hex(message.Body ?? "")).map((message) => message.MessageId);
    if (bad.length > 0) throw new Error(`Invalid MD5 checksum on messages: ${bad.join(", ")}`);
}

/**
 * The worker's client: a pool large enough for every loop plus its deletes, a 5 s connection
 * timeout, and a request timeout of the long-poll wait plus 10 s (anything longer is a dead link).
 */
export function createSqsClient(options: WorkerOptions, env: Environment = process.env): SqsClient {
    const chain = credentialChain();
    return new SqsClient({
        region: options.region,
        endpoint: sqsEndpoint(options.queueUrl, options.region, env),
        credentials: chain.provider,
        credentialSource: chain.source,
        maxSockets: options.receiveLoops * 3 + 4,
        connectionTimeoutMs: 5_000,
        requestTimeoutMs: (options.waitTimeSeconds + 10) * 1_000,
    });
}
