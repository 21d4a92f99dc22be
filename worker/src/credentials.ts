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
 */
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from "@smithy/core";
import type { AwsCredentialIdentityProvider } from "@smithy/types";

export type CredentialSource = "environment" | "container" | "default-chain";

export interface CredentialChain {
    readonly source: CredentialSource;
    readonly provider: AwsCredentialIdentityProvider;
}

/** Which chain the environment selects (the variables are read, never logged). */
export function credentialSource(env: Readonly<Record<string, string | undefined>> = process.env): CredentialSource {
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return "environment";
    if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return "container";
    return "default-chain";
}

/** The provider of the chain the process environment selects; the SDK's providers read the same variables. */
export function credentialChain(): CredentialChain {
    const source = credentialSource(process.env);
    /* eslint-disable @typescript-eslint/no-require-imports -- each provider is loaded only on its own path */
    switch (source) {
        case "environment": {
            const { fromEnv } = require("@aws-sdk/credential-provider-env") as typeof import("@aws-sdk/credential-provider-env");
            return { source, provider: memoizeIdentityProvider(fromEnv(), isIdentityExpired, doesIdentityRequireRefresh) as AwsCredentialIdentityProvider };
        }
        case "container": {
            const { fromHttp } = require("@aws-sdk/credential-provider-http") as typeof import("@aws-sdk/credential-provider-http");
            return { source, provider: memoizeIdentityProvider(fromHttp(), isIdentityExpired, doesIdentityRequireRefresh) as AwsCredentialIdentityProvider };
        }
        case "default-chain": {
            // Memoized by the SDK itself, refreshed 5 minutes before expiry.
            const { defaultProvider } = require("@aws-sdk/credential-provider-node") as typeof import("@aws-sdk/credential-provider-node");
            return { source, provider: defaultProvider() };
        }
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
}
