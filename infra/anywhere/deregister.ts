/**
 * AWS-side deregistration of one host, run by `pulumi destroy` from where Pulumi runs (not on the
 * host, so an unreachable host cannot block it): the container instance leaves the ECS cluster,
 * then the managed instance leaves SSM, in the order the ECS docs give.
 *
 * With the stack's AWS settings (./aws-access.ts), recorded with the registration at `pulumi up`,
 * and only in the account that registered the host: its container instance ARN names that account
 * and region. The caller's account (STS GetCallerIdentity) is checked first; in another account
 * nothing is deregistered and nothing is taken as already gone (there, "not found" would be true
 * of every host). After the check, already gone is fine.
 */
import * as pulumi from "@pulumi/pulumi";
import { holdsSecrets } from "./aws-access";
import { credentialPlan, credentialsFromPlan, describeCredentials, sdkCredentialFactories, type AwsAccess, type CredentialFactories } from "./aws-credentials";

/** What to deregister. */
export interface HostRegistrationTarget {
    readonly region: string;
    readonly cluster: string;
    readonly containerInstanceArn: string;
    readonly managedInstanceId: string;
}

/** A registration as recorded in the state: `aws` is missing in stacks made before it was recorded. */
export interface HostRegistrationProps extends HostRegistrationTarget {
    readonly aws?: AwsAccess;
}

/** The three SDK calls, injectable for tests. Each resolves, or throws the SDK's error. */
export interface DeregistrationApi {
    /** The account of the credentials in use (STS GetCallerIdentity). */
    callerAccount(): Promise<string>;
    deregisterContainerInstance(cluster: string, containerInstanceArn: string): Promise<void>;
    deregisterManagedInstance(managedInstanceId: string): Promise<void>;
}

export type StepResult = "deregistered" | "already-gone";

/** Errors meaning "not registered (any more)": success for a deregistration, once the account is checked. */
export function isAlreadyGone(error: unknown): boolean {
    if (!(error instanceof Error)) return false;
    if (["ClusterNotFoundException", "InvalidInstanceId"].includes(error.name)) return true;
    return ["ClientException", "InvalidParameterException"].includes(error.name) && /not found|not active|inactive|does not exist/i.test(error.message);
}

/** Where a host was registered, from its container instance ARN (`arn:<partition>:ecs:<region>:<account>:container-instance/...`). */
export interface RegistrationScope {
    readonly partition: string;
    readonly region: string;
    readonly account: string;
}

export function registrationScope(containerInstanceArn: string): RegistrationScope {
    const match = /^arn:(aws[a-z-]*):ecs:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):container-instance\/\S+$/.exec(containerInstanceArn);
    if (!match) {
        throw new Error(
            `cannot deregister the host with container instance ARN ${JSON.stringify(containerInstanceArn)}: it does not name the account and region that registered it ` +
                "(arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<id>), so nothing was deregistered. Deregister it by hand " +
                "(aws ecs deregister-container-instance --force, then aws ssm deregister-managed-instance), then drop it from the state: `pulumi state delete <URN>` (`pulumi stack --show-urns` lists it).",
        );
    }
    return { partition: match[1], region: match[2], account: match[3] };
}

/** The refusal when the credentials are of another account than the host's. */
export function wrongAccountMessage(target: HostRegistrationTarget, scope: RegistrationScope, callerAccount: string, access: AwsAccess | undefined): string {
    const record = `set \`aws:profile\` (or \`aws:assumeRoles\` with a role in ${scope.account}), record it with \`pulumi up --target '<URN>'\` (an update: the host stays registered), then run \`pulumi destroy\` again`;
    const recordsNothing = access === undefined || describeCredentials(access) === describeCredentials(undefined);
    const fix = recordsNothing ? `run the destroy with credentials of account ${scope.account} (e.g. \`AWS_PROFILE=<a profile of ${scope.account}> pulumi destroy\`), or ${record}` : record;
    return (
        `refusing to deregister host ${target.containerInstanceArn} (managed instance ${target.managedInstanceId}): it was registered in AWS account ${scope.account} ` +
        `(${scope.region}), but the credentials used for its deregistration, ${describeCredentials(access)}, are of account ${callerAccount}. ` +
        `Nothing was deregistered, and "not found" in account ${callerAccount} would not mean the host is gone. Fix: ${fix}. ` +
        `If the host was already deregistered in account ${scope.account} by other means, drop it from the state instead: \`pulumi state delete '<URN>'\` (\`pulumi stack --show-urns\` lists the URN).`
    );
}

/**
 * Deregisters the host: checks the caller's account against the one in its container instance
 * ARN, then ECS, then SSM. `api` must work in the ARN's region.
 */
export async function deregisterHost(api: DeregistrationApi, target: HostRegistrationTarget, access?: AwsAccess): Promise<{ ecs: StepResult; ssm: StepResult }> {
    const scope = registrationScope(target.containerInstanceArn);
    let account: string;
    try {
        account = await api.callerAccount();
    } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        // The cause set after construction: the program's TypeScript lib may predate Error's options.
        throw Object.assign(new Error(
            `cannot deregister host ${target.containerInstanceArn}: could not learn the account of its deregistration's credentials (${describeCredentials(access)}; STS GetCallerIdentity): ${reason}. Nothing was deregistered.`,
        ), { cause: error });
    }
    if (account !== scope.account) throw new Error(wrongAccountMessage(target, scope, account, access));
    const step = async (call: () => Promise<void>): Promise<StepResult> => {
        try {
            await call();
            return "deregistered";
        } catch (error) {
            if (isAlreadyGone(error)) return "already-gone";
            throw error;
        }
    };
    const ecs = await step(() => api.deregisterContainerInstance(target.cluster, target.containerInstanceArn));
    const ssm = await step(() => api.deregisterManagedInstance(target.managedInstanceId));
    return { ecs, ssm };
}

