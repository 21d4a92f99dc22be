/**
 * The anywhere program: reads the region stack's outputs, makes a cluster, the instance role and
 * an SSM activation, one `ManagedHost` per configured host (preflight, install, data folders,
 * verify over SSH; the registration in AWS), and runs the worker there as an EXTERNAL service.
 * `pulumi destroy` undoes it in order: service, AWS-side deregistration, host-side clean-up.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { REGION_OUTPUTS } from "../region/index";
import { pulumiConfigReader, UserError, type ConfigReader } from "../config";
import { workerContainerDefinition, type WorkerContainerDefinition, type WorkerContainerSettings } from "../worker-task";
import { activationWindow, registrationLimit } from "./activation";
import { readAwsAccess } from "./aws-access";
import { clusterScope, hostAgentsPolicy, instanceTrustPolicy } from "./instance-role";
import { loadAnywhereConfig, type AnywhereConfig, type AnywhereContext } from "./config";
import { ManagedHost, type HostLifecycleSettings, type SshAccess } from "./managed-host";
import { shellQuote } from "./remote-script";

export { loadAnywhereConfig } from "./config";
export { ManagedHost, sshConnection, type ManagedHostArgs, type SshAccess } from "./managed-host";

export type RegionStackOutputs = Record<(typeof REGION_OUTPUTS)[number], pulumi.Output<string>>;

/**
 * Reads every contract output of the region stack. Missing ones stop the run with one error that
 * names them all (a `UserError`: the message, no stack trace).
 */
export function readRegionStack(regionStack: string): RegionStackOutputs {
    const reference = new pulumi.StackReference(regionStack);
    const checked = pulumi.all(REGION_OUTPUTS.map((name) => reference.getOutput(name))).apply((values: unknown[]) => {
        const missing = REGION_OUTPUTS.filter((_, i) => typeof values[i] !== "string" || values[i] === "");
        if (missing.length > 0) {
            throw new UserError(
                `the region stack ${regionStack} has no output ${missing.map((name) => `\`${name}\``).join(", ")}: run \`pulumi up -s region\` first, ` +
                    "or point `ecs-anywhere:regionStack` at the right stack (org/project/stack)",
            );
        }
        return values as string[];
    });
    const outputs = {} as RegionStackOutputs;
    REGION_OUTPUTS.forEach((name, i) => (outputs[name] = checked.apply((values) => values[i])));
    return outputs;
}

/**
 * The command a person runs on a host to register it by hand (contains the secret code): the
 * stack's installer, fetched over HTTPS only (redirects too), checked against its sha256, run with
 * the stack's agent version. The code is on that command line, and on the SSM agent's `-register`.
 */
export function manualInstallCommand(installer: { url: string; sha256: string; ecsVersion: string }, region: string, cluster: string, activationId: string, activationCode: string): string {
    const file = "/tmp/ecs-anywhere-install.sh";
    const check = installer.sha256 === "none" ? "" : `echo ${shellQuote(`${installer.sha256}  ${file}`)} | sha256sum -c - && `;
    return (
        `curl --proto '=https' --proto-redir '=https' -fsSL -o ${file} ${shellQuote(installer.url)} && ${check}` +
        `sudo bash ${file} --region ${shellQuote(region)} --cluster ${shellQuote(cluster)} --ecs-version ${shellQuote(installer.ecsVersion)} ` +
        `--activation-id ${shellQuote(activationId)} --activation-code ${shellQuote(activationCode)}`
    );
}

/** What a leaked activation code permits until it expires (the stack output `activationReach`). */
export function activationReach(expires: string, limit: number, hosts: number, cluster: string): string {
    return (
        `Until ${expires} the activation code registers up to ${limit} machine${limit === 1 ? "" : "s"} (${hosts} host${hosts === 1 ? "" : "s"} + ${limit - hosts} spare; ` +
        `each registration made with it counts) as SSM managed instances with the hosts' role, which joins ECS cluster ${cluster} and can be given the worker's task ` +
        "(its task role reads and deletes the queue's messages; its execution role pulls the image and writes the logs)."
    );
}

