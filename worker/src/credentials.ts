/**
 * Where the worker's AWS credentials come from, in this order, each by the AWS SDK's own provider
 * and each loaded only when it is the one used:
 * 1. `environment`: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
 *    @aws-sdk/credential-provider-env;
 * 2. `container`: the ECS container credentials endpoint, the task role on Fargate and on ECS
 *    Anywhere hosts (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE), @aws-sdk/credential-provider-http;
 * 3. `default-chain`: anything else (a profile, SSO, web identity, instance metadata on a
 *    developer's machine), @aws-sdk/credential-provider-node's default chain, so a container never
 *    loads it.
 * Credentials that expire are fetched again 5 minutes before they do, as the SDK's clients do.
 * A fetch from the container endpoint that gets no answer fails after
 * CONTAINER_CREDENTIALS_TIMEOUT_MS: the provider's own request timeout only logs a warning, and a
 * fetch left waiting would hold every call of the worker, for good (the memoized provider shares it).
 */
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from "@smithy/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { WorkerConfigError, type Environment } from "./options";

export type CredentialSource = "environment" | "container" | "default-chain";

export interface CredentialChain {
    readonly source: CredentialSource;
    readonly provider: AwsCredentialIdentityProvider;
}

/**
 * Longest a fetch from the container credentials endpoint may take. Its provider connects within
 * 1 s and tries 4 times a second apart, so 10 s is well past any answer that is coming.
 */
export const CONTAINER_CREDENTIALS_TIMEOUT_MS = 10_000;

/**
 * `provider`, failing with a CredentialsProviderError when it has not answered within `ms`. Wrapped
 * inside the memoization, so that the next call fetches afresh instead of waiting on the lost one.
 */
export function withTimeout(provider: AwsCredentialIdentityProvider, ms: number, what: string): AwsCredentialIdentityProvider {
    return (properties) =>
        new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(Object.assign(new Error(`no answer from ${what} within ${ms} ms`), { name: "CredentialsProviderError" })), ms);
            provider(properties).then(resolve, reject).finally(() => clearTimeout(timer));
        });
}

/** Which chain the environment selects (the variables are read, never logged). */
export function credentialSource(env: Environment = process.env): CredentialSource {
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return "environment";
    if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return "container";
    return "default-chain";
}

/** The provider of the chain the process environment selects; the SDK's providers read the same variables. */
export function credentialChain(containerTimeoutMs: number = CONTAINER_CREDENTIALS_TIMEOUT_MS): CredentialChain {
    const source = credentialSource(process.env);
    /* eslint-disable @typescript-eslint/no-require-imports -- each provider is loaded only on its own path */
    switch (source) {
        case "environment": {
            const { fromEnv } = require("@aws-sdk/credential-provider-env") as typeof import("@aws-sdk/credential-provider-env");
            return { source, provider: memoizeIdentityProvider(fromEnv(), isIdentityExpired, doesIdentityRequireRefresh) as AwsCredentialIdentityProvider };
        }
        case "container": {
            const { fromHttp } = require("@aws-sdk/credential-provider-http") as typeof import("@aws-sdk/credential-provider-http");
            let fetch: AwsCredentialIdentityProvider;
            try {
                fetch = fromHttp();
            } catch (error) {
                // The provider checks the endpoint's URL as it is made: a bad one is a setting to fix, not a crash.
                const variable = process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
                const value = process.env[variable] ?? "";
                throw new WorkerConfigError(
                    variable,
                    `${JSON.stringify(value)} is refused by the AWS SDK's container credentials provider (${((error as Error).message.split("\n")[0] ?? "").replace(/:$/, "")}). ECS sets this itself; set by hand, use https, or http to a loopback address or the container credentials address 169.254.170.2`,
                );
            }
            return { source, provider: memoizeIdentityProvider(withTimeout(fetch, containerTimeoutMs, "the container credentials endpoint"), isIdentityExpired, doesIdentityRequireRefresh) as AwsCredentialIdentityProvider };
        }
        case "default-chain": {
            // Memoized by the SDK itself, refreshed 5 minutes before expiry.
            const { defaultProvider } = require("@aws-sdk/credential-provider-node") as typeof import("@aws-sdk/credential-provider-node");
            return { source, provider: defaultProvider() };
        }
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
}
