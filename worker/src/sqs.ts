/**
 * The worker's SQS client: the AWS SDK's own `SQSClient` (@aws-sdk/client-sqs), set up only with
 * its documented options. As for any user of the SDK, the SDK decides: the credentials (its
 * default chain: the environment, a profile or SSO, web identity, the container endpoint ECS sets,
 * instance metadata), the endpoint (`AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`, `endpoint_url` in
 * the shared config, else the region's own, FIPS and dual-stack settings included), the retries
 * (`maxAttempts` and `retryMode`: `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`, `max_attempts`,
 * `retry_mode`), the MD5 check of received bodies, the clock-skew correction. The worker sets the
 * region, a pool of kept-alive connections, and timeouts that end a call with no answer
 * (docs/worker.md, "Talking to SQS, and credentials").
 */
import { ReceiveMessageCommand, SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { describeError } from "./errors";
import type { WorkerOptions } from "./options";

/** What the worker asks of SQS: the SDK client's `send` (tests may stand in for it). */
export type SqsSender = Pick<SQSClient, "send">;

/** Where the calls go and whose credentials they carry, for the `started` line (never a key). */
export interface SqsConnection {
    readonly sqsEndpoint: string;
    readonly credentials: string;
}

/**
 * Longest the SDK's default chain may take to hand over credentials. Its container provider tries
 * 4 times a second apart, each connection within 1 s, so 10 s is well past any answer coming.
 */
export const CREDENTIALS_DEADLINE_MS = 10_000;

/** The SDK's default credential chain gave no answer within the deadline. */
export class CredentialsTimeoutError extends Error {
    override readonly name = "CredentialsTimeoutError";
}

/**
 * The SDK's default credential chain (`defaultProvider`, what `SQSClient` uses when given none),
 * with a deadline: the chain's container provider sets a request timeout that only logs a warning
 * (no `throwOnRequestTimeout`), so an endpoint that takes the request and never answers holds the
 * chain's one fetch, and every SQS call waiting on it, for good. After the deadline the call fails
 * and the next call starts a new chain; the lost fetch is left to its socket.
 */
export function defaultChainWithDeadline(deadlineMs: number = CREDENTIALS_DEADLINE_MS): AwsCredentialIdentityProvider {
    let chain = defaultProvider();
    return (properties) => {
        const current = chain;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                if (chain === current) chain = defaultProvider();
                reject(new CredentialsTimeoutError(`no credentials from the AWS SDK's default chain within ${deadlineMs} ms`));
            }, deadlineMs);
            current(properties)
                .then(resolve, reject)
                .finally(() => clearTimeout(timer));
        });
    };
}

/** Test settings: shorter timeouts, and an endpoint and credentials given outright. */
export interface SqsClientOverrides {
    readonly requestTimeoutMs?: number;
    readonly credentialsDeadlineMs?: number;
    readonly endpoint?: string;
    readonly credentials?: AwsCredentialIdentity;
}

/**
 * The worker's `SQSClient`: a pool large enough for every loop plus its deletes, a 5 s connection
 * timeout, and a request timeout of the long-poll wait plus 10 s that fails the call (the SDK's
 * default only warns and waits on: a dead link would hold a receive loop for good); the SDK then
 * retries it. `useQueueUrlAsEndpoint: false`: calls go where the SDK's own endpoint resolution
 * says, not to the queue URL's host (which would bypass `AWS_ENDPOINT_URL_SQS` and FIPS endpoints).
 */
export function createSqsClient(options: Pick<WorkerOptions, "region" | "receiveLoops" | "waitTimeSeconds">, overrides: SqsClientOverrides = {}): SQSClient {
    const agent = { keepAlive: true, maxSockets: options.receiveLoops * 3 + 4 };
    const config: SQSClientConfig = {
        region: options.region,
        useQueueUrlAsEndpoint: false,
        credentials: overrides.credentials ?? defaultChainWithDeadline(overrides.credentialsDeadlineMs),
        requestHandler: {
            httpAgent: agent,
            httpsAgent: agent,
            connectionTimeout: 5_000,
            requestTimeout: overrides.requestTimeoutMs ?? (options.waitTimeSeconds + 10) * 1_000,
            throwOnRequestTimeout: true,
        },
        ...(overrides.endpoint === undefined ? {} : { endpoint: overrides.endpoint }),
    };
    return new SQSClient(config);
}

/** The SDK's names of credential sources (`$source` of what its providers return), as the `started` line gives them. */
const SOURCE_NAMES: Readonly<Record<string, string>> = {
    CREDENTIALS_ENV_VARS: "environment",
    CREDENTIALS_HTTP: "container",
    CREDENTIALS_IMDS: "instance-metadata",
    CREDENTIALS_CODE: "given",
};

/** The source of credentials as the SDK attributes them: `environment`, `container`, `profile+sts-assume-role`... */
export function credentialSourceOf(identity: AwsCredentialIdentity): string {
    const features = Object.keys((identity as { $source?: Record<string, string> }).$source ?? {}).filter((feature) => feature.startsWith("CREDENTIALS_"));
    if (features.length === 0) return "unattributed";
    return features.map((feature) => SOURCE_NAMES[feature] ?? feature.slice("CREDENTIALS_".length).toLowerCase().replaceAll("_", "-")).join("+");
}

/**
 * Where `client` sends the worker's calls (the SDK's own endpoint resolution, as for a receive on
 * `queueUrl`) and where its credentials come from (fetched now: the first receive needs them anyway).
 * Neither failing stops the start: each call then fails, and says why, until it is mended.
 */
export async function describeConnection(client: SQSClient, queueUrl: string): Promise<SqsConnection> {
    let sqsEndpoint: string;
    try {
        // A copy, as the SDK's endpoint middleware passes it: resolving stores the configured endpoint on the config.
        const { url } = await getEndpointFromInstructions({ QueueUrl: queueUrl }, ReceiveMessageCommand, { ...client.config });
        sqsEndpoint = url.pathname === "/" ? url.origin : url.href;
    } catch (error) {
        sqsEndpoint = `unresolved (${firstLine(error)})`;
    }
    let credentials: string;
    try {
        credentials = credentialSourceOf(await client.config.credentials());
    } catch (error) {
        credentials = `none yet (${firstLine(error)})`;
    }
    return { sqsEndpoint, credentials };
}

function firstLine(error: unknown): string {
    return describeError(error).split("\n")[0].slice(0, 300);
}
