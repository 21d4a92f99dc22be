/**
 * The stack's AWS settings as recorded with each registration (`AwsAccess`, read from the config by
 * ./aws-access.ts), and the credentials of the hosts' deregistration at destroy made from them.
 *
 * This runs inside the dynamic provider, which Pulumi serializes into the state as code: a module
 * a provider function uses is captured whole, so this one imports nothing at run time (only types)
 * and `require`s the SDK inside its functions.
 */

/** One entry of `aws:assumeRoles` (the aws provider's fields; `duration` turned into seconds). */
export interface AwsAssumeRole {
    readonly roleArn: string;
    readonly sessionName?: string;
    readonly externalId?: string;
    readonly durationSeconds?: number;
    readonly policy?: string;
    readonly policyArns?: readonly string[];
    readonly sourceIdentity?: string;
    readonly tags?: Readonly<Record<string, string>>;
    readonly transitiveTagKeys?: readonly string[];
}

/** `aws:assumeRoleWithWebIdentity` (token given, or read from its file when the host is deleted). */
export interface AwsWebIdentity {
    readonly roleArn: string;
    readonly sessionName?: string;
    readonly webIdentityToken?: string;
    readonly webIdentityTokenFile?: string;
    readonly durationSeconds?: number;
    readonly policy?: string;
    readonly policyArns?: readonly string[];
}

/** The stack's AWS access settings, as far as the AWS SDK can honour them. All optional: none set is the SDK's default chain. */
export interface AwsAccess {
    readonly profile?: string;
    readonly sharedConfigFiles?: readonly string[];
    readonly sharedCredentialsFiles?: readonly string[];
    /** Static keys (`aws:accessKey`, `aws:secretKey`, `aws:token`): secret; HostRegistration records them as one. */
    readonly accessKey?: string;
    readonly secretKey?: string;
    readonly token?: string;
    readonly assumeRoleWithWebIdentity?: AwsWebIdentity;
    readonly assumeRoles?: readonly AwsAssumeRole[];
    /** Region of the STS calls (assume role, caller identity). Default: the host's region. */
    readonly stsRegion?: string;
    /** Custom endpoints from `aws:endpoints` (LocalStack and the like). */
    readonly endpoints?: { readonly ecs?: string; readonly ssm?: string; readonly sts?: string };
}

/** Session name when the config gives none: shows in CloudTrail who deregistered the host. */
export const DEFAULT_SESSION_NAME = "ecs-anywhere-deregistration";

/** Where the first credentials come from. */
export type BaseCredentials =
    | { readonly kind: "default-chain"; readonly filepath?: string; readonly configFilepath?: string }
    | { readonly kind: "profile"; readonly profile: string; readonly filepath?: string; readonly configFilepath?: string }
    | { readonly kind: "static"; readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
    | {
          readonly kind: "web-identity";
          readonly roleArn: string;
          readonly roleSessionName: string;
          readonly webIdentityToken?: string;
          readonly webIdentityTokenFile?: string;
          readonly durationSeconds?: number;
          readonly policy?: string;
          readonly policyArns?: { arn: string }[];
      };

/** STS AssumeRole's input, as the SDK takes it. */
export interface AssumeRoleParams {
    readonly RoleArn: string;
    readonly RoleSessionName: string;
    readonly ExternalId?: string;
    readonly DurationSeconds?: number;
    readonly Policy?: string;
    readonly PolicyArns?: { arn: string }[];
    readonly SourceIdentity?: string;
    readonly Tags?: { Key: string; Value: string }[];
    readonly TransitiveTagKeys?: string[];
}

/** How the deregistration's credentials are made: the base, then each role in turn. Pure. */
export interface CredentialPlan {
    readonly base: BaseCredentials;
    readonly roles: readonly AssumeRoleParams[];
}

/** `value` without its undefined fields, so what is recorded (and compared) has only what is set. */
export function withoutUndefined<T extends object>(value: T): T {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `~/x` as the aws provider expands it. */
export function expandHome(file: string | undefined, home: string): string | undefined {
    if (file === undefined) return undefined;
    return file === "~" ? home : file.startsWith("~/") ? `${home}${file.slice(1)}` : file;
}

/** The credential plan for `access` (none recorded: the SDK's default chain). */
export function credentialPlan(access: AwsAccess | undefined, home: string): CredentialPlan {
    const files = {
        filepath: expandHome(access?.sharedCredentialsFiles?.[0], home),
        configFilepath: expandHome(access?.sharedConfigFiles?.[0], home),
    };
    const arns = (list: readonly string[] | undefined) => (list === undefined ? undefined : list.map((arn) => ({ arn })));
    const web = access?.assumeRoleWithWebIdentity;
    let base: BaseCredentials;
    if (web !== undefined) {
        base = withoutUndefined({
            kind: "web-identity" as const,
            roleArn: web.roleArn,
            roleSessionName: web.sessionName ?? DEFAULT_SESSION_NAME,
            webIdentityToken: web.webIdentityToken,
            webIdentityTokenFile: expandHome(web.webIdentityTokenFile, home),
            durationSeconds: web.durationSeconds,
            policy: web.policy,
            policyArns: arns(web.policyArns),
        });
    } else if (access?.accessKey !== undefined && access.secretKey !== undefined) {
        base = withoutUndefined({ kind: "static" as const, accessKeyId: access.accessKey, secretAccessKey: access.secretKey, sessionToken: access.token });
    } else if (access?.profile !== undefined) {
        base = withoutUndefined({ kind: "profile" as const, profile: access.profile, ...files });
    } else {
        base = withoutUndefined({ kind: "default-chain" as const, ...files });
    }
    const roles = (access?.assumeRoles ?? []).map((role) =>
        withoutUndefined({
            RoleArn: role.roleArn,
            RoleSessionName: role.sessionName ?? DEFAULT_SESSION_NAME,
            ExternalId: role.externalId,
            DurationSeconds: role.durationSeconds,
            Policy: role.policy,
            PolicyArns: arns(role.policyArns),
            SourceIdentity: role.sourceIdentity,
            Tags: role.tags === undefined ? undefined : Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })),
            TransitiveTagKeys: role.transitiveTagKeys === undefined ? undefined : [...role.transitiveTagKeys],
        }),
    );
    return { base, roles };
}

