/**
 * One host's whole lifecycle as one component (DESIGN.md "Host lifecycle"): preflight, cleanup (its
 * delete cleans the host), seal (the key the activation code is encrypted to), install, the data
 * folders, verify, and the AWS-side registration (its delete deregisters the host in ECS and SSM).
 * `pulumi up` and `preview` show one tree per host, so a failed step reads as that host's step.
 * Hosts do not depend on each other: Pulumi runs them in parallel.
 *
 * On destroy the order is: registration (AWS side), verify, then install, seal and cleanup (host
 * side) and, beside them, data; preflight last. The cluster, the activation and the role wait on install, which runs nothing on
 * delete, and not on cleanup: a host that cannot be reached fails only its own cleanup, and
 * `pulumi destroy --continue-on-error` removes everything else.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { AwsAccess } from "./aws-credentials";
import type { BastionConfig, HostConfig } from "./config";
import { HostRegistration } from "./deregister";
import { cleanupCommand, installCommand, installedAs, installInput, parseSealKey, parseVerifyOutput, preflightCommand, prepareDataCommand, sealCommand, verifyCommand, type HostStepSettings } from "./host-commands";
import { SealedActivationCode } from "./seal";

/** How Pulumi reaches the hosts over SSH. */
export interface SshAccess {
    /** The SSH private key (secret); unset: `agentSocketPath`. */
    readonly privateKey?: pulumi.Input<string>;
    /** The passphrase of an encrypted `privateKey` (secret). */
    readonly privateKeyPassword?: pulumi.Input<string>;
    /** Path of an SSH agent socket, instead of a key. */
    readonly agentSocketPath?: string;
    /** A jump host every connection goes through. */
    readonly bastion?: BastionConfig;
}

/** The settings of a host's steps that are the same for every host of a stack. */
export type HostLifecycleSettings = Omit<HostStepSettings, "hostName" | "region" | "cluster">;

export interface ManagedHostArgs {
    /** The host as configured: name, address, port, user, and its pinned key (or the opt-out). */
    readonly host: HostConfig;
    readonly ssh: SshAccess;
    /** The region of the queue, the cluster and the activation. */
    readonly region: pulumi.Input<string>;
    readonly clusterName: pulumi.Input<string>;
    /** In the triggers of install and verify: a new cluster registers the host again. */
    readonly clusterArn: pulumi.Input<string>;
    /**
     * Plain values known before anything is made that name the cluster the host joins (its name
     * first, then the stack's AWS region): a change cleans the host before it registers again.
     * Unlike the cluster's ARN they tie the clean-up to no resource, so the cluster never waits on
     * it; the clean-up clears only a registration to that cluster.
     */
    readonly clusterPlacement: readonly string[];
    readonly activationId: pulumi.Input<string>;
    /** Secret; handed to the host on standard input only. */
    readonly activationCode: pulumi.Input<string>;
    readonly settings: HostLifecycleSettings;
    /** The stack's AWS settings (`aws:profile`, `aws:assumeRoles`, ...): the deregistration at destroy uses them. */
    readonly aws?: AwsAccess;
}

/**
 * How the command provider dials (for the host and the bastion alike). It retries every failure
 * alike, waiting 0.1 s, then 1.5 times longer each time up to 5 s: 15 failed dials take about 36 s
 * of waiting. A wrong host key or a closed port so fails in well under a minute, while a host that
 * is rebooting (no answer, then refused until sshd is up) is ridden out for 36 s to about 2
 * minutes. Each dial gives up after 5 s (the provider's 15 s made a host that drops packets fail
 * only after 3 minutes).
 */
export const DIAL_ERROR_LIMIT = 15;
export const PER_DIAL_TIMEOUT_SECONDS = 5;

/**
 * The command provider's connection for `host`: its pinned key (none only when the host opted out),
 * with retries, through the bastion if there is one.
 */