/** The SDK clients' settings for a deregistration in `region` with `access`; pure but for the credential factories. */
export function deregistrationClientSettings(region: string, access: AwsAccess | undefined, factories: CredentialFactories, home: string) {
    const stsRegion = access?.stsRegion ?? region;
    const credentials = credentialsFromPlan(credentialPlan(access, home), { region: stsRegion, endpoint: access?.endpoints?.sts }, factories);
    const endpoint = (url: string | undefined) => (url === undefined ? {} : { endpoint: url });
    return {
        ecs: { region, credentials, ...endpoint(access?.endpoints?.ecs) },
        ssm: { region, credentials, ...endpoint(access?.endpoints?.ssm) },
        sts: { region: stsRegion, credentials, ...endpoint(access?.endpoints?.sts) },
    };
}

/** The real API, on the AWS SDK, in `region`, with the credentials `access` describes (none: the SDK's default chain). */
export function sdkDeregistrationApi(region: string, access: AwsAccess | undefined): DeregistrationApi {
    // Required here, not at the top: this runs inside the serialized dynamic provider.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ecs = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ssm = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sts = require("@aws-sdk/client-sts") as typeof import("@aws-sdk/client-sts");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const os = require("node:os") as typeof import("node:os");
    const settings = deregistrationClientSettings(region, access, sdkCredentialFactories(), os.homedir());
    const ecsClient = new ecs.ECSClient(settings.ecs);
    const ssmClient = new ssm.SSMClient(settings.ssm);
    const stsClient = new sts.STSClient(settings.sts);
    return {
        async callerAccount() {
            const identity = await stsClient.send(new sts.GetCallerIdentityCommand({}));
            if (!identity.Account) throw new Error("STS GetCallerIdentity answered without an account");
            return identity.Account;
        },
        async deregisterContainerInstance(cluster, containerInstance) {
            // force: the service is already gone; anything left on the instance is orphaned.
            await ecsClient.send(new ecs.DeregisterContainerInstanceCommand({ cluster, containerInstance, force: true }));
        },
        async deregisterManagedInstance(instanceId) {
            await ssmClient.send(new ssm.DeregisterManagedInstanceCommand({ InstanceId: instanceId }));
        },
    };
}

/**
 * The delete of a registration: in the region its container instance ARN names (where ECS has
 * it, and SSM too: the installer registers both with one `--region`), which is the recorded
 * region unless the host was registered elsewhere by hand.
 */
export async function deleteRegistration(props: HostRegistrationProps, makeApi: (region: string, access: AwsAccess | undefined) => DeregistrationApi = sdkDeregistrationApi) {
    const scope = registrationScope(props.containerInstanceArn);
    return deregisterHost(makeApi(scope.region, props.aws), props, props.aws);
}

/** The properties whose change is another registration: replaced (the old one deregistered first). */
export const IDENTITY_KEYS = ["region", "cluster", "containerInstanceArn", "managedInstanceId"] as const;

/** JSON with sorted keys, to compare recorded settings whatever their key order. */
function canonical(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    if (typeof value === "object" && value !== null) {
        return `{${Object.keys(value)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value) ?? "undefined";
}

type Recorded = HostRegistrationProps & { readonly __provider?: string };

export const hostRegistrationProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostRegistrationProps) {
        return { id: `${inputs.cluster}/${inputs.managedInstanceId}`, outs: inputs };
    },
    async diff(_id: string, olds: Recorded, news: Recorded) {
        // In a preview, ids that verify has yet to report are unknown (the engine's sentinel): then
        // the registration may change, which the preview shows as an update; `up` diffs again with
        // the ids known and replaces only if they did change. So re-running verify (a new SSH
        // setting, say) is not previewed as a deregistration.
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const pending = IDENTITY_KEYS.some((k) => (news[k] as unknown) === unknown);
        const replaces = IDENTITY_KEYS.filter((k) => (news[k] as unknown) !== unknown && olds[k] !== news[k]);
        // Other AWS settings are an update: the host stays registered, its delete uses the new ones.
        // So is new code for this provider: the delete runs the code recorded with the registration.
        const updates = canonical(olds.aws ?? {}) !== canonical(news.aws ?? {}) || olds.__provider !== news.__provider;
        return { changes: replaces.length > 0 || updates || pending, replaces, deleteBeforeReplace: true };
    },
    async update(_id: string, _olds: HostRegistrationProps, news: HostRegistrationProps) {
        return { outs: news };
    },
    async delete(_id: string, props: HostRegistrationProps) {
        await deleteRegistration(props);
    },
};

export interface HostRegistrationArgs {
    readonly region: pulumi.Input<string>;
    readonly cluster: pulumi.Input<string>;
    readonly containerInstanceArn: pulumi.Input<string>;
    readonly managedInstanceId: pulumi.Input<string>;
    /** The stack's AWS settings (`readAwsAccess()`), used at destroy; recorded as a secret when they hold keys or a token. */
    readonly aws?: pulumi.Input<AwsAccess>;
}

/** A host's registration in AWS; deleting it deregisters the host in ECS and SSM. */
export class HostRegistration extends pulumi.dynamic.Resource {
    declare readonly containerInstanceArn: pulumi.Output<string>;
    declare readonly managedInstanceId: pulumi.Output<string>;

    constructor(name: string, args: HostRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
        const aws = args.aws === undefined ? undefined : pulumi.output(args.aws).apply((access) => (holdsSecrets(access) ? pulumi.secret(access) : access));
        super(hostRegistrationProvider, name, { ...args, aws }, { ...opts, deleteBeforeReplace: true }, "ecs-anywhere", "HostRegistration");
    }
}