/** EXTERNAL tasks support bridge, host and none; bridge keeps the worker off the host's network stack. */
export const EXTERNAL_NETWORK_MODE = "bridge";

/** The worker's container in the EXTERNAL task (its data volume is named `data`): what `npm run e2e` also runs in a real container runtime. */
export function externalWorkerContainer(
    region: Pick<WorkerContainerSettings, "image" | "queueUrl" | "region" | "logGroupName">,
    logFileNames: AnywhereConfig["logFileNames"],
): WorkerContainerDefinition {
    return workerContainerDefinition({
        ...region,
        logStreamPrefix: "external",
        logFileNames,
        // Sized for a Raspberry Pi that shares its memory with Docker and the agents.
        cpu: 256,
        memoryReservation: 64,
        memory: 256,
    });
}

/** How the hosts are reached: the key or agent, and the bastion. */
function sshAccessOf(config: AnywhereConfig): SshAccess {
    return {
        ...(config.sshPrivateKey !== undefined ? { privateKey: config.sshPrivateKey } : { agentSocketPath: config.sshAgentSocket }),
        ...(config.sshPrivateKeyPassphrase !== undefined ? { privateKeyPassword: config.sshPrivateKeyPassphrase } : {}),
        ...(config.bastion ? { bastion: config.bastion } : {}),
    };
}

/** The host steps' settings shared by every host of the stack. */
function lifecycleSettingsOf(config: AnywhereConfig): HostLifecycleSettings {
    return {
        dataDir: config.dataDir,
        installerUrl: config.installerUrl,
        installerSha256: config.installerSha256,
        ecsVersion: config.ecsVersion,
        reregister: config.reregister,
        verifyTimeoutSeconds: config.verifyTimeoutSeconds,
        ...(config.ssmEndpoint ? { ssmEndpoint: config.ssmEndpoint } : {}),
        ...(config.ecsEndpoint ? { ecsEndpoint: config.ecsEndpoint } : {}),
    };
}

export interface AnywhereProgramOptions {
    readonly read?: ConfigReader;
    readonly context?: AnywhereContext;
    /** The time the activation window is computed from. Default: now. */
    readonly now?: Date;
}

