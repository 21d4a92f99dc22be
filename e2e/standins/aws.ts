/**
 * `tsx e2e/standins/aws.ts <engine address>`: the stand-in `aws` resource plugin. It answers the
 * engine as pulumi-aws would for every resource type and function this program uses, with
 * AWS-shaped ids, ARNs, URLs and defaults, Pulumi's auto-naming, replacement rules for the
 * properties AWS cannot change in place, and the refusals AWS gives where they catch a wrong
 * program (overlapping subnets, two mount targets in one zone, a name already taken, a role
 * deleted before its policies...). Nothing leaves the machine: what is "alive" is kept in
 * `$E2E_STANDIN_STATE/aws.json` (see records.ts) and every call goes to `$E2E_CALL_LOG`.
 *
 * Account 123456789012; the region is the provider's `aws:region` (a resource's own `region`
 * wins, as in pulumi-aws v7). Ids follow pulumi-aws: a task definition's id is its family (the
 * revision is in `arn`), a cluster's and a service's their ARN, a queue's its URL, a role's and
 * a log group's their name.
 *
 * Not modelled: credentials and the AWS_REGION fallback (only `aws:region` counts), tags beyond
 * echoing them into `tagsAll`, eventual consistency and waits, what the resources do (no queue
 * holds messages, no task runs), cross-account and cross-region references, IAM policy
 * evaluation, the full validation pulumi-aws does (only what is listed in each type's
 * `required`, `json` and `refuse*`), and any type or function not in SPECS / FUNCTIONS (they
 * fail, naming themselves).
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import * as crypto from "node:crypto";
import { checkOutcome, containsUnknown, isSecret, logged, plain, plainMap, pluginVersion, secret, serve, typeOfUrn, UNKNOWN, type PropertyMap, type StandinProvider } from "./inert";
import { nameOfUrn } from "./call-log";
import { RecordStore, recordKey, type LiveRecord } from "./records";
import { deleteImages, listTags } from "./registry";

export const ACCOUNT_ID = "123456789012";
const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

// ---------------------------------------------------------------------------------------------
// Small generators and helpers

function hex(length: number): string {
    return crypto.randomBytes(Math.ceil(length / 2)).toString("hex").slice(0, length);
}

/** A new EC2/EFS-style id: `vpc-0123456789abcdef0`. */
function awsId(prefix: string): string {
    return `${prefix}-0${hex(16)}`;
}

/** An id that is always the same for the same seed (the default security group of a VPC...). */
function derivedId(prefix: string, seed: string): string {
    return `${prefix}-0${crypto.createHash("sha256").update(`${prefix}:${seed}`).digest("hex").slice(0, 16)}`;
}