/** A few words on where the credentials come from, for error messages (never a key). */
export function describeCredentials(access: AwsAccess | undefined): string {
    const plan = credentialPlan(access, "~");
    const base =
        plan.base.kind === "default-chain"
            ? "the AWS SDK's default credentials (no `aws:profile`, keys or roles recorded for the stack)"
            : plan.base.kind === "profile"
              ? `profile \`${plan.base.profile}\``
              : plan.base.kind === "static"
                ? "the keys of `aws:accessKey`/`aws:secretKey`"
                : `web identity role ${plan.base.roleArn}`;
    return [base, ...plan.roles.map((role) => `role ${role.RoleArn}`)].join(", then ");
}

/** An SDK credential provider: resolves to keys. */
export type CredentialProvider = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>;

/** The SDK's credential providers used, injectable for tests. */
export interface CredentialFactories {
    fromNodeProviderChain(init: { filepath?: string; configFilepath?: string; clientConfig?: object }): CredentialProvider;
    fromIni(init: { profile: string; filepath?: string; configFilepath?: string; clientConfig?: object }): CredentialProvider;
    fromWebToken(init: Record<string, unknown>): CredentialProvider;
    fromTemporaryCredentials(init: { params: AssumeRoleParams; masterCredentials: CredentialProvider; clientConfig?: object }): CredentialProvider;
    readFile(file: string): string;
}

/** The real factories, from `@aws-sdk/credential-providers`. */
export function sdkCredentialFactories(): CredentialFactories {
    // Required here, not at the top: this runs inside the serialized dynamic provider.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const providers = require("@aws-sdk/credential-providers") as typeof import("@aws-sdk/credential-providers");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    return {
        fromNodeProviderChain: (init) => providers.fromNodeProviderChain(init),
        fromIni: (init) => providers.fromIni(init),
        fromWebToken: (init) => providers.fromWebToken(init as unknown as Parameters<typeof providers.fromWebToken>[0]),
        fromTemporaryCredentials: (init) => providers.fromTemporaryCredentials(init as unknown as Parameters<typeof providers.fromTemporaryCredentials>[0]),
        readFile: (file) => fs.readFileSync(file, "utf8").trim(),
    };
}

/**
 * The credentials `plan` describes: its base, then each role assumed with the credentials before
 * it. STS calls (role assumption) go to `sts.region`, at `sts.endpoint` if given.
 */
export function credentialsFromPlan(plan: CredentialPlan, sts: { region: string; endpoint?: string }, factories: CredentialFactories): CredentialProvider {
    const clientConfig = sts.endpoint === undefined ? { region: sts.region } : { region: sts.region, endpoint: sts.endpoint };
    const base = plan.base;
    let credentials: CredentialProvider;
    switch (base.kind) {
        case "static": {
            const keys = { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey, ...(base.sessionToken === undefined ? {} : { sessionToken: base.sessionToken }) };
            credentials = async () => keys;
            break;
        }
        case "profile":
            credentials = factories.fromIni({ profile: base.profile, filepath: base.filepath, configFilepath: base.configFilepath, clientConfig });
            break;
        case "web-identity": {
            const { kind: _kind, webIdentityTokenFile, ...init } = base;
            // The token file is read when the credentials are first needed (such tokens rotate).
            credentials = async () => {
                const token = webIdentityTokenFile === undefined ? init.webIdentityToken : factories.readFile(webIdentityTokenFile);
                return factories.fromWebToken({ ...init, webIdentityToken: token, clientConfig })();
            };
            break;
        }
        default:
            credentials = factories.fromNodeProviderChain({ filepath: base.filepath, configFilepath: base.configFilepath, clientConfig });
    }
    for (const params of plan.roles) {
        credentials = factories.fromTemporaryCredentials({ params, masterCredentials: credentials, clientConfig });
    }
    return memoizeCredentials(credentials);
}

/**
 * One resolution for the three clients (ECS, SSM, STS each ask; unshared, every ask would assume
 * the roles again), renewed 5 minutes before the credentials expire; a failure is not kept.
 */
export function memoizeCredentials(provider: CredentialProvider): CredentialProvider {
    let cached: ReturnType<CredentialProvider> | undefined;
    return async () => {
        if (cached !== undefined) {
            const credentials = await cached.catch(() => undefined);
            if (credentials !== undefined && (credentials.expiration === undefined || credentials.expiration.getTime() - Date.now() > 300_000)) return credentials;
        }
        const pending = provider();
        cached = pending;
        pending.catch(() => {
            if (cached === pending) cached = undefined;
        });
        return pending;
    };
}
