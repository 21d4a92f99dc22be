/**
 * The command lines of one host's lifecycle (DESIGN.md "Host lifecycle"), as plain strings: the
 * Pulumi program sends exactly these over SSH, and the SSH test bed runs exactly these.
 */
import { WORKER_UID } from "../worker-task";
import { remoteScriptCommand } from "./remote-script";
import { sealingKey } from "./seal";

export interface HostStepSettings {
    readonly hostName: string;
    readonly region: string;
    readonly cluster: string;
    readonly dataDir: string;
    readonly installerUrl: string;
    /** The installer's sha256; `none`: not checked. */
    readonly installerSha256: string;
    /** The amazon-ecs-init package version the installer installs (`--ecs-version`). */
    readonly ecsVersion: string;
    readonly reregister: boolean;
    readonly verifyTimeoutSeconds: number;
    /** Where the host reaches SSM and ECS (interface VPC endpoints, a proxy); unset: the region's public endpoints. */
    readonly ssmEndpoint?: string;
    readonly ecsEndpoint?: string;
}

export interface HostCommands {
    readonly preflight: string;
    /** Makes a fresh sealing key (install removes it once used); prints `seal-key <base64>` as its last line. */
    readonly seal: string;
    /** Reads the activation code (line 1, as it is or sealed) and id (line 2) from standard input. */
    readonly install: string;
    readonly prepareData: string;
    /** Prints `{"managedInstanceId":...,"containerInstanceArn":...}` as its last line. */
    readonly verify: string;
    /** Host-side clean-up, run on destroy after the AWS side is deregistered. */
    readonly deregister: string;
}

export function hostCommands(s: HostStepSettings): HostCommands {
    return {
        preflight: preflightCommand(s),
        seal: sealCommand(s.hostName),
        install: installCommand(s),
        prepareData: prepareDataCommand(s),
        verify: verifyCommand(s),
        deregister: cleanupCommand(s.hostName, s.cluster),
    };
}

/** The host's sealing key: it needs only the host's name. */
export function sealCommand(hostName: string): string {
    return remoteScriptCommand("seal", { HOST_NAME: hostName });
}

/** The host's public sealing key (base64 DER) that seal printed on its last `seal-key` line; throws naming the host. */
export function parseSealKey(hostName: string, stdout: string): string {
    const key = [...stdout.matchAll(/^seal-key ([A-Za-z0-9+/]+={0,2})$/gm)].pop()?.[1];
    if (key === undefined) throw new Error(`host ${hostName}: the seal step printed no sealing key (got ${JSON.stringify(stdout.trim().slice(-200))})`);
    try {
        sealingKey(key);
    } catch (error) {
        throw new Error(`host ${hostName}: the seal step printed an unusable sealing key: ${error instanceof Error ? error.message : String(error)}`);
    }
    return key;
}

/** Install: the activation code (sealed, `sealActivationCode`) and id come on standard input (`installInput`). */
export function installCommand(s: HostStepSettings): string {
    return remoteScriptCommand("install", {
        HOST_NAME: s.hostName,
        REGION: s.region,
        CLUSTER: s.cluster,
        INSTALLER_URL: s.installerUrl,
        INSTALLER_SHA256: s.installerSha256,
        ECS_VERSION: s.ecsVersion,
        REREGISTER: String(s.reregister),
        ...(s.ecsEndpoint ? { ECS_ENDPOINT: s.ecsEndpoint } : {}),
    });
}

/** The data folders: the host's name and data folder only. */
export function prepareDataCommand(s: Pick<HostStepSettings, "hostName" | "dataDir">): string {
    return remoteScriptCommand("prepare-data", { HOST_NAME: s.hostName, DATA_DIR: s.dataDir, WORKER_UID: String(WORKER_UID) });
}

/**
 * Verify, told the managed instance id install reported (`installedAs`, from `installedAs()`): the
 * id is part of the command, so a host registered again (a new id) re-runs verify, which records
 * its new ids; the same id changes nothing.
 */
export function verifyCommand(s: HostStepSettings, installedAs?: string): string {
    return remoteScriptCommand("verify", {
        HOST_NAME: s.hostName,
        CLUSTER: s.cluster,
        REGION: s.region,
        VERIFY_TIMEOUT_SECONDS: String(s.verifyTimeoutSeconds),
        ...(installedAs ? { INSTALLED_AS: installedAs } : {}),
    });
}

/** The managed instance id install printed (`managed-instance mi-...`, its last such line), if any. */
export function installedAs(installStdout: string): string | undefined {
    const ids = [...installStdout.matchAll(/^managed-instance (mi-[0-9a-f]{17})$/gm)].map((m) => m[1]);
    return ids.pop();
}

/** Preflight on its own: it needs no cluster (so the resource that runs it depends on none). */
export function preflightCommand(s: Omit<HostStepSettings, "cluster">): string {
    const endpoints = { ...(s.ssmEndpoint ? { SSM_ENDPOINT: s.ssmEndpoint } : {}), ...(s.ecsEndpoint ? { ECS_ENDPOINT: s.ecsEndpoint } : {}) };
    return remoteScriptCommand("preflight", { HOST_NAME: s.hostName, REGION: s.region, DATA_DIR: s.dataDir, ...endpoints });
}

/**
 * The host-side clean-up on its own: it needs only the host's name and the cluster's name (a plain
 * value known before anything is made), so the resource that runs it depends on nothing AWS-side
 * and nothing AWS-side waits on it. A host registered to another cluster is left alone.
 */
export function cleanupCommand(hostName: string, cluster: string): string {
    return remoteScriptCommand("deregister", { HOST_NAME: hostName, CLUSTER: cluster });
}

/** What the install step reads on standard input: the code (as it is, or sealed to the host), then the id. */
export function installInput(activationCode: string, activationId: string): string {
    return `${activationCode}\n${activationId}\n`;
}

/** The ids `verify` prints on its last line; throws naming the host if they are not there. */
export function parseVerifyOutput(hostName: string, stdout: string): { managedInstanceId: string; containerInstanceArn: string } {
    const last = stdout.trim().split("\n").pop() ?? "";
    let parsed: unknown;
    try {
        parsed = JSON.parse(last);
    } catch {
        throw new Error(`host ${hostName}: verify did not print its result line (got ${JSON.stringify(last.slice(0, 200))})`);
    }
    const { managedInstanceId, containerInstanceArn } = parsed as Record<string, unknown>;
    if (typeof managedInstanceId !== "string" || !/^mi-[0-9a-f]{17}$/.test(managedInstanceId) || typeof containerInstanceArn !== "string" || !containerInstanceArn.startsWith("arn:aws")) {
        throw new Error(`host ${hostName}: verify printed unexpected ids ${JSON.stringify(parsed)}`);
    }
    return { managedInstanceId, containerInstanceArn };
}