function randomChars(length: number, alphabet: string): string {
    const bytes = crypto.randomBytes(length);
    return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64ISH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Terraform's `PrefixedUniqueId` suffix: a timestamp to 1/10000 s and an 8-hex-digit counter, 26 characters. */
let uniqueCounter = 0;
function uniqueSuffix(): string {
    const stamp = `${new Date().toISOString().replace(/\D/g, "").slice(0, 17)}0`;
    uniqueCounter += 1;
    return `${stamp}${uniqueCounter.toString(16).padStart(8, "0")}`;
}

/** Pulumi's auto-name: `<logical name>-<7 hex>`, the logical name cut to fit `maxLength`. */
export function autoName(logicalName: string, maxLength: number): string {
    return `${logicalName.slice(0, Math.max(1, maxLength - 8))}-${hex(7)}`;
}

const DIRECTIONS: Record<string, string> = {
    north: "n", south: "s", east: "e", west: "w", central: "c",
    northeast: "ne", northwest: "nw", southeast: "se", southwest: "sw", gov: "g",
};

/** `eu-west-1` -> `euw1`, the prefix of its zone ids (`euw1-az1`). */
function regionCode(region: string): string {
    const parts = region.split("-");
    return parts[0] + parts.slice(1, -1).map((part) => DIRECTIONS[part] ?? part[0]).join("") + parts[parts.length - 1];
}

/** `eu-west-1b` -> `euw1-az2`. */
function zoneIdOf(region: string, zone: string): string {
    const letter = zone.slice(region.length) || "a";
    return `${regionCode(region)}-az${letter.charCodeAt(0) - 96}`;
}

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

function numberToIp(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function parseCidr(cidr: unknown): { start: number; size: number } | undefined {
    if (typeof cidr !== "string") return undefined;
    const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
    if (!match) return undefined;
    const bits = Number(match[2]);
    const size = 2 ** (32 - bits);
    return { start: Math.floor(ipToNumber(match[1]) / size) * size, size };
}

/** A host address inside `cidr` that AWS could hand out (not the 4 first or the last). */
function addressIn(cidr: unknown): string {
    const range = parseCidr(cidr) ?? { start: ipToNumber("10.0.0.0"), size: 256 };
    const usable = Math.max(1, range.size - 5);
    return numberToIp(range.start + 4 + crypto.randomInt(usable));
}

/** A public address from the documentation range 203.0.113.0/24. */
function publicAddress(): string {
    return `203.0.113.${crypto.randomInt(1, 255)}`;
}

function str(value: unknown): string | undefined {
    return typeof value === "string" && value !== UNKNOWN ? value : undefined;
}

function isJson(value: unknown): boolean {
    if (typeof value !== "string") return true;
    try {
        JSON.parse(value);
        return true;
    } catch {
        return false;
    }
}

/** `recorded` with each "[secret]" the records hold replaced by the engine's value there. */
function restoreSecrets(recorded: unknown, fromEngine: unknown): unknown {
    if (recorded === "[secret]") return fromEngine;
    if (Array.isArray(recorded)) {
        const engine = plainOrWrapped(fromEngine);
        return recorded.map((item, i) => restoreSecrets(item, Array.isArray(engine) ? engine[i] : undefined));
    }
    if (typeof recorded === "object" && recorded !== null) {
        const engine = plainOrWrapped(fromEngine) as PropertyMap | undefined;
        return Object.fromEntries(
            Object.entries(recorded)
                .map(([k, v]) => [k, restoreSecrets(v, engine?.[k])] as const)
                .filter(([, v]) => v !== undefined),
        );
    }
    return recorded;
}

function plainOrWrapped(value: unknown): unknown {
    return isSecret(value) ? value.value : value;
}

function sameValue(a: unknown, b: unknown): boolean {
    const norm = (value: unknown) => JSON.stringify(plain(value ?? null));
    return norm(a) === norm(b);
}

// ---------------------------------------------------------------------------------------------
// Resource types

interface Ctx {
    readonly type: string;
    readonly urn: string;
    /** Logical name. */
    readonly name: string;
    /** Inputs as received (secrets still wrapped). */
    readonly raw: PropertyMap;
    /** Inputs without secret wrappers. */
    readonly p: PropertyMap;
    readonly region: string;
    /** Every live record of this stand-in (read on first use). */
    readonly live: () => LiveRecord[];
    readonly stateDir: string | undefined;
}

interface Spec {
    /** Fill `name` when neither it nor `namePrefix` is given. */
    readonly autoname?: { readonly maxLength: number; readonly fifo?: boolean };
    readonly required?: readonly string[];
    /** Properties that must hold a JSON document. */
    readonly json?: readonly string[];
    /** Properties that cannot change in place ("all": none can). `name`/`namePrefix`/`region` always replace. */
    readonly replaces?: readonly string[] | "all";
    /** What AWS fills in when the input is absent. */
    readonly defaults?: PropertyMap;
    /** Global (IAM): no `region` attribute. */
    readonly global?: boolean;
    /** Has `tags`/`tagsAll`. Default true. */
    readonly taggable?: boolean;
    readonly id: (ctx: Ctx) => string;
    /** Attributes AWS computes, given the new id. */
    readonly computed?: (ctx: Ctx, id: string) => PropertyMap;
    /** A refusal AWS would give to this creation, if any. */
    readonly refuseCreate?: (ctx: Ctx) => string | undefined;
    /**
     * What the records keep beside the outputs for the stand-in AWS API (aws-api.ts), never
     * returned to the engine: keys named in RECORD_ONLY.
     */
    readonly recorded?: (outputs: PropertyMap) => PropertyMap;
    /** A refusal AWS would give to deleting this resource (outputs as stored). */
    readonly refuseDelete?: (ctx: Ctx, id: string) => string | undefined | Promise<string | undefined>;
    /** What deleting it does besides forgetting it (outputs as stored). */
    readonly onDelete?: (ctx: Ctx) => Promise<void>;
}

/** Keys `Spec.recorded` adds to the records, removed from what a read returns. */
const RECORD_ONLY = ["activationCodeSha256"];

function arn(ctx: Ctx, service: string, resource: string, global = false): string {
    return `arn:aws:${service}:${global ? "" : ctx.region}:${ACCOUNT_ID}:${resource}`;
}

function liveOf(ctx: Ctx, type: string, where: (outputs: PropertyMap, record: LiveRecord) => boolean = () => true): LiveRecord[] {
    return ctx.live().filter((record) => record.type === type && where(record.outputs ?? {}, record));
}

function liveById(ctx: Ctx, type: string, id: unknown): PropertyMap | undefined {
    if (typeof id !== "string") return undefined;
    return liveOf(ctx, type, (_outputs, record) => record.id === id)[0]?.outputs;
}

/**
 * Where the stand-in ECR's repositories are: the sandbox's registry on loopback (`$E2E_REGISTRY`,
 * e2e/sandbox.sh), where the docker-build provider really pushes; without one, ECR's own host name.
 */
function registryHost(region: string): string {
    return process.env.E2E_REGISTRY ?? `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`;
}

/** The sandbox's registry a repository URL is on, if it is on one (`127.0.0.1:<port>/<name>`). */
function sandboxRegistryOf(repositoryUrl: unknown): string | undefined {
    return /^(127(?:\.\d{1,3}){3}:\d+)\//.exec(String(repositoryUrl))?.[1];
}

function sameRegion(ctx: Ctx): (outputs: PropertyMap) => boolean {
    return (outputs) => outputs.region === undefined || outputs.region === ctx.region;
}

const T = {
    queue: "aws:sqs/queue:Queue",
    repository: "aws:ecr/repository:Repository",
    lifecyclePolicy: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    vpc: "aws:ec2/vpc:Vpc",
    defaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    internetGateway: "aws:ec2/internetGateway:InternetGateway",
    routeTable: "aws:ec2/routeTable:RouteTable",
    subnet: "aws:ec2/subnet:Subnet",
    routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    route: "aws:ec2/route:Route",
    eip: "aws:ec2/eip:Eip",
    natGateway: "aws:ec2/natGateway:NatGateway",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    egressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    fileSystem: "aws:efs/fileSystem:FileSystem",
    mountTarget: "aws:efs/mountTarget:MountTarget",
    accessPoint: "aws:efs/accessPoint:AccessPoint",
    fileSystemPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    activation: "aws:ssm/activation:Activation",
    cluster: "aws:ecs/cluster:Cluster",
    taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    kmsKey: "aws:kms/key:Key",
    topic: "aws:sns/topic:Topic",
    topicSubscription: "aws:sns/topicSubscription:TopicSubscription",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
} as const;

function securityGroupRule(kind: "ingress" | "egress"): Spec {
    return {
        required: ["securityGroupId", "ipProtocol"],
        replaces: ["securityGroupId"],
        id: () => awsId("sgr"),
        computed: (ctx, id) => ({ arn: arn(ctx, "ec2", `security-group-rule/${id}`), securityGroupRuleId: id }),
        refuseCreate: (ctx) => {
            const peers = ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"].filter((k) => ctx.p[k] !== undefined && ctx.p[k] !== null);
            if (peers.length !== 1) return `InvalidParameterValue: a security group ${kind} rule needs exactly one of cidrIpv4, cidrIpv6, prefixListId, referencedSecurityGroupId (got ${peers.join(", ") || "none"})`;
            const group = str(ctx.p.securityGroupId);
            if (group && ctx.stateDir && !liveById(ctx, T.securityGroup, group) && !liveById(ctx, T.defaultSecurityGroup, group)) {
                return `InvalidGroup.NotFound: The security group '${group}' does not exist`;
            }
            return undefined;
        },
    };
}

function clusterName(value: unknown): string {
    const text = str(value) ?? "default";
    return text.includes(":cluster/") ? text.slice(text.indexOf(":cluster/") + ":cluster/".length) : text;
}

const SPECS: Record<string, Spec> = {
    [T.queue]: {
        autoname: { maxLength: 80, fifo: true },
        json: ["policy", "redrivePolicy", "redriveAllowPolicy"],
        replaces: ["fifoQueue"],
        defaults: {
            delaySeconds: 0,
            maxMessageSize: 262144,
            messageRetentionSeconds: 345600,
            receiveWaitTimeSeconds: 0,
            visibilityTimeoutSeconds: 30,
            fifoQueue: false,
            contentBasedDeduplication: false,
            kmsDataKeyReusePeriodSeconds: 300,
            kmsMasterKeyId: "",
            sqsManagedSseEnabled: true,
            policy: "",
            redrivePolicy: "",
            redriveAllowPolicy: "",
            deduplicationScope: "",
            fifoThroughputLimit: "",
        },
        id: (ctx) => `https://sqs.${ctx.region}.amazonaws.com/${ACCOUNT_ID}/${str(ctx.p.name)}`,
        computed: (ctx, id) => ({ arn: arn(ctx, "sqs", String(ctx.p.name)), url: id }),
        refuseCreate: (ctx) => {
            const name = String(ctx.p.name);
            if (ctx.p.fifoQueue === true && !name.endsWith(".fifo")) return `InvalidParameterValue: the name of a FIFO queue must end with .fifo (got ${name})`;
            if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name) || name.length > 80) return `InvalidParameterValue: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length (got ${name})`;
            const redrive = str(ctx.p.redrivePolicy);
            if (redrive) {
                const target = (JSON.parse(redrive) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
                if (ctx.stateDir && target && !liveOf(ctx, T.queue, (o) => o.arn === target).length) return `InvalidParameterValue: Value ${redrive} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`;
            }
            if (liveOf(ctx, T.queue, (o) => o.name === name && sameRegion(ctx)(o)).length) return `QueueAlreadyExists: A queue already exists with the same name and a different value for attribute(s): ${name}`;
            return undefined;
        },
    },
    [T.repository]: {
        autoname: { maxLength: 256 },
        replaces: ["encryptionConfigurations"],
        defaults: { imageTagMutability: "MUTABLE", forceDelete: false, encryptionConfigurations: [{ encryptionType: "AES256", kmsKey: "" }], imageScanningConfiguration: { scanOnPush: false }, imageTagMutabilityExclusionFilters: [] },
        id: (ctx) => String(ctx.p.name),
        computed: (ctx) => ({
            arn: arn(ctx, "ecr", `repository/${String(ctx.p.name)}`),
            registryId: ACCOUNT_ID,
            repositoryUrl: `${registryHost(ctx.region)}/${String(ctx.p.name)}`,
        }),
        refuseCreate: (ctx) =>
            liveOf(ctx, T.repository, (o) => o.name === ctx.p.name && sameRegion(ctx)(o)).length
                ? `RepositoryAlreadyExistsException: The repository with name '${String(ctx.p.name)}' already exists in the registry with id '${ACCOUNT_ID}'`
                : undefined,
        refuseDelete: async (ctx) => {
            if (ctx.p.forceDelete === true) return undefined;
            const registry = sandboxRegistryOf(ctx.p.repositoryUrl);
            return registry && (await listTags(registry, String(ctx.p.name))).length
                ? `RepositoryNotEmptyException: The repository with name '${String(ctx.p.name)}' in registry with id '${ACCOUNT_ID}' cannot be deleted because it still contains images`
                : undefined;
        },
        // forceDelete: ECR deletes the repository's images with it.
        onDelete: async (ctx) => {
            const registry = sandboxRegistryOf(ctx.p.repositoryUrl);
            if (registry) await deleteImages(registry, String(ctx.p.name));
        },
    },
    [T.lifecyclePolicy]: {
        required: ["repository", "policy"],
        json: ["policy"],
        taggable: false,
        replaces: ["repository"],
        id: (ctx) => String(ctx.p.repository),
        computed: () => ({ registryId: ACCOUNT_ID }),
        refuseCreate: (ctx) =>
            ctx.stateDir && !liveOf(ctx, T.repository, (o) => o.name === ctx.p.repository).length
                ? `RepositoryNotFoundException: The repository with name '${String(ctx.p.repository)}' does not exist in the registry with id '${ACCOUNT_ID}'`
                : undefined,
    },
    [T.logGroup]: {
        autoname: { maxLength: 512 },
        defaults: { retentionInDays: 0, skipDestroy: false, logGroupClass: "STANDARD", kmsKeyId: "", deletionProtectionEnabled: false },
        replaces: ["logGroupClass"],
        id: (ctx) => String(ctx.p.name),
        computed: (ctx) => ({ arn: arn(ctx, "logs", `log-group:${String(ctx.p.name)}`) }),
        refuseCreate: (ctx) =>
            liveOf(ctx, T.logGroup, (o) => o.name === ctx.p.name && sameRegion(ctx)(o)).length ? `ResourceAlreadyExistsException: The specified log group already exists: ${String(ctx.p.name)}` : undefined,
    },
    [T.metricAlarm]: {
        autoname: { maxLength: 255 },
        defaults: { actionsEnabled: true, alarmActions: [], okActions: [], insufficientDataActions: [], datapointsToAlarm: 0, treatMissingData: "missing", alarmDescription: "", dimensions: {} },
        id: (ctx) => String(ctx.p.name),
        computed: (ctx) => ({ arn: arn(ctx, "cloudwatch", `alarm:${String(ctx.p.name)}`) }),
    },
    [T.vpc]: {
        replaces: ["cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"],
        defaults: {
            instanceTenancy: "default",
            enableDnsSupport: true,
            enableDnsHostnames: false,
            enableNetworkAddressUsageMetrics: false,
            assignGeneratedIpv6CidrBlock: false,
            ipv6CidrBlock: "",
            ipv6AssociationId: "",
            ipv6CidrBlockNetworkBorderGroup: "",
        },
        id: () => awsId("vpc"),
        computed: (ctx, id) => ({
            arn: arn(ctx, "ec2", `vpc/${id}`),
            defaultSecurityGroupId: derivedId("sg", id),
            defaultRouteTableId: derivedId("rtb", id),
            mainRouteTableId: derivedId("rtb", id),
            defaultNetworkAclId: derivedId("acl", id),
            dhcpOptionsId: derivedId("dopt", ctx.region),
            ownerId: ACCOUNT_ID,
        }),
        refuseCreate: (ctx) => {
            const range = parseCidr(ctx.p.cidrBlock);
            if (ctx.p.cidrBlock !== undefined && (!range || range.size > 65536 || range.size < 16)) return `InvalidVpc.Range: The CIDR '${String(ctx.p.cidrBlock)}' is invalid (a VPC is /16 to /28)`;
            return undefined;
        },
        refuseDelete: (ctx, id) => {
            const dependents = ctx
                .live()
                .filter((record) => record.type !== T.defaultSecurityGroup && record.type !== T.vpc && (record.outputs ?? {}).vpcId === id);
            return dependents.length ? `DependencyViolation: The vpc '${id}' has dependencies and cannot be deleted (${dependents.map((d) => d.name).join(", ")})` : undefined;
        },
    },
    [T.defaultSecurityGroup]: {
        replaces: ["vpcId"],
        defaults: { ingress: [], egress: [], revokeRulesOnDelete: false },
        id: (ctx) => derivedId("sg", String(ctx.p.vpcId ?? ctx.region)),
        computed: (ctx, id) => ({ arn: arn(ctx, "ec2", `security-group/${id}`), name: "default", description: "default VPC security group", ownerId: ACCOUNT_ID }),
    },
    [T.internetGateway]: {
        id: () => awsId("igw"),
        computed: (ctx, id) => ({ arn: arn(ctx, "ec2", `internet-gateway/${id}`), ownerId: ACCOUNT_ID }),
    },
    [T.routeTable]: {
        required: ["vpcId"],
        replaces: ["vpcId"],
        defaults: { routes: [], propagatingVgws: [] },
        id: () => awsId("rtb"),
        computed: (ctx, id) => ({ arn: arn(ctx, "ec2", `route-table/${id}`), ownerId: ACCOUNT_ID }),
    },
    [T.subnet]: {
        required: ["vpcId"],
        replaces: ["cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId", "ipv6Native", "outpostArn"],
        defaults: {
            assignIpv6AddressOnCreation: false,
            mapPublicIpOnLaunch: false,
            mapCustomerOwnedIpOnLaunch: false,
            enableDns64: false,
            ipv6Native: false,
            enableResourceNameDnsARecordOnLaunch: false,
            enableResourceNameDnsAaaaRecordOnLaunch: false,
            privateDnsHostnameTypeOnLaunch: "ip-name",
            ipv6CidrBlock: "",
            ipv6CidrBlockAssociationId: "",
            customerOwnedIpv4Pool: "",
            outpostArn: "",
        },
        id: () => awsId("subnet"),
        computed: (ctx, id) => {
            const zone = str(ctx.p.availabilityZone) ?? `${ctx.region}a`;
            return { arn: arn(ctx, "ec2", `subnet/${id}`), availabilityZone: zone, availabilityZoneId: zoneIdOf(ctx.region, zone), ownerId: ACCOUNT_ID };
        },
        refuseCreate: (ctx) => {
            const cidr = String(ctx.p.cidrBlock);
            const range = parseCidr(ctx.p.cidrBlock);
            if (!range || range.size > 65536 || range.size < 16) return `InvalidSubnet.Range: The CIDR '${cidr}' is invalid.`;
            const zone = str(ctx.p.availabilityZone);
            if (zone && !/^[a-z]$/.test(zone.slice(ctx.region.length)) ) return `InvalidParameterValue: Value (${zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${["a", "b", "c"].map((l) => ctx.region + l).join(", ")}.`;
            const vpc = liveById(ctx, T.vpc, ctx.p.vpcId);
            if (ctx.stateDir && !vpc) return `InvalidVpcID.NotFound: The vpc ID '${String(ctx.p.vpcId)}' does not exist`;
            const vpcRange = parseCidr(vpc?.cidrBlock);
            if (vpcRange && (range.start < vpcRange.start || range.start + range.size > vpcRange.start + vpcRange.size)) return `InvalidSubnet.Range: The CIDR '${cidr}' is invalid.`;
            const overlapping = liveOf(ctx, T.subnet, (o) => {
                const other = parseCidr(o.cidrBlock);
                return o.vpcId === ctx.p.vpcId && other !== undefined && other.start < range.start + range.size && range.start < other.start + other.size;
            });
            return overlapping.length ? `InvalidSubnet.Conflict: The CIDR '${cidr}' conflicts with another subnet (${overlapping.map((s) => s.name).join(", ")})` : undefined;
        },
        refuseDelete: (ctx, id) => {
            const dependents = ctx.live().filter((record) => {
                const o = record.outputs ?? {};
                return record.type !== T.routeTableAssociation && (o.subnetId === id || (Array.isArray(o.subnetIds) && o.subnetIds.includes(id)));
            });
            return dependents.length ? `DependencyViolation: The subnet '${id}' has dependencies and cannot be deleted (${dependents.map((d) => d.name).join(", ")})` : undefined;
        },
    },
    [T.routeTableAssociation]: {
        required: ["routeTableId"],
        taggable: false,
        replaces: ["subnetId", "gatewayId"],
        id: () => awsId("rtbassoc"),
    },
    [T.route]: {
        required: ["routeTableId"],
        taggable: false,
        replaces: ["routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"],
        // pulumi-aws: `r-<route table id><hash of the destination>`.
        id: (ctx) => `r-${String(ctx.p.routeTableId)}${crypto.createHash("sha256").update(String(ctx.p.destinationCidrBlock ?? ctx.p.destinationIpv6CidrBlock ?? "")).digest().readUInt32BE(0)}`,
        computed: () => ({ origin: "CreateRoute", state: "active", instanceOwnerId: "" }),
        refuseCreate: (ctx) => {
            const targets = ["gatewayId", "natGatewayId", "transitGatewayId", "vpcPeeringConnectionId", "networkInterfaceId", "vpcEndpointId", "egressOnlyGatewayId", "carrierGatewayId", "localGatewayId", "coreNetworkArn"].filter((k) => ctx.p[k] !== undefined && ctx.p[k] !== null && ctx.p[k] !== "");
            if (targets.length !== 1) return `InvalidParameterCombination: a route needs exactly one target (got ${targets.join(", ") || "none"})`;
            const table = str(ctx.p.routeTableId);
            if (table && ctx.stateDir && !liveById(ctx, T.routeTable, table)) return `InvalidRouteTableID.NotFound: The routeTable ID '${table}' does not exist`;
            return undefined;
        },
    },
    [T.eip]: {
        replaces: ["domain", "address", "customerOwnedIpv4Pool", "networkBorderGroup", "publicIpv4Pool", "ipamPoolId"],
        defaults: { domain: "vpc", publicIpv4Pool: "amazon", associateWithPrivateIp: "", customerOwnedIpv4Pool: "", instance: "", networkInterface: "" },
        id: () => awsId("eipalloc"),
        computed: (ctx, id) => {
            const ip = publicAddress();
            const host = ctx.region === "us-east-1" ? "compute-1.amazonaws.com" : `${ctx.region}.compute.amazonaws.com`;
            return {
                allocationId: id,
                arn: arn(ctx, "ec2", `elastic-ip/${id}`),
                publicIp: ip,
                publicDns: `ec2-${ip.replace(/\./g, "-")}.${host}`,
                networkBorderGroup: ctx.region,
                associationId: "",
                carrierIp: "",
                customerOwnedIp: "",
                privateDns: "",
                privateIp: "",
                ptrRecord: "",
            };
        },
    },
    [T.natGateway]: {
        required: ["subnetId"],
        replaces: "all",
        defaults: { connectivityType: "public", secondaryAllocationIds: [], secondaryPrivateIpAddressCount: 0, secondaryPrivateIpAddresses: [] },
        id: () => awsId("nat"),
        computed: (ctx) => {
            const subnet = liveById(ctx, T.subnet, ctx.p.subnetId);
            const eip = liveById(ctx, T.eip, ctx.p.allocationId);
            return {
                networkInterfaceId: awsId("eni"),
                privateIp: addressIn(subnet?.cidrBlock),
                publicIp: ctx.p.connectivityType === "private" ? "" : String(eip?.publicIp ?? publicAddress()),
                associationId: ctx.p.allocationId ? awsId("eipassoc") : "",
                vpcId: String(subnet?.vpcId ?? ""),
            };
        },
        refuseCreate: (ctx) =>
            ctx.p.connectivityType !== "private" && ctx.p.allocationId === undefined ? "MissingParameter: A public NAT gateway needs an Elastic IP allocation (allocationId)" : undefined,
    },
    [T.securityGroup]: {
        autoname: { maxLength: 255 },
        replaces: ["description", "vpcId"],
        defaults: { description: "Managed by Pulumi", ingress: [], egress: [], revokeRulesOnDelete: false },
        id: () => awsId("sg"),
        computed: (ctx, id) => ({ arn: arn(ctx, "ec2", `security-group/${id}`), ownerId: ACCOUNT_ID }),
        refuseCreate: (ctx) =>
            liveOf(ctx, T.securityGroup, (o) => o.name === ctx.p.name && o.vpcId === ctx.p.vpcId).length
                ? `InvalidGroup.Duplicate: The security group '${String(ctx.p.name)}' already exists for VPC '${String(ctx.p.vpcId)}'`
                : undefined,
        refuseDelete: (ctx, id) => {
            const users = ctx.live().filter((record) => {
                const o = record.outputs ?? {};
                const lists = [o.securityGroups, (o.networkConfiguration as PropertyMap | undefined)?.securityGroups];
                return (record.type !== T.egressRule && record.type !== T.ingressRule && o.securityGroupId === id) || o.referencedSecurityGroupId === id || lists.some((l) => Array.isArray(l) && l.includes(id));
            });
            return users.length ? `DependencyViolation: resource ${id} has a dependent object (${users.map((u) => u.name).join(", ")})` : undefined;
        },
    },
    [T.egressRule]: securityGroupRule("egress"),
    [T.ingressRule]: securityGroupRule("ingress"),
    [T.fileSystem]: {
        replaces: ["creationToken", "encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName"],
        defaults: { encrypted: false, performanceMode: "generalPurpose", throughputMode: "bursting", provisionedThroughputInMibps: 0, lifecyclePolicies: [], availabilityZoneId: "", availabilityZoneName: "", protection: { replicationOverwrite: "ENABLED" } },
        id: () => awsId("fs"),
        computed: (ctx, id) => ({
            arn: arn(ctx, "elasticfilesystem", `file-system/${id}`),
            dnsName: `${id}.efs.${ctx.region}.amazonaws.com`,
            creationToken: str(ctx.p.creationToken) ?? `terraform-${uniqueSuffix()}`,
            kmsKeyId: str(ctx.p.kmsKeyId) ?? (ctx.p.encrypted === true ? arn(ctx, "kms", `key/${crypto.randomUUID()}`) : ""),
            name: "",
            numberOfMountTargets: 0,
            ownerId: ACCOUNT_ID,
            sizeInBytes: [{ value: 6144, valueInIa: 0, valueInStandard: 6144 }],
        }),
        refuseDelete: (ctx, id) => {
            const users = liveOf(ctx, T.mountTarget, (o) => o.fileSystemId === id);
            return users.length ? `FileSystemInUse: File system '${id}' has mount targets (${users.map((u) => u.name).join(", ")})` : undefined;
        },
    },
    [T.mountTarget]: {
        required: ["fileSystemId", "subnetId"],
        taggable: false,
        replaces: "all",
        defaults: { ipAddressType: "IPV4_ONLY", ipv6Address: "" },
        id: () => awsId("fsmt"),
        computed: (ctx) => {
            const subnet = liveById(ctx, T.subnet, ctx.p.subnetId);
            const zone = String(subnet?.availabilityZone ?? `${ctx.region}a`);
            const fs = String(ctx.p.fileSystemId);
            const defaultGroup = subnet?.vpcId ? derivedId("sg", String(subnet.vpcId)) : awsId("sg");
            return {
                fileSystemArn: arn(ctx, "elasticfilesystem", `file-system/${fs}`),
                dnsName: `${fs}.efs.${ctx.region}.amazonaws.com`,
                mountTargetDnsName: `${zone}.${fs}.efs.${ctx.region}.amazonaws.com`,
                availabilityZoneName: zone,
                availabilityZoneId: zoneIdOf(ctx.region, zone),
                ipAddress: str(ctx.p.ipAddress) ?? addressIn(subnet?.cidrBlock),
                networkInterfaceId: awsId("eni"),
                ownerId: ACCOUNT_ID,
                ...(ctx.p.securityGroups === undefined ? { securityGroups: [defaultGroup] } : {}),
            };
        },
        refuseCreate: (ctx) => {
            if (ctx.stateDir && !liveById(ctx, T.fileSystem, ctx.p.fileSystemId)) return `FileSystemNotFound: File system '${String(ctx.p.fileSystemId)}' does not exist.`;
            const subnet = liveById(ctx, T.subnet, ctx.p.subnetId);
            if (ctx.stateDir && !subnet) return `SubnetNotFound: The subnet ID '${String(ctx.p.subnetId)}' does not exist`;
            const zone = subnet?.availabilityZone;
            const taken = liveOf(ctx, T.mountTarget, (o) => o.fileSystemId === ctx.p.fileSystemId && zone !== undefined && o.availabilityZoneName === zone);
            return taken.length ? `MountTargetConflict: mount target already exists in this AZ (${String(zone)}: ${taken.map((t) => t.name).join(", ")})` : undefined;
        },
    },
    [T.accessPoint]: {
        required: ["fileSystemId"],
        replaces: ["fileSystemId", "posixUser", "rootDirectory"],
        defaults: { rootDirectory: { path: "/" } },
        id: () => awsId("fsap"),
        computed: (ctx, id) => ({
            arn: arn(ctx, "elasticfilesystem", `access-point/${id}`),
            fileSystemArn: arn(ctx, "elasticfilesystem", `file-system/${String(ctx.p.fileSystemId)}`),
            ownerId: ACCOUNT_ID,
        }),
        refuseCreate: (ctx) =>
            ctx.stateDir && !liveById(ctx, T.fileSystem, ctx.p.fileSystemId) ? `FileSystemNotFound: File system '${String(ctx.p.fileSystemId)}' does not exist.` : undefined,
    },
    [T.fileSystemPolicy]: {
        required: ["fileSystemId", "policy"],
        json: ["policy"],
        taggable: false,
        replaces: ["fileSystemId"],
        defaults: { bypassPolicyLockoutSafetyCheck: false },
        id: (ctx) => String(ctx.p.fileSystemId),
    },
    [T.role]: {
        autoname: { maxLength: 64 },
        required: ["assumeRolePolicy"],
        json: ["assumeRolePolicy"],
        global: true,
        replaces: ["path"],
        defaults: { path: "/", maxSessionDuration: 3600, forceDetachPolicies: false, description: "", permissionsBoundary: "", managedPolicyArns: [], inlinePolicies: [] },
        id: (ctx) => String(ctx.p.name),
        computed: (ctx) => ({
            arn: arn(ctx, "iam", `role${str(ctx.p.path) ?? "/"}${String(ctx.p.name)}`, true),
            uniqueId: `AROA${randomChars(17, UPPER_ALNUM)}`,
            createDate: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        }),
        refuseCreate: (ctx) => {
            const name = String(ctx.p.name);
            if (!/^[\w+=,.@-]{1,64}$/.test(name)) return `ValidationError: The specified value for roleName is invalid (${name}): 1-64 of letters, digits and +=,.@_-`;
            return liveOf(ctx, T.role, (o) => o.name === name).length ? `EntityAlreadyExists: Role with name ${name} already exists.` : undefined;
        },
        refuseDelete: (ctx, id) => {
            if (ctx.p.forceDetachPolicies === true) return undefined;
            const attached = ctx.live().filter((r) => (r.type === T.rolePolicy || r.type === T.rolePolicyAttachment) && (r.outputs ?? {}).role === id);
            return attached.length ? `DeleteConflict: Cannot delete entity, must delete policies first (${attached.map((a) => a.name).join(", ")}).` : undefined;
        },
    },
    [T.rolePolicy]: {
        autoname: { maxLength: 128 },
        required: ["role", "policy"],
        json: ["policy"],
        global: true,
        taggable: false,
        replaces: ["role"],
        id: (ctx) => `${String(ctx.p.role)}:${String(ctx.p.name)}`,
        refuseCreate: (ctx) => (ctx.stateDir && !liveOf(ctx, T.role, (o) => o.name === ctx.p.role).length ? `NoSuchEntity: The role with name ${String(ctx.p.role)} cannot be found.` : undefined),
    },
    [T.rolePolicyAttachment]: {
        required: ["role", "policyArn"],
        global: true,
        taggable: false,
        replaces: "all",
        id: (ctx) => `${String(ctx.p.role)}-${uniqueSuffix()}`,
        refuseCreate: (ctx) => {
            const policy = String(ctx.p.policyArn);
            if (!/^arn:aws:iam::(aws|\d{12}):policy\/.+/.test(policy)) return `InvalidInput: ARN ${policy} is not valid.`;
            return ctx.stateDir && !liveOf(ctx, T.role, (o) => o.name === ctx.p.role).length ? `NoSuchEntity: The role with name ${String(ctx.p.role)} cannot be found.` : undefined;
        },
    },
    [T.activation]: {
        required: ["iamRole"],
        replaces: "all",
        defaults: { registrationLimit: 1, description: "" },
        id: () => crypto.randomUUID(),
        computed: (ctx) => ({
            // Returned once, at creation, and only ever as a secret.
            activationCode: secret(randomChars(20, BASE64ISH)),
            expirationDate: str(ctx.p.expirationDate) ?? new Date(Date.now() + 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
            expired: false,
            registrationCount: 0,
        }),
        // SSM checks the code hosts register with: the stand-in API checks its digest (the records hold no secret).
        recorded: (outputs) => ({ activationCodeSha256: crypto.createHash("sha256").update(String(plain(outputs.activationCode))).digest("hex") }),
        refuseCreate: (ctx) => {
            const limit = ctx.p.registrationLimit;
            if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000)) {
                return `ValidationException: 1 validation error detected: Value '${String(limit)}' at 'registrationLimit' failed to satisfy constraint: Member must have value between 1 and 1000`;
            }
            const expires = str(ctx.p.expirationDate);
            if (expires !== undefined) {
                const time = Date.parse(expires);
                if (Number.isNaN(time)) return `ValidationException: expirationDate '${expires}' is not an RFC 3339 time`;
                if (time <= Date.now() || time > Date.now() + 30 * 24 * 3600 * 1000 + 60_000) return `ValidationException: Activation expiration date must be in the future and not more than 30 days away (got ${expires})`;
            }
            return ctx.stateDir && !liveOf(ctx, T.role, (o) => o.name === ctx.p.iamRole).length ? `InvalidParameters: IAM role ${String(ctx.p.iamRole)} does not exist` : undefined;
        },
    },
    [T.cluster]: {
        autoname: { maxLength: 255 },
        defaults: { settings: [{ name: "containerInsights", value: "disabled" }], serviceConnectDefaults: null, configuration: null },
        id: (ctx) => arn(ctx, "ecs", `cluster/${String(ctx.p.name)}`),
        computed: (_ctx, id) => ({ arn: id }),
        refuseDelete: (ctx, id) => {
            const services = liveOf(ctx, T.service, (o) => o.cluster === id || o.cluster === ctx.p.name);
            return services.length ? `ClusterContainsServicesException: The Cluster cannot be deleted while Services are active (${services.map((s) => s.name).join(", ")}).` : undefined;
        },
    },
    [T.taskDefinition]: {
        required: ["family", "containerDefinitions"],
        json: ["containerDefinitions"],
        replaces: "all",
        defaults: { networkMode: "bridge", trackLatest: false, skipDestroy: false, requiresCompatibilities: [], volumes: [], placementConstraints: [], enableFaultInjection: false, ipcMode: "", pidMode: "", executionRoleArn: "", taskRoleArn: "" },
        // As pulumi-aws (and Terraform's provider) do: the id is the family, the ARN names the revision.
        id: (ctx) => String(ctx.p.family),
        computed: (ctx) => {
            const family = String(ctx.p.family);
            const revisions = liveOf(ctx, T.taskDefinition, (o) => o.family === family && sameRegion(ctx)(o)).map((r) => Number((r.outputs ?? {}).revision) || 0);
            const revision = Math.max(0, ...revisions) + 1;
            const base = arn(ctx, "ecs", `task-definition/${family}`);
            return { arn: `${base}:${revision}`, arnWithoutRevision: base, revision };
        },
        refuseCreate: (ctx) => {
            const definitions = JSON.parse(String(ctx.p.containerDefinitions)) as unknown;
            if (!Array.isArray(definitions) || definitions.length === 0) return "ClientException: Container definitions must be a non-empty JSON array.";
            for (const definition of definitions as PropertyMap[]) {
                if (!definition.name) return "ClientException: Container.name should not be null or empty.";
                if (!definition.image) return "ClientException: Container.image should not be null or empty.";
            }
            const compatibilities = Array.isArray(ctx.p.requiresCompatibilities) ? (ctx.p.requiresCompatibilities as string[]) : [];
            const mode = ctx.p.networkMode ?? "bridge";
            if (compatibilities.includes("FARGATE")) {
                if (mode !== "awsvpc") return "ClientException: Fargate only supports network mode 'awsvpc'.";
                if (ctx.p.cpu === undefined || ctx.p.memory === undefined) return "ClientException: Fargate requires that 'cpu' and 'memory' be defined at the task level.";
            }
            if (compatibilities.includes("EXTERNAL") && mode === "awsvpc") return "ClientException: Tasks using the EXTERNAL launch type support the bridge, host and none network modes only.";
            return undefined;
        },
    },
    [T.service]: {
        autoname: { maxLength: 255 },
        replaces: ["cluster", "launchType", "schedulingStrategy", "deploymentController", "iamRole"],
        defaults: {
            schedulingStrategy: "REPLICA",
            desiredCount: 0,
            deploymentMaximumPercent: 200,
            deploymentMinimumHealthyPercent: 100,
            deploymentController: { type: "ECS" },
            enableEcsManagedTags: false,
            enableExecuteCommand: false,
            healthCheckGracePeriodSeconds: 0,
            iamRole: "",
            propagateTags: "NONE",
            platformVersion: "",
            triggers: {},
            waitForSteadyState: false,
            availabilityZoneRebalancing: "DISABLED",
        },
        id: (ctx) => arn(ctx, "ecs", `service/${clusterName(ctx.p.cluster)}/${String(ctx.p.name)}`),
        computed: (ctx, id) => ({ arn: id, ...(ctx.p.cluster === undefined ? { cluster: arn(ctx, "ecs", "cluster/default") } : {}) }),
        refuseCreate: (ctx) => {
            const cluster = clusterName(ctx.p.cluster);
            if (ctx.stateDir && !liveOf(ctx, T.cluster, (o) => o.name === cluster && sameRegion(ctx)(o)).length) return "ClusterNotFoundException: Cluster not found.";
            const definitionArn = str(ctx.p.taskDefinition);
            const definition = definitionArn ? liveOf(ctx, T.taskDefinition, (o) => o.arn === definitionArn || o.family === definitionArn || o.arnWithoutRevision === definitionArn)[0]?.outputs : undefined;
            if (ctx.stateDir && definitionArn && !definition) return `ClientException: TaskDefinition not found (${definitionArn}).`;
            const mode = definition?.networkMode;
            if (mode === "awsvpc" && !ctx.p.networkConfiguration) return "InvalidParameterException: Network Configuration must be provided when networkMode 'awsvpc' is specified.";
            if (mode !== undefined && mode !== "awsvpc" && ctx.p.networkConfiguration) return "InvalidParameterException: Network Configuration is not valid for the given networkMode of this task definition.";
            const compatibilities = Array.isArray(definition?.requiresCompatibilities) ? (definition.requiresCompatibilities as string[]) : undefined;
            const launchType = str(ctx.p.launchType);
            if (launchType && compatibilities && !compatibilities.includes(launchType)) return `InvalidParameterException: Task definition does not support launch_type ${launchType}.`;
            const taken = liveOf(ctx, T.service, (o) => o.name === ctx.p.name && clusterName(o.cluster) === cluster && sameRegion(ctx)(o));
            return taken.length ? "InvalidParameterException: Creation of service was not idempotent." : undefined;
        },
    },
    [T.kmsKey]: {
        json: ["policy"],
        replaces: ["customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId", "customKeyStoreId"],
        defaults: {
            keyUsage: "ENCRYPT_DECRYPT",
            customerMasterKeySpec: "SYMMETRIC_DEFAULT",
            isEnabled: true,
            enableKeyRotation: false,
            multiRegion: false,
            bypassPolicyLockoutSafetyCheck: false,
            description: "",
        },
        id: () => crypto.randomUUID(),
        computed: (ctx, id) => ({ arn: arn(ctx, "kms", `key/${id}`), keyId: id }),
        refuseCreate: (ctx) => {
            const days = ctx.p.deletionWindowInDays;
            if (days !== undefined && (typeof days !== "number" || days < 7 || days > 30)) return `ValidationException: deletionWindowInDays must be from 7 to 30 (got ${String(days)})`;
            const rotation = ctx.p.rotationPeriodInDays;
            if (rotation !== undefined && ctx.p.enableKeyRotation !== true) return "ValidationException: rotationPeriodInDays needs enableKeyRotation";
            return undefined;
        },
    },
    [T.topic]: {
        autoname: { maxLength: 256 },
        json: ["policy", "deliveryPolicy"],
        id: (ctx) => arn(ctx, "sns", String(ctx.p.name)),
        computed: (_ctx, id) => ({ arn: id, owner: ACCOUNT_ID, fifoTopic: false, contentBasedDeduplication: false }),
    },
    [T.topicSubscription]: {
        required: ["topic", "protocol", "endpoint"],
        taggable: false,
        replaces: ["topic", "protocol", "endpoint"],
        id: (ctx) => `${String(ctx.p.topic)}:${crypto.randomUUID()}`,
        computed: (ctx, id) => ({ arn: id, ownerId: ACCOUNT_ID, confirmationWasAuthenticated: false, pendingConfirmation: ["email", "email-json", "http", "https"].includes(String(ctx.p.protocol)) }),
    },
    [T.scalingTarget]: {
        required: ["maxCapacity", "minCapacity", "resourceId", "scalableDimension", "serviceNamespace"],
        replaces: ["resourceId", "scalableDimension", "serviceNamespace"],
        id: (ctx) => String(ctx.p.resourceId),
        computed: (ctx) => ({ arn: arn(ctx, "application-autoscaling", `scalable-target/0${hex(31)}`), roleArn: arn(ctx, "iam", "role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService", true) }),
    },
    [T.scalingPolicy]: {
        autoname: { maxLength: 255 },
        required: ["resourceId", "scalableDimension", "serviceNamespace"],
        taggable: false,
        replaces: ["resourceId", "scalableDimension", "serviceNamespace"],
        defaults: { policyType: "StepScaling" },
        id: (ctx) => String(ctx.p.name),
        computed: (ctx) => ({
            arn: arn(ctx, "autoscaling", `scalingPolicy:${crypto.randomUUID()}:resource/${String(ctx.p.serviceNamespace)}/${String(ctx.p.resourceId)}:policyName/${String(ctx.p.name)}`),
            alarmArns: [],
        }),
    },
};

