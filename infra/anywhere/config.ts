/**
 * An anywhere stack's settings (namespace `ecs-anywhere`), typed, defaulted in one place and
 * validated before any resource is created. Secrets are checked without ever being printed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { LogFileNames } from "../../worker/src/options";
import { ConfigError, configKey as key, flag, matching, oneOf, parseValue, pulumiConfigReader, wholeNumber, type ConfigReader } from "../config";
import { HostKeyError, parseHostKey, pinInstructions } from "./host-key";
import { keyProtection } from "./ssh-key";

export interface HostConfig {
    /** Name in messages and resource names: lower-case letters, digits and dashes. */
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly user: string;
    /** The host's ed25519 or ECDSA public key (`ssh-ed25519 AAAA...`); required unless `insecureIgnoreHostKey`. */
    readonly hostKey?: string;
    /** Reach the host without checking its identity (a throw-away test host only). Default false. */
    readonly insecureIgnoreHostKey: boolean;
}

export interface BastionConfig {
    readonly address: string;
    readonly port: number;
    readonly user: string;
    /** The bastion's ed25519 or ECDSA public key; required. */
    readonly hostKey: string;
}

export interface AnywhereConfig {
    /** The region stack to read (`org/project/stack`). Default `<org>/<project>/region`. */
    readonly regionStack: string;
    readonly hosts: readonly HostConfig[];
    /** SSH private key (secret), unless an agent socket is used. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** The passphrase of an encrypted `sshPrivateKey` (secret). */
    readonly sshPrivateKeyPassphrase?: pulumi.Output<string>;
    /** Path of an SSH agent socket, instead of a key. */
    readonly sshAgentSocket?: string;
    readonly bastion?: BastionConfig;
    /** The hosts' data folder, mounted into the worker at /data. Default `/data`. */
    readonly dataDir: string;
    /** Spare registrations the activation allows beyond the host count (hosts registered by hand). Default 0. */
    readonly activationHeadroom: number;
    /** Days an activation is valid (SSM allows up to 30). Default `activationRenewDays` + 1, the shortest renewal allows. */
    readonly activationExpiryDays: number;
    /** A new activation is made on `up` once fewer than this many days remain. Default 1. */
    readonly activationRenewDays: number;
    /** Let Run Command and Session Manager reach the hosts (their role gets the ec2messages and ssmmessages channels). Default false. */
    readonly ssmRemoteAccess: boolean;
    /** Where hosts fetch the installer (https:// only). Default AWS's release `INSTALLER_VERSION` on GitHub. */
    readonly installerUrl: string;
    /** Expected sha256 of the installer (`none`: not checked). Default the pinned release's; required with another `installerUrl`. */
    readonly installerSha256: string;
    /** The amazon-ecs-init version the installer installs (`--ecs-version`), the same on every host. Default `DEFAULT_ECS_VERSION`. */
    readonly ecsVersion: string;
    /** Clear another cluster's (or a stale) registration on a host and register again. Default false. */
    readonly reregister: boolean;
    /** Workers on the hosts. Default one per host. */
    readonly desiredCount: number;
    /** How file names appear in the hosts' logs, which go to the region. Default hash. */
    readonly logFileNames: LogFileNames;
    /** How long verification waits for a host's agent, in seconds. Default 300. */
    readonly verifyTimeoutSeconds: number;
    /** Where the hosts reach SSM (an interface VPC endpoint or a proxy). Default: the region's public endpoint. */
    readonly ssmEndpoint?: string;
    /** Where the hosts reach ECS; also given to the installer as `--ecs-endpoint`. Default: the region's public endpoint. */
    readonly ecsEndpoint?: string;
}

/** AWS's installer release the hosts run by default: its script at that release tag, and its sha256. */
export const INSTALLER_VERSION = "v1.105.0";
export const DEFAULT_INSTALLER_URL = `https://raw.githubusercontent.com/aws/amazon-ecs-agent/${INSTALLER_VERSION}/scripts/ecs-anywhere-install.sh`;
export const DEFAULT_INSTALLER_SHA256 = "92a118a8c15f377f9c0b30b4445b0cfc08385bfe5bd3107e2dfe8b4d1b1125c8";
/** The amazon-ecs-init package of that release (its Debian changelog's version form). */
export const DEFAULT_ECS_VERSION = "1.105.0-1";
/** AWS's unversioned URL: it changes with every release, so a pinned sha256 breaks with the next one. */
export const LATEST_INSTALLER_URL = "https://amazon-ecs-agent.s3.amazonaws.com/ecs-anywhere-install-latest.sh";
/** SSM's limit on registrations per activation. */
export const MAX_HOSTS_PER_ACTIVATION = 1000;
/** SSM's longest activation. */
export const MAX_ACTIVATION_DAYS = 30;
/** The activation's defaults: no spare registration, renewed when less than a day is left (so it lives 2 days). */
export const ACTIVATION_DEFAULTS = { spare: 0, renewDays: 1 } as const;

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const ADDRESS = /^[A-Za-z0-9.:-]{1,253}$/;