export function sshConnection(host: HostConfig, ssh: SshAccess): command.types.input.remote.ConnectionArgs {
    const credentials =
        ssh.privateKey !== undefined ? { privateKey: ssh.privateKey, ...(ssh.privateKeyPassword !== undefined ? { privateKeyPassword: ssh.privateKeyPassword } : {}) } : { agentSocketPath: ssh.agentSocketPath };
    const dialing = { dialErrorLimit: DIAL_ERROR_LIMIT, perDialTimeout: PER_DIAL_TIMEOUT_SECONDS };
    return {
        host: host.address,
        port: host.port,
        user: host.user,
        ...credentials,
        ...(host.hostKey ? { hostKey: host.hostKey } : {}),
        ...dialing,
        ...(ssh.bastion
            ? {
                  proxy: {
                      host: ssh.bastion.address,
                      port: ssh.bastion.port,
                      user: ssh.bastion.user,
                      ...credentials,
                      hostKey: ssh.bastion.hostKey,
                      ...dialing,
                  },
              }
            : {}),
    };
}

/** The warning for a host that opted out of host key checking. */
export function unverifiedHostWarning(host: HostConfig): string {
    return `host ${host.name} (${host.address}) has insecureIgnoreHostKey: its identity is not verified and the activation code goes to whoever answers there; pin its key with \`npm run --silent host-keys -- ${host.address}\``;
}

/**
 * Options every child gets: this component as parent, and an alias to the same name at the top of
 * the stack, where stacks made before this component keep these resources, so such a stack adopts
 * them instead of registering its hosts again.
 */
function childOptions(parent: pulumi.Resource, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...extra, parent, aliases: [{ parent: pulumi.rootStackResource }] };
}

/** One registered host: its SSH steps and its registration in AWS. */
export class ManagedHost extends pulumi.ComponentResource {
    /** The host's SSM managed instance id (`mi-...`), as verify reported it. */
    readonly managedInstanceId: pulumi.Output<string>;
    /** The host's ECS container instance ARN, as verify reported it. */
    readonly containerInstanceArn: pulumi.Output<string>;
    /** Checks the host can run ECS Anywhere; changes nothing. */
    readonly preflight: command.remote.Command;
    /** Runs nothing on create; its delete stops the agents and removes the registration files (and the sealing key) on the host. */
    readonly cleanup: command.remote.Command;
    /** Makes a fresh sealing key on the host and prints its public half, at every new activation. */
    readonly seal: command.remote.Command;
    /** The activation code sealed to that key, once (RSA-OAEP is randomized: the state keeps the ciphertext). */
    readonly sealedCode: SealedActivationCode;
    /** Registers the host in SSM and ECS (idempotent: re-run with a new activation, it changes nothing on a registered host). */
    readonly install: command.remote.Command;
    /** The options install was created with. */
    readonly installOptions: pulumi.CustomResourceOptions;
    /** Makes the worker's source and destination folders. */
    readonly data: command.remote.Command;
    /** Waits for the host's ECS agent to report the cluster; prints the ids. */
    readonly verify: command.remote.Command;
    /** The host in AWS; its delete deregisters it, from where Pulumi runs. */
    readonly registration: HostRegistration;