/** The resource types the stand-in knows. */
export const KNOWN_TYPES: readonly string[] = Object.keys(SPECS);

// ---------------------------------------------------------------------------------------------
// Functions (invokes)

function availabilityZones(region: string): { names: string[]; zoneIds: string[] } {
    const names = ["a", "b", "c"].map((letter) => `${region}${letter}`);
    return { names, zoneIds: names.map((zone) => zoneIdOf(region, zone)) };
}

function asList(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Terraform's rendering: a one-element list becomes a plain string. */
function oneOrMany(values: string[]): string | string[] {
    return values.length === 1 ? values[0] : values;
}

function renderPolicyDocument(args: PropertyMap): PropertyMap {
    const statements = (Array.isArray(args.statements) ? args.statements : []) as PropertyMap[];
    const principals = (list: unknown) => {
        const result: Record<string, string | string[]> = {};
        for (const principal of (Array.isArray(list) ? list : []) as PropertyMap[]) {
            const type = String(principal.type);
            if (type === "*") return "*";
            result[type] = oneOrMany(asList(principal.identifiers));
        }
        return result;
    };
    const document = {
        Version: String(args.version ?? "2012-10-17"),
        ...(args.policyId ? { Id: String(args.policyId) } : {}),
        Statement: statements.map((statement) => {
            const conditions: Record<string, Record<string, string | string[]>> = {};
            for (const condition of (Array.isArray(statement.conditions) ? statement.conditions : []) as PropertyMap[]) {
                const test = String(condition.test);
                conditions[test] = { ...(conditions[test] ?? {}), [String(condition.variable)]: oneOrMany(asList(condition.values)) };
            }
            const rendered: PropertyMap = {};
            if (statement.sid) rendered.Sid = statement.sid;
            rendered.Effect = statement.effect ?? "Allow";
            if (statement.actions) rendered.Action = oneOrMany(asList(statement.actions));
            if (statement.notActions) rendered.NotAction = oneOrMany(asList(statement.notActions));
            if (statement.resources) rendered.Resource = oneOrMany(asList(statement.resources));
            if (statement.notResources) rendered.NotResource = oneOrMany(asList(statement.notResources));
            if (statement.principals) rendered.Principal = principals(statement.principals);
            if (statement.notPrincipals) rendered.NotPrincipal = principals(statement.notPrincipals);
            if (Object.keys(conditions).length) rendered.Condition = conditions;
            return rendered;
        }),
    };
    const json = JSON.stringify(document, null, 2);
    return { ...args, id: String(crypto.createHash("sha256").update(json).digest("hex").slice(0, 10)), json, minifiedJson: JSON.stringify(document) };
}

const REGION_NAMES: Record<string, string> = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-north-1": "Europe (Stockholm)",
};