interface Endpoint {
    readonly name?: string;
    readonly address: string;
    readonly port: number;
    readonly user: string;
    readonly hostKey?: string;
    readonly insecureIgnoreHostKey?: boolean;
}

/** A host (`requireName`) or the bastion, as configured; its hostKey checked, not yet required. */
function endpoint(where: string, raw: unknown, requireName: boolean): Endpoint {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new ConfigError(where, raw, "expected an object such as {name: pi-1, address: 192.0.2.10, user: ubuntu, hostKey: \"ssh-ed25519 AAAA...\"}");
    }
    const entry = raw as Record<string, unknown>;
    // The bastion has no name, and no opt-out: it carries every host's connection.
    const known = new Set(requireName ? ["name", "address", "port", "user", "hostKey", "insecureIgnoreHostKey"] : ["address", "port", "user", "hostKey"]);
    for (const field of Object.keys(entry)) {
        if (!known.has(field)) throw new ConfigError(`${where}.${field}`, entry[field], `unknown field; the fields are ${[...known].join(", ")}`);
    }
    const name = requireName ? matching(`${where}.name`, entry.name, HOST_NAME, "1 to 32 lower-case letters, digits and dashes, e.g. pi-1") : undefined;
    const address = matching(`${where}.address`, entry.address, ADDRESS, "a host name or IP address, e.g. 192.0.2.10");
    const user = matching(`${where}.user`, entry.user, USER, "the SSH user, e.g. ubuntu (root or with passwordless sudo)");
    const port = wholeNumber(`${where}.port`, entry.port ?? 22, 1, 65535);
    const who = name !== undefined ? `host ${name} (${address})` : `the bastion (${address})`;
    let hostKey: string | undefined;
    if (entry.hostKey !== undefined) {
        if (typeof entry.hostKey !== "string") {
            throw new ConfigError(`${where}.hostKey`, entry.hostKey, `${who}: expected the host's public key as text, e.g. ssh-ed25519 AAAA...`);
        }
        try {
            hostKey = parseHostKey(entry.hostKey, { address, port }).key;
        } catch (error) {
            if (!(error instanceof HostKeyError)) throw error;
            throw new ConfigError(`${where}.hostKey`, entry.hostKey, `${who}: ${error.message}`);
        }
    }
    const insecure = flag(`${where}.insecureIgnoreHostKey`, entry.insecureIgnoreHostKey, false);
    if (insecure && hostKey !== undefined) {
        throw new ConfigError(`${where}.insecureIgnoreHostKey`, insecure, `${who} has a hostKey, which is checked: remove insecureIgnoreHostKey (or the hostKey, to skip the check)`);
    }
    return {
        ...(name !== undefined ? { name, insecureIgnoreHostKey: insecure } : {}),
        address,
        port,
        user,
        ...(hostKey === undefined ? {} : { hostKey }),
    };
}

/**
 * Fails closed: a host (unless it opts out) or the bastion without `hostKey` stops the run. Over that
 * first connection goes the activation code, so a machine in the middle could register itself.
 * One error for all of them, naming each and the commands that print their keys.
 */
