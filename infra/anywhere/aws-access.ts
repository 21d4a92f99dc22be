/**
 * The stack's AWS settings (config namespace `aws`, as the aws provider reads them), for AWS calls
 * the program makes itself through the AWS SDK for JavaScript: the hosts' deregistration at destroy
 * (./deregister.ts). Read once at `pulumi up` (bad values stop the run there, not at destroy),
 * recorded with each host's registration, and turned into SDK credentials when a host is deleted.
 *
 * Honoured: `aws:profile`, `aws:sharedConfigFiles` / `aws:sharedCredentialsFiles` (one file each:
 * the SDK reads one), `aws:accessKey` / `aws:secretKey` / `aws:token` (recorded as a secret),
 * `aws:assumeRoleWithWebIdentity`, `aws:assumeRoles` (in order, each assumed with the credentials
 * of the one before), `aws:stsRegion`, and the `ecs`, `ssm` and `sts` entries of `aws:endpoints`.
 * Precedence (our reading of the aws provider's): a web identity, else static keys, else the
 * profile, else the SDK's default chain (environment, `AWS_PROFILE`, shared files, SSO, container
 * and instance roles); then the roles of `aws:assumeRoles`. Not honoured (the SDK's defaults
 * apply): `httpProxy`/`httpsProxy` (the SDK for JavaScript reads no proxy variables either),
 * `customCaBundle`, `insecure`, retries, FIPS and dual-stack endpoints, `skipCredentialsValidation`
 * and `skipRequestingAccountId` (the deregistration always asks STS); `allowedAccountIds` and
 * `forbiddenAccountIds` are left to the aws provider (the deregistration checks the one account
 * that registered the host instead).
 *
 * What it reads them into (`AwsAccess`), and turning that into credentials, is ./aws-credentials.ts,
 * apart because it runs inside the serialized dynamic provider: this file reads settings into it,
 * that one never imports this.
 */
import { ConfigError, parseValue, pulumiConfigReader, REGION_PATTERN, type ConfigReader } from "../config";
import { withoutUndefined, type AwsAccess, type AwsAssumeRole, type AwsWebIdentity } from "./aws-credentials";

export const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** Session names STS accepts. */
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration as the aws provider takes it (`1h`, `15m`, `1h30m`, `900s`), in whole seconds, 15 minutes to 12 hours. */
export function durationSeconds(key: string, value: unknown): number {
    const fix = "give a duration from 15m to 12h, e.g. `1h` or `90m`";
    if (typeof value !== "string" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) throw new ConfigError(key, value, fix);
    let seconds = 0;
    for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(amount) * GO_DURATION_UNITS[unit];
    const whole = Math.floor(seconds + 1e-9);
    if (whole < 900 || whole > 43_200) throw new ConfigError(key, value, fix);
    return whole;
}

function optionalString(key: string, value: unknown): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw new ConfigError(key, value, "set it to a string");
    return value;
}

function stringList(key: string, value: unknown): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) throw new ConfigError(key, value, "set it to a list of strings");
    return value.length === 0 ? undefined : (value as string[]);
}

function roleArn(key: string, value: unknown): string {
    if (typeof value !== "string" || !ROLE_ARN_PATTERN.test(value)) throw new ConfigError(key, value, "give the ARN of an IAM role, `arn:aws:iam::<account>:role/<name>`");
    return value;
}

function sessionName(key: string, value: unknown): string | undefined {
    const name = optionalString(key, value);
    if (name !== undefined && !SESSION_NAME_PATTERN.test(name)) throw new ConfigError(key, value, "use 2 to 64 letters, digits and =,.@_- characters");
    return name;
}

function objectValue(key: string, value: unknown): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(key, value, "set it to an object (`pulumi config set --path`)");
    return value as Record<string, unknown>;
}

/** The fields `aws:assumeRoles` entries and `aws:assumeRoleWithWebIdentity` share. */
function readRoleFields(key: string, role: Record<string, unknown>) {
    return {
        roleArn: roleArn(`${key}.roleArn`, role.roleArn),
        sessionName: sessionName(`${key}.sessionName`, role.sessionName),
        durationSeconds: role.duration === undefined || role.duration === "" ? undefined : durationSeconds(`${key}.duration`, role.duration),
        policy: optionalString(`${key}.policy`, role.policy),
        policyArns: stringList(`${key}.policyArns`, role.policyArns),
    };
}

function readAssumeRole(key: string, raw: unknown): AwsAssumeRole {
    const role = objectValue(key, raw);
    const tags = role.tags === undefined ? undefined : objectValue(`${key}.tags`, role.tags);
    if (tags && Object.values(tags).some((v) => typeof v !== "string")) throw new ConfigError(`${key}.tags`, tags, "give tag values as strings");
    return withoutUndefined({
        ...readRoleFields(key, role),
        externalId: optionalString(`${key}.externalId`, role.externalId),
        sourceIdentity: optionalString(`${key}.sourceIdentity`, role.sourceIdentity),
        tags: tags && Object.keys(tags).length > 0 ? (tags as Record<string, string>) : undefined,
        transitiveTagKeys: stringList(`${key}.transitiveTagKeys`, role.transitiveTagKeys),
    });
}

