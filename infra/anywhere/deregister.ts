/**
 * AWS-side deregistration of one host, run by `pulumi destroy` from where Pulumi runs (not on the
 * host, so an unreachable host cannot block it): the container instance leaves the ECS cluster,
 * then the managed instance leaves SSM, in the order the ECS docs give. Already gone is fine.
 */
import * as pulumi from "@pulumi/pulumi";

/** What to deregister. */
export interface HostRegistrationTarget {
    readonly region: string;
    readonly cluster: string;
    readonly containerInstanceArn: string;
    readonly managedInstanceId: string;
}

/** The two SDK calls, injectable for tests. Each resolves, or throws the SDK's error. */
export interface DeregistrationApi {
    deregisterContainerInstance(cluster: string, containerInstanceArn: string): Promise<void>;
    deregisterManagedInstance(managedInstanceId: string): Promise<void>;
}

export type StepResult = "deregistered" | "already-gone";

/** Errors meaning "not registered (any more)": success for a deregistration. */
export function isAlreadyGone(error: unknown): boolean {
    if (!(error instanceof Error)) return false;
    if (["ClusterNotFoundException", "InvalidInstanceId"].includes(error.name)) return true;
    return ["ClientException", "InvalidParameterException"].includes(error.name) && /not found|not active|inactive|does not exist/i.test(error.message);
}

export async function deregisterHost(api: DeregistrationApi, target: HostRegistrationTarget): Promise<{ ecs: StepResult; ssm: StepResult }> {
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

/** The real API, on the AWS SDK with the credentials Pulumi runs with. */
export function sdkDeregistrationApi(region: string): DeregistrationApi {
    // Required here, not at the top: this runs inside the serialized dynamic provider.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ecs = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ssm = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
    const ecsClient = new ecs.ECSClient({ region });
    const ssmClient = new ssm.SSMClient({ region });
    return {
        async deregisterContainerInstance(cluster, containerInstance) {
            // force: the service is already gone; anything left on the instance is orphaned.
            await ecsClient.send(new ecs.DeregisterContainerInstanceCommand({ cluster, containerInstance, force: true }));
        },
        async deregisterManagedInstance(instanceId) {
            await ssmClient.send(new ssm.DeregisterManagedInstanceCommand({ InstanceId: instanceId }));
        },
    };
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostRegistrationTarget) {
        return { id: `${inputs.cluster}/${inputs.managedInstanceId}`, outs: inputs };
    },
    async diff(_id: string, olds: HostRegistrationTarget, news: HostRegistrationTarget) {
        const replaces = (["region", "cluster", "containerInstanceArn", "managedInstanceId"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
    },
    async delete(_id: string, props: HostRegistrationTarget) {
        await deregisterHost(sdkDeregistrationApi(props.region), props);
    },
};

export interface HostRegistrationArgs {
    readonly region: pulumi.Input<string>;
    readonly cluster: pulumi.Input<string>;
    readonly containerInstanceArn: pulumi.Input<string>;
    readonly managedInstanceId: pulumi.Input<string>;
}

/** A host's registration in AWS; deleting it deregisters the host in ECS and SSM. */
export class HostRegistration extends pulumi.dynamic.Resource {
    declare readonly containerInstanceArn: pulumi.Output<string>;
    declare readonly managedInstanceId: pulumi.Output<string>;

    constructor(name: string, args: HostRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, args, { ...opts, deleteBeforeReplace: true }, "ecs-anywhere", "HostRegistration");
    }
}