function requireHostKeys(hosts: readonly HostConfig[], bastion: Endpoint | undefined): void {
    const missing = [
        ...hosts.flatMap((host, i) =>
            host.hostKey === undefined && !host.insecureIgnoreHostKey
                ? [{ key: `${key("hosts")}[${i}].hostKey`, who: `host ${host.name} (${host.address})`, why: "the activation code goes over that connection", target: host, isHost: true }]
                : [],
        ),
        ...(bastion !== undefined && bastion.hostKey === undefined
            ? [{ key: `${key("bastion")}.hostKey`, who: `the bastion (${bastion.address})`, why: "every host's connection goes through it", target: bastion, isHost: false }]
            : []),
    ];
    if (missing.length === 0) return;
    const [first, ...others] = missing;
    const also = others.length > 0 ? ` (also without a key: ${others.map((m) => `${m.who} at \`${m.key}\``).join(", ")})` : "";
    const someHost = missing.some((m) => m.isHost);
    const throughBastion = bastion !== undefined && someHost ? "; for hosts reached through the bastion, run the scan on the bastion" : "";
    const optOut = someHost ? ". Only for a throw-away test host: set `insecureIgnoreHostKey: true` on it instead" : "";
    throw new ConfigError(
        first.key,
        undefined,
        `${first.who} would be reached without checking its identity, and ${first.why}${also}. ` + `Pin each key: ${pinInstructions(missing.map((m) => m.target))}${throughBastion}${optOut}`,
    );
}

export interface AnywhereContext {
    readonly organization: string;
    readonly project: string;
}

export function loadAnywhereConfig(
    read: ConfigReader = pulumiConfigReader,
    context: AnywhereContext = { organization: pulumi.getOrganization(), project: pulumi.getProject() },
): AnywhereConfig {
    const get = (name: string) => parseValue(read(key(name)));

    const regionStack = matching(key("regionStack"), get("regionStack") ?? `${context.organization}/${context.project}/region`, /^([\w.-]+\/){0,2}[\w.-]+$/, "the region stack's name, e.g. region or my-org/ecs-anywhere/region");

    const rawHosts = get("hosts");
    if (!Array.isArray(rawHosts) || rawHosts.length === 0) {
        throw new ConfigError(key("hosts"), rawHosts, "list the hosts to register, e.g. [{name: pi-1, address: 192.0.2.10, user: ubuntu, hostKey: \"ssh-ed25519 AAAA...\"}] (see Pulumi.anywhere.yaml)");
    }
    if (rawHosts.length > MAX_HOSTS_PER_ACTIVATION) {
        throw new ConfigError(key("hosts"), `${rawHosts.length} hosts`, `one activation registers at most ${MAX_HOSTS_PER_ACTIVATION} hosts: split them over several anywhere stacks (anywhere-<site>)`);
    }
    const hosts = rawHosts.map((raw, i) => endpoint(`${key("hosts")}[${i}]`, raw, true) as HostConfig);
    const seen = new Map<string, number>();
    hosts.forEach((host, i) => {
        const first = seen.get(host.name);
        if (first !== undefined) throw new ConfigError(`${key("hosts")}[${i}].name`, host.name, `hosts[${first}] has the same name; give each host its own`);
        seen.set(host.name, i);
    });

    const privateKeyText = read(key("sshPrivateKey"));
    const agentSocket = get("sshAgentSocket");
    if (privateKeyText === undefined && agentSocket === undefined) {
        throw new ConfigError(key("sshPrivateKey"), undefined, "set the SSH key: `pulumi config set --secret ecs-anywhere:sshPrivateKey < ~/.ssh/id_ed25519`, or set ecs-anywhere:sshAgentSocket to your SSH agent's socket ($SSH_AUTH_SOCK)");
    }
    if (privateKeyText !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKeyText)) {
        // The value is a secret: say what is wrong without echoing it.
        throw new ConfigError(key("sshPrivateKey"), "(secret, not shown)", "expected a private key in PEM or OpenSSH format (starts with -----BEGIN ... PRIVATE KEY-----); set it with `pulumi config set --secret ecs-anywhere:sshPrivateKey < ~/.ssh/id_ed25519`");
    }
    const passphrase = read(key("sshPrivateKeyPassphrase"));
    const protection = privateKeyText === undefined ? undefined : keyProtection(privateKeyText);
    if (protection === "passphrase" && passphrase === undefined) {
        throw new ConfigError(
            key("sshPrivateKeyPassphrase"),
            undefined,
            "`ecs-anywhere:sshPrivateKey` is encrypted: set its passphrase with `pulumi config set --secret ecs-anywhere:sshPrivateKeyPassphrase` (it prompts for the value), or use an agent that holds the key (ecs-anywhere:sshAgentSocket)",
        );
    }
    // A passphrase for a key in a format that does not tell is left to the provider to try.
    if (passphrase !== undefined && (protection === undefined || protection === "none")) {
        const why = protection === undefined ? "no `ecs-anywhere:sshPrivateKey` is set (an agent holds its keys unlocked)" : "`ecs-anywhere:sshPrivateKey` is not encrypted";
        throw new ConfigError(key("sshPrivateKeyPassphrase"), "(secret, not shown)", `${why}: remove it with \`pulumi config rm ecs-anywhere:sshPrivateKeyPassphrase\``);
    }
    if (agentSocket !== undefined && (typeof agentSocket !== "string" || !agentSocket.startsWith("/"))) {
        throw new ConfigError(key("sshAgentSocket"), agentSocket, "expected the absolute path of the agent's socket, e.g. the value of $SSH_AUTH_SOCK");
    }

    const rawBastion = get("bastion");
    const bastionEndpoint = rawBastion === undefined ? undefined : endpoint(key("bastion"), rawBastion, false);
    requireHostKeys(hosts, bastionEndpoint);
    // Checked just above: a bastion here has its hostKey.
    const bastion = bastionEndpoint as BastionConfig | undefined;

    const dataDir = get("dataDir") ?? "/data";
    if (typeof dataDir !== "string" || !/^\/[^\0]*$/.test(dataDir) || dataDir.split("/").includes("..")) {
        throw new ConfigError(key("dataDir"), dataDir, "expected an absolute folder on the hosts, e.g. /data");
    }

    // The activation lives as short as its renewal allows: one day more than the days kept for registering by hand.
    const rawExpiry = get("activationExpiryDays");
    const expiryCap = rawExpiry === undefined ? MAX_ACTIVATION_DAYS : wholeNumber(key("activationExpiryDays"), rawExpiry, 1, MAX_ACTIVATION_DAYS);
    const activationRenewDays = wholeNumber(key("activationRenewDays"), get("activationRenewDays") ?? Math.min(ACTIVATION_DEFAULTS.renewDays, expiryCap - 1), 0, expiryCap - 1);
    const activationExpiryDays = rawExpiry === undefined ? activationRenewDays + 1 : expiryCap;
    const activationHeadroom = wholeNumber(key("activationHeadroom"), get("activationHeadroom") ?? ACTIVATION_DEFAULTS.spare, 0, MAX_HOSTS_PER_ACTIVATION - 1);

    const installerUrl = matching(key("installerUrl"), get("installerUrl") ?? DEFAULT_INSTALLER_URL, /^https:\/\/[^\s/]+(\/\S*)?$/, `an https:// URL (the hosts fetch it over HTTPS only); the default is ${DEFAULT_INSTALLER_URL}`);
    const rawSha256 = get("installerSha256");
    if (rawSha256 === undefined && installerUrl !== DEFAULT_INSTALLER_URL) {
        throw new ConfigError(key("installerSha256"), undefined, `\`ecs-anywhere:installerUrl\` is not the default, so pin what it serves: set installerSha256 to its sha256 (\`curl --proto =https -fsSL '${installerUrl}' | sha256sum\`), or to none to skip the check`);
    }
    const installerSha256 = rawSha256 === undefined ? DEFAULT_INSTALLER_SHA256 : matching(key("installerSha256"), rawSha256, /^([0-9a-f]{64}|none)$/, "64 lower-case hex digits, as `sha256sum ecs-anywhere-install.sh` prints (or none: not checked)");
    const ecsVersion = matching(key("ecsVersion"), get("ecsVersion") ?? DEFAULT_ECS_VERSION, /^[0-9][A-Za-z0-9.+~-]*$/, `an amazon-ecs-init package version such as ${DEFAULT_ECS_VERSION}`);
    const endpointUrl = (name: "ssmEndpoint" | "ecsEndpoint", service: string): string | undefined => {
        const value = get(name);
        if (value === undefined) return undefined;
        return matching(key(name), value, /^https:\/\/[^\s/]+(\/\S*)?$/, `an https:// URL the hosts reach ${service} at, e.g. https://${service.toLowerCase()}.eu-west-1.amazonaws.com or your interface VPC endpoint's https://vpce-....${service.toLowerCase()}.eu-west-1.vpce.amazonaws.com; unset it to use the region's public endpoint`);
    };
    const ssmEndpoint = endpointUrl("ssmEndpoint", "SSM");
    const ecsEndpoint = endpointUrl("ecsEndpoint", "ECS");
    const reregister = flag(key("reregister"), get("reregister"), false);
    const ssmRemoteAccess = flag(key("ssmRemoteAccess"), get("ssmRemoteAccess"), false);

    return {
        regionStack,
        hosts,
        ...(privateKeyText === undefined ? {} : { sshPrivateKey: pulumi.secret(privateKeyText) }),
        ...(passphrase === undefined ? {} : { sshPrivateKeyPassphrase: pulumi.secret(passphrase) }),
        ...(typeof agentSocket === "string" ? { sshAgentSocket: agentSocket } : {}),
        ...(bastion === undefined ? {} : { bastion }),
        dataDir,
        activationHeadroom,
        activationExpiryDays,
        activationRenewDays,
        installerUrl,
        installerSha256,
        ecsVersion,
        reregister,
        ssmRemoteAccess,
        desiredCount: wholeNumber(key("desiredCount"), get("desiredCount") ?? hosts.length, 0, MAX_HOSTS_PER_ACTIVATION),
        logFileNames: oneOf(key("logFileNames"), get("logFileNames") ?? "hash", ["plain", "hash", "off"] as const),
        verifyTimeoutSeconds: wholeNumber(key("verifyTimeoutSeconds"), get("verifyTimeoutSeconds") ?? 300, 10, 3600),
        ...(ssmEndpoint === undefined ? {} : { ssmEndpoint }),
        ...(ecsEndpoint === undefined ? {} : { ecsEndpoint }),
    };
}