    constructor(name: string, args: ManagedHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:hosts:ManagedHost", name, {}, opts);
        const { host, settings } = args;
        if (host.hostKey === undefined) pulumi.log.warn(unverifiedHostWarning(host), this);

        const connection = sshConnection(host, args.ssh);
        // What makes a host another machine (or another registration): a change replaces its steps.
        const identity = [host.address, host.port, host.user];
        // The data folder concerns preflight and the folders only: moving it must not deregister the host.
        const dataTriggers = [...identity, settings.dataDir];
        // A default sshd refuses the provider's PULUMI_COMMAND_STDOUT/STDERR variables, with a warning per command.
        const common = { connection, addPreviousOutputInEnv: false };

        // Preflight needs the region only: built apart from the other commands, it depends on no
        // cluster, so the clean-up that waits for it does not hold up the cluster's delete either.
        const preflightLine = pulumi.output(args.region).apply((region) => preflightCommand({ ...settings, hostName: host.name, region }));
        this.preflight = new command.remote.Command(`${name}-preflight`, { ...common, create: preflightLine, triggers: dataTriggers }, childOptions(this));
        // The host-side clean-up lives apart from install so that nothing AWS-side waits on it at
        // destroy: it depends on no cluster, activation or role. It is made once preflight has
        // reached the host (a host never reached has nothing to clean, and leaves the stack without
        // being reached); install depends on it, so it is deleted (the host cleaned) only after the
        // registration, verify and install are gone.
        this.cleanup = new command.remote.Command(
            `${name}-cleanup`,
            { ...common, delete: cleanupCommand(host.name, args.clusterPlacement[0]), triggers: [...identity, ...args.clusterPlacement] },
            childOptions(this, { dependsOn: [this.preflight], deleteBeforeReplace: true }),
        );
        // The key the activation code is sealed to: a fresh one at every new activation (install
        // removes it once used), so a host that lost its key with its registration gets a new one in time.
        this.seal = new command.remote.Command(
            `${name}-seal`,
            { ...common, create: sealCommand(host.name), triggers: [...identity, args.activationId] },
            childOptions(this, { dependsOn: [this.preflight, this.cleanup] }),
        );
        this.sealedCode = new SealedActivationCode(
            `${name}-sealed-code`,
            { publicKey: this.seal.stdout.apply((stdout) => parseSealKey(host.name, stdout)), activationId: args.activationId, activationCode: args.activationCode },
            childOptions(this),
        );
        this.installOptions = childOptions(this, {
            dependsOn: [this.preflight, this.cleanup, this.seal, this.sealedCode],
            // Another machine or cluster: the old install goes before a new one is made (the old
            // host is cleaned by cleanup's own replacement, which install waits for).
            deleteBeforeReplace: true,
        });
        this.install = new command.remote.Command(
            `${name}-install`,
            {
                ...common,
                create: pulumi.all([args.region, args.clusterName]).apply(([region, cluster]) => installCommand({ ...settings, hostName: host.name, region, cluster })),
                // The code and id go on standard input: a failed command prints its command line,
                // never its input; and the code sealed to the host: the provider logs its inputs
                // at -v=9. A new activation (renewed, or another host count) changes
                // stdin: an update, which re-runs the idempotent install: nothing on a registered
                // host, a registration with the current code on one that is not. A replacement
                // (new machine or cluster) always gets the current code.
                stdin: pulumi.secret(
                    pulumi.all([this.sealedCode.sealed, args.activationId]).apply(([sealed, id]) => installInput(sealed, id)),
                ),
                triggers: [...identity, args.clusterArn],
            },
            this.installOptions,
        );
        // The folders need no agent: made beside seal and install (a step less on each host's path),
        // once preflight found the data folder.
        this.data = new command.remote.Command(`${name}-data`, { ...common, create: prepareDataCommand({ hostName: host.name, dataDir: settings.dataDir }), triggers: dataTriggers }, childOptions(this, { dependsOn: [this.preflight] }));
        // Verify is told the id install reported: when install registers the host again (a host
        // that lost its registration, at a new activation or a replaced install), verify re-runs
        // and the registration follows the new ids, deregistering the old ones.
        const verifyLine = pulumi
            .all([args.region, args.clusterName, this.install.stdout])
            .apply(([region, cluster, stdout]) => verifyCommand({ ...settings, hostName: host.name, region, cluster }, installedAs(stdout ?? "")));
        this.verify = new command.remote.Command(
            `${name}-verify`,
            { ...common, create: verifyLine, triggers: [...identity, args.clusterArn] },
            childOptions(this, { dependsOn: [this.install, this.data] }),
        );
        const ids = this.verify.stdout.apply((stdout) => parseVerifyOutput(host.name, stdout));
        this.registration = new HostRegistration(
            `${name}-registration`,
            { region: args.region, cluster: args.clusterName, containerInstanceArn: ids.containerInstanceArn, managedInstanceId: ids.managedInstanceId, ...(args.aws ? { aws: args.aws } : {}) },
            childOptions(this, { dependsOn: [this.verify] }),
        );
        this.managedInstanceId = ids.managedInstanceId;
        this.containerInstanceArn = ids.containerInstanceArn;
        this.registerOutputs({ managedInstanceId: this.managedInstanceId, containerInstanceArn: this.containerInstanceArn });
    }
}