type Invoke = (args: PropertyMap, region: string) => PropertyMap;

const FUNCTIONS: Record<string, Invoke> = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": (args, region) => {
        const zones = availabilityZones(region);
        const excluded = new Set([...asList(args.excludeNames), ...asList(args.excludeZoneIds)]);
        const keep = zones.names.map((_, i) => !excluded.has(zones.names[i]) && !excluded.has(zones.zoneIds[i]));
        return { ...args, id: region, region, names: zones.names.filter((_, i) => keep[i]), zoneIds: zones.zoneIds.filter((_, i) => keep[i]), groupNames: [region] };
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": (args, region) => {
        const registryId = str(args.registryId) ?? ACCOUNT_ID;
        const password = randomChars(64, BASE64ISH);
        return {
            ...args,
            id: region,
            region,
            registryId,
            userName: "AWS",
            password: secret(password),
            authorizationToken: secret(Buffer.from(`AWS:${password}`).toString("base64")),
            proxyEndpoint: process.env.E2E_REGISTRY ? `http://${process.env.E2E_REGISTRY}` : `https://${registryId}.dkr.ecr.${region}.amazonaws.com`,
            expiresAt: new Date(Date.now() + 12 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        };
    },
    "aws:index/getRegion:getRegion": (args, region) => {
        const name = str(args.region) ?? str(args.name) ?? region;
        return { ...args, id: name, name, region: name, endpoint: `ec2.${name}.amazonaws.com`, description: REGION_NAMES[name] ?? name };
    },
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ id: ACCOUNT_ID, accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/e2e-standin`, userId: "AIDAE2ESTANDINEXAMPLE" }),
    "aws:index/getPartition:getPartition": () => ({ id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" }),
    "aws:iam/getPolicyDocument:getPolicyDocument": (args) => renderPolicyDocument(args),
};

export const KNOWN_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

// ---------------------------------------------------------------------------------------------
// The provider

export interface AwsStandinOptions {
    /** Where records live; default `$E2E_STANDIN_STATE` (unset: nothing recorded). */
    readonly stateDir?: string;
    /** Preset region (tests); normally set by `configure` from `aws:region`. */
    readonly region?: string;
    readonly version?: string;
}

function unknownType(type: string): Error {
    return new Error(`stand-in aws provider does not know ${type}: add it to e2e/standins/aws.ts`);
}

function specOf(type: string): Spec {
    const spec = SPECS[type];
    if (!spec) throw unknownType(type);
    return spec;
}

/** The stand-in aws provider; `serve` it, or call its methods directly in tests. */
export function awsProvider(options: AwsStandinOptions = {}): StandinProvider & { readonly region: string | undefined } {
    const store = new RecordStore("aws", options.stateDir ?? process.env.E2E_STANDIN_STATE);
    let region = options.region;
    let defaultTags: PropertyMap = {};

    const regionFor = (inputs: PropertyMap): string => {
        const own = str(plain(inputs.region));
        const chosen = own ?? region;
        if (!chosen) throw new Error("stand-in aws provider: no region configured: set it with `pulumi config set aws:region <region>`");
        return chosen;
    };

    const context = (urn: string, inputs: PropertyMap): Ctx => {
        let cache: LiveRecord[] | undefined;
        return {
            type: typeOfUrn(urn),
            urn,
            name: nameOfUrn(urn),
            raw: inputs,
            p: plainMap(inputs),
            region: regionFor(inputs),
            live: () => (cache ??= store.all()),
            stateDir: store.stateDir,
        };
    };

    const physicalId = (id: string, outputs: PropertyMap): string => str(plain(outputs.arn)) ?? id;

    /** Output keys that are not inputs: absent from new inputs, they are no change. */
    const outputOnlyKeys = (spec: Spec, ctx: Ctx, id: string): Set<string> => {
        const keys = new Set<string>([...Object.keys(spec.defaults ?? {}), "region", "tagsAll"]);
        try {
            for (const key of Object.keys(spec.computed?.(ctx, id) ?? {})) keys.add(key);
        } catch {
            // A computation that needs inputs the old state lacks: its keys are not needed here.
        }
        return keys;
    };

    const finish = (spec: Spec, ctx: Ctx, outputs: PropertyMap): PropertyMap => {
        const result: PropertyMap = { ...outputs };
        if (!spec.global) result.region = ctx.region;
        if (spec.taggable !== false) result.tagsAll = { ...defaultTags, ...((plain(ctx.raw.tags) as PropertyMap | undefined) ?? {}) };
        return result;
    };

    const provider: StandinProvider & { region: string | undefined } = {
        logName: "aws",
        version: options.version ?? pluginVersion("aws"),
        get region() {
            return region;
        },

        async checkConfig(_urn, _olds, news) {
            const value = plain(news.region);
            const failures: pulumiProvider.CheckFailure[] = [];
            if (value === undefined || value === null || value === "") {
                failures.push({ property: "region", reason: "stand-in aws provider: no region configured: set `aws:region` in the stack's config (`pulumi config set aws:region eu-west-1`)" });
            } else if (value !== UNKNOWN && (typeof value !== "string" || !REGION_PATTERN.test(value))) {
                failures.push({ property: "region", reason: `stand-in aws provider: invalid AWS Region: ${String(value)}` });
            }
            return { inputs: news, failures };
        },

        async configure(args) {
            const value = str(plain(args.region));
            if (value) region = value;
            let tags = plain(args.defaultTags);
            if (typeof tags === "string") {
                try {
                    tags = JSON.parse(tags);
                } catch {
                    tags = {};
                }
            }
            defaultTags = ((tags as PropertyMap | undefined)?.tags as PropertyMap | undefined) ?? {};
        },

        async check(urn, olds: PropertyMap, news: PropertyMap) {
            const type = typeOfUrn(urn);
            return logged(
                "aws",
                "check",
                { type, urn, inputs: news },
                async (): Promise<pulumiProvider.CheckResult> => {
                    const spec = specOf(type);
                    const inputs: PropertyMap = { ...news };
                    const p = plainMap(news);
                    const failures: pulumiProvider.CheckFailure[] = [];
                    if (spec.autoname && p.name === undefined) {
                        const oldPlain = plainMap(olds);
                        if (p.namePrefix !== undefined) {
                            inputs.name = oldPlain.name !== undefined && oldPlain.namePrefix === p.namePrefix ? olds.name : `${String(p.namePrefix)}${uniqueSuffix()}`;
                        } else if (oldPlain.name !== undefined && oldPlain.namePrefix === undefined) {
                            // Keep the name made before, as pulumi-aws does (a replacement checks again without olds).
                            inputs.name = olds.name;
                        } else {
                            const fifo = spec.autoname.fifo && p.fifoQueue === true;
                            const base = autoName(nameOfUrn(urn), spec.autoname.maxLength - (fifo ? 5 : 0));
                            inputs.name = fifo ? `${base}.fifo` : base;
                        }
                    }
                    for (const property of spec.required ?? []) {
                        if (p[property] === undefined || p[property] === null) failures.push({ property, reason: `Missing required argument: The argument "${property}" is required, but no definition was found.` });
                    }
                    for (const property of spec.json ?? []) {
                        const value = p[property];
                        if (typeof value === "string" && value !== UNKNOWN && value !== "" && !isJson(value)) failures.push({ property, reason: `"${property}" contains an invalid JSON document` });
                    }
                    return { inputs, failures };
                },
                { outcome: checkOutcome },
            );
        },

        async diff(id, urn, olds: PropertyMap, news: PropertyMap) {
            const type = typeOfUrn(urn);
            return logged("aws", "diff", { type, urn, id, inputs: news }, async (): Promise<pulumiProvider.DiffResult> => {
                const spec = specOf(type);
                const ctx = context(urn, { ...olds, ...news });
                const ignore = outputOnlyKeys(spec, { ...ctx, p: plainMap(olds) }, id);
                const keys = new Set([...Object.keys(news), ...Object.keys(olds).filter((k) => !ignore.has(k))]);
                const changed = [...keys].filter((k) => containsUnknown(news[k]) || !sameValue(olds[k], news[k]));
                const forcing = new Set(["name", "namePrefix", ...(spec.global ? [] : ["region"]), ...(spec.replaces === "all" ? changed : (spec.replaces ?? []))]);
                const replaces = changed.filter((k) => forcing.has(k));
                return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
            });
        },

        async create(urn, inputs: PropertyMap) {
            const type = typeOfUrn(urn);
            return logged(
                "aws",
                "create",
                { type, urn, inputs },
                async (): Promise<pulumiProvider.CreateResult> => {
                    const spec = specOf(type);
                    if (containsUnknown(inputs)) throw new Error(`stand-in aws provider: create ${type} with unknown inputs: ${Object.keys(inputs).filter((k) => containsUnknown(inputs[k])).join(", ")}`);
                    const ctx = context(urn, inputs);
                    const refusal = spec.refuseCreate?.(ctx);
                    if (refusal) throw new Error(`creating ${type} (${ctx.name}): ${refusal}`);
                    const id = spec.id(ctx);
                    const outs = finish(spec, ctx, { ...(spec.defaults ?? {}), ...(spec.computed?.(ctx, id) ?? {}), ...inputs });
                    store.add(recordKey(urn, physicalId(id, outs)), { type, name: ctx.name, id, urn, outputs: { ...outs, ...(spec.recorded?.(outs) ?? {}) } });
                    return { id, outs };
                },
                { idOf: (result) => result.id },
            );
        },

        async read(id, urn, props: PropertyMap = {}) {
            const type = typeOfUrn(urn);
            return logged("aws", "read", { type, urn, id, inputs: props }, async (): Promise<pulumiProvider.ReadResult> => {
                specOf(type);
                if (!store.enabled) return { id, props };
                const record = store.get(recordKey(urn, physicalId(id, props))) ?? store.all().find((r) => r.type === type && r.id === id);
                // Gone: an empty id tells the engine to drop it from the state.
                if (!record) return { id: "", props: {} };
                // Secrets are not kept in the records: the engine's own copy stands for them.
                const stored = Object.fromEntries(Object.entries(record.outputs ?? {}).filter(([key]) => !RECORD_ONLY.includes(key)));
                const merged = restoreSecrets(stored, props) as PropertyMap;
                return { id: record.id, props: merged };
            });
        },

        async update(id, urn, olds: PropertyMap, news: PropertyMap) {
            const type = typeOfUrn(urn);
            return logged("aws", "update", { type, urn, id, inputs: news }, async (): Promise<pulumiProvider.UpdateResult> => {
                const spec = specOf(type);
                const ctx = context(urn, news);
                const kept = outputOnlyKeys(spec, { ...ctx, p: plainMap(olds) }, id);
                const outs = finish(spec, ctx, { ...(spec.defaults ?? {}), ...Object.fromEntries(Object.entries(olds).filter(([k]) => kept.has(k))), ...news });
                const key = recordKey(urn, physicalId(id, olds));
                if (store.enabled && !store.update(key, outs)) throw new Error(`updating ${type} (${ctx.name}): ${id} does not exist any more (deleted outside Pulumi? run \`pulumi refresh\`)`);
                return { outs };
            });
        },

        async delete(id, urn, props: PropertyMap) {
            const type = typeOfUrn(urn);
            await logged("aws", "delete", { type, urn, id, inputs: props }, async () => {
                const spec = specOf(type);
                const ctx = context(urn, props);
                const key = recordKey(urn, physicalId(id, props));
                const others = (): LiveRecord[] => store.all().filter((r) => recordKey(r.urn, physicalId(r.id, r.outputs ?? {})) !== key);
                const refusal = await spec.refuseDelete?.({ ...ctx, live: others }, id);
                if (refusal) throw new Error(`deleting ${type} (${ctx.name}): ${refusal}`);
                await spec.onDelete?.(ctx);
                // Already gone is success, as for pulumi-aws.
                store.remove(key);
            });
        },

        async invoke(token, args: PropertyMap) {
            return logged("aws", "invoke", { type: token, inputs: args }, async (): Promise<pulumiProvider.InvokeResult> => {
                const fn = FUNCTIONS[token];
                if (!fn) throw unknownType(token);
                const p = plainMap(args);
                return { outputs: fn(p, regionFor(p)) };
            });
        },
    };
    return provider;
}

if (require.main === module) {
    void serve(awsProvider(), process.argv.slice(2));
}