function readWebIdentity(key: string, raw: unknown): AwsWebIdentity {
    const web = objectValue(key, raw);
    const identity = withoutUndefined({
        ...readRoleFields(key, web),
        webIdentityToken: optionalString(`${key}.webIdentityToken`, web.webIdentityToken),
        webIdentityTokenFile: optionalString(`${key}.webIdentityTokenFile`, web.webIdentityTokenFile),
    });
    if ((identity.webIdentityToken === undefined) === (identity.webIdentityTokenFile === undefined)) {
        throw new ConfigError(key, { roleArn: identity.roleArn }, "give exactly one of `webIdentityToken` (as a secret) and `webIdentityTokenFile`");
    }
    return identity;
}

/** The one file of a shared-files list: the AWS SDK for JavaScript reads one credentials and one config file. */
function oneFile(key: string, value: unknown): string[] | undefined {
    const files = stringList(key, value);
    if (files && files.length > 1) {
        throw new ConfigError(key, files, "the hosts' deregistration at destroy uses the AWS SDK for JavaScript, which reads one such file: list one (merge the others into it)");
    }
    return files;
}

/**
 * The stack's AWS settings from config namespace `aws` (secrets come decrypted: never print the
 * result). Bad values are a `ConfigError` naming the key. Nothing set gives `{}`.
 */
export function readAwsAccess(read: ConfigReader = pulumiConfigReader): AwsAccess {
    const raw = (name: string) => read(`aws:${name}`);
    const parsed = (name: string) => parseValue(raw(name));
    const accessKey = optionalString("aws:accessKey", raw("accessKey"));
    const secretKey = optionalString("aws:secretKey", raw("secretKey"));
    if ((accessKey === undefined) !== (secretKey === undefined)) {
        throw new ConfigError(accessKey === undefined ? "aws:accessKey" : "aws:secretKey", undefined, "set both `aws:accessKey` and `aws:secretKey` (as a secret), or neither");
    }
    const roles = parsed("assumeRoles");
    if (roles !== undefined && !Array.isArray(roles)) throw new ConfigError("aws:assumeRoles", roles, "set it to a list of `{roleArn, sessionName?, externalId?, duration?...}`");
    const assumeRoles = (roles as unknown[] | undefined)?.map((role, i) => readAssumeRole(`aws:assumeRoles[${i}]`, role));
    const web = parsed("assumeRoleWithWebIdentity");
    const stsRegion = optionalString("aws:stsRegion", raw("stsRegion"));
    if (stsRegion !== undefined && !REGION_PATTERN.test(stsRegion)) throw new ConfigError("aws:stsRegion", stsRegion, "give an AWS region such as `us-east-1`");
    const endpointList = parsed("endpoints");
    if (endpointList !== undefined && !Array.isArray(endpointList)) throw new ConfigError("aws:endpoints", endpointList, "set it to a list of `{<service>: <url>}`");
    const endpoints: { ecs?: string; ssm?: string; sts?: string } = {};
    for (const [i, entry] of ((endpointList as unknown[] | undefined) ?? []).entries()) {
        const services = objectValue(`aws:endpoints[${i}]`, entry);
        for (const service of ["ecs", "ssm", "sts"] as const) {
            const url = optionalString(`aws:endpoints[${i}].${service}`, services[service]);
            if (url !== undefined) endpoints[service] = url;
        }
    }
    return withoutUndefined({
        profile: optionalString("aws:profile", raw("profile")),
        sharedConfigFiles: oneFile("aws:sharedConfigFiles", parsed("sharedConfigFiles")),
        sharedCredentialsFiles: oneFile("aws:sharedCredentialsFiles", parsed("sharedCredentialsFiles")),
        accessKey,
        secretKey,
        token: optionalString("aws:token", raw("token")),
        assumeRoleWithWebIdentity: web === undefined || web === null ? undefined : readWebIdentity("aws:assumeRoleWithWebIdentity", web),
        assumeRoles: assumeRoles && assumeRoles.length > 0 ? assumeRoles : undefined,
        stsRegion,
        endpoints: Object.keys(endpoints).length > 0 ? endpoints : undefined,
    });
}

/** Whether `access` holds a secret (static keys, a web identity token): then it is recorded as a secret. */
export function holdsSecrets(access: AwsAccess | undefined): boolean {
    return access?.accessKey !== undefined || access?.secretKey !== undefined || access?.token !== undefined || access?.assumeRoleWithWebIdentity?.webIdentityToken !== undefined;
}