/** Everything the program made, for tests to read; `outputs` are the stack's outputs. */
export interface AnywhereDeployment {
    readonly config: AnywhereConfig;
    readonly cluster: aws.ecs.Cluster;
    readonly instanceRole: aws.iam.Role;
    readonly activation: aws.ssm.Activation;
    /** One component per host, by host name. */
    readonly hosts: Readonly<Record<string, ManagedHost>>;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly service: aws.ecs.Service;
    /** What the service was told to wait for. */
    readonly serviceDependsOn: readonly pulumi.Resource[];
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

export function anywhereProgram(options: AnywhereProgramOptions = {}): Record<string, pulumi.Output<unknown>> {
    return buildAnywhere(options).outputs;
}

export function buildAnywhere(options: AnywhereProgramOptions = {}): AnywhereDeployment {
    const config = loadAnywhereConfig(options.read ?? pulumiConfigReader, options.context);
    const stack = pulumi.getStack();
    const name = `ecs-anywhere-${stack}`;
    const region = readRegionStack(config.regionStack);

    // Named after the stack, so anywhere-berlin and anywhere-pi never collide.
    const cluster = new aws.ecs.Cluster(`${name}-cluster`, { name, settings: [{ name: "containerInsights", value: "disabled" }] });

    // The hosts' role: SSM assumes it for this account's managed instances in this region only, and it
    // holds what the two agents call, on this cluster (./instance-role.ts says what and why).
    const scope = cluster.arn.apply(clusterScope);
    const instanceRole = new aws.iam.Role(`${name}-instance`, {
        description: `ecs-anywhere hosts of stack ${stack}: SSM managed instances running the ECS agent`,
        assumeRolePolicy: scope.apply((s) => JSON.stringify(instanceTrustPolicy(s))),
    });
    const agentsPolicy = new aws.iam.RolePolicy(`${name}-instance-agents`, {
        role: instanceRole.name,
        policy: scope.apply((s) => JSON.stringify(hostAgentsPolicy(s, { ssmRemoteAccess: config.ssmRemoteAccess }))),
    });

    const window = activationWindow(options.now ?? new Date(), config.activationExpiryDays, config.activationRenewDays);
    const limit = registrationLimit(config.hosts.length, config.activationHeadroom);
    const activation = new aws.ssm.Activation(
        `${name}-activation`,
        {
            name,
            description: `ecs-anywhere hosts of stack ${stack}`,
            iamRole: instanceRole.name,
            registrationLimit: limit,
            // Fixed for a whole window: a new activation is made only when this one is about to expire.
            expirationDate: window.expirationDate,
        },
        { dependsOn: [agentsPolicy] },
    );
    const activationCode = pulumi.secret(activation.activationCode);

    // One component per host; no dependency between hosts, so Pulumi registers them in parallel.
    const hosts: Record<string, ManagedHost> = {};
    const awsAccess = readAwsAccess(options.read);
    for (const host of config.hosts) {
        hosts[host.name] = new ManagedHost(`${name}-${host.name}`, {
            host,
            ssh: sshAccessOf(config),
            region: region.region,
            clusterName: cluster.name,
            clusterArn: cluster.arn,
            clusterPlacement: [name, aws.config.region ?? ""],
            activationId: activation.id,
            activationCode,
            settings: lifecycleSettingsOf(config),
            aws: awsAccess,
        });
    }

    const taskDefinition = new aws.ecs.TaskDefinition(`${name}-task`, {
        family: `${name}-worker`,
        requiresCompatibilities: ["EXTERNAL"],
        networkMode: EXTERNAL_NETWORK_MODE,
        executionRoleArn: region.executionRoleArn,
        taskRoleArn: region.taskRoleArn,
        volumes: [{ name: "data", hostPath: config.dataDir }],
        containerDefinitions: pulumi
            .all([region.imageUri, region.queueUrl, region.region, region.logGroupName])
            .apply(([image, queueUrl, regionName, logGroupName]) =>
                JSON.stringify([externalWorkerContainer({ image, queueUrl, region: regionName, logGroupName }, config.logFileNames)]),
            ),
    });

    // Waiting on a component waits on all its children: every host verified and registered.
    const serviceDependsOn = Object.values(hosts);
    const service = new aws.ecs.Service(
        `${name}-service`,
        {
            cluster: cluster.arn,
            taskDefinition: taskDefinition.arn,
            launchType: "EXTERNAL",
            desiredCount: config.desiredCount,
            // One worker per host; a deployment stops a host's old worker before starting the new one.
            placementConstraints: [{ type: "distinctInstance" }],
            deploymentMinimumHealthyPercent: 0,
            deploymentMaximumPercent: 100,
            deploymentCircuitBreaker: { enable: true, rollback: true },
            waitForSteadyState: false,
        },
        // Starts only on registered hosts; on destroy it goes first, before any host is deregistered.
        { dependsOn: serviceDependsOn },
    );

    const outputs = {
        clusterName: cluster.name,
        serviceName: service.name,
        activationId: activation.id,
        activationExpires: pulumi.output(window.expirationDate),
        activationReach: pulumi.interpolate`${activationReach(window.expirationDate, limit, config.hosts.length, name)} Revoke it before then: pulumi up -s ${stack} --replace '${activation.urn}'.`,
        activationCode,
        installCommand: pulumi.secret(
            pulumi.all([region.region, cluster.name, activation.id, activationCode]).apply(([regionName, clusterName, id, code]) =>
                manualInstallCommand({ url: config.installerUrl, sha256: config.installerSha256, ecsVersion: config.ecsVersion }, regionName, clusterName, id, code),
            ),
        ),
        hosts: pulumi.all(
            Object.fromEntries(Object.entries(hosts).map(([hostName, host]) => [hostName, pulumi.all({ managedInstanceId: host.managedInstanceId, containerInstanceArn: host.containerInstanceArn })])),
        ),
    };
    return { config, cluster, instanceRole, activation, hosts, taskDefinition, service, serviceDependsOn, outputs };
}
