/**
 * The network: a VPC on `awsx.ec2.Vpc` with subnets in two zones. Cost-lean by default: public
 * subnets and a public IP per task, no NAT gateway. `privateSubnets` adds private subnets behind
 * one NAT gateway and puts the tasks there. Either way nothing accepts inbound traffic: the worker
 * only calls out. awsx draws the subnets, route tables, internet gateway and NAT; the security
 * groups and the emptied default group are ours (awsx's own default would admit all ingress).
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";

export interface NetworkArgs {
    readonly cidr: string;
    readonly privateSubnets: boolean;
}

/** The i-th /20 (or smaller, for small VPCs) block inside `cidr`. */
export function subnetCidr(cidr: string, index: number): string {
    const [address, bits] = cidr.split("/");
    const prefix = Math.min(Number(bits) + 4, 28);
    const base = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const start = base + index * 2 ** (32 - prefix);
    return `${[24, 16, 8, 0].map((shift) => (start >>> shift) & 255).join(".")}/${prefix}`;
}

/** Zones the network spans. */
export const ZONES = 2;

/**
 * What the network asks of `awsx.ec2.Vpc`: two zones, public subnets (blocks 0 and 1 of the range,
 * as before awsx), and with `privateSubnets` private ones (blocks 2 and 3) behind a single NAT
 * gateway; no NAT gateway otherwise.
 */
export function vpcArgs(args: NetworkArgs): awsx.ec2.VpcArgs {
    const blocks = (first: number) => Array.from({ length: ZONES }, (_, i) => subnetCidr(args.cidr, first + i));
    return {
        cidrBlock: args.cidr,
        numberOfAvailabilityZones: ZONES,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        subnetStrategy: "Auto",
        subnetSpecs: [{ type: "Public", cidrBlocks: blocks(0) }, ...(args.privateSubnets ? [{ type: "Private" as const, cidrBlocks: blocks(ZONES) }] : [])],
        natGateways: { strategy: args.privateSubnets ? "Single" : "None" },
    };
}

export class Network extends pulumi.ComponentResource {
    readonly vpc: awsx.ec2.Vpc;
    /** Subnets the tasks and the EFS mount targets live in, one per zone. */
    readonly taskSubnetIds: pulumi.Output<string>[];
    /** Whether tasks need a public IP to reach AWS APIs (public subnets, no NAT). */
    readonly assignPublicIp: boolean;
    /** The worker's security group: no ingress; egress HTTPS anywhere and NFS to EFS. */
    readonly workerSecurityGroup: aws.ec2.SecurityGroup;
    /** The file system's security group: NFS only from the worker's group. */
    readonly efsSecurityGroup: aws.ec2.SecurityGroup;

    constructor(name: string, args: NetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:Network", name, {}, opts);
        const parent = { parent: this };
        this.vpc = new awsx.ec2.Vpc(`${name}-vpc`, vpcArgs(args), parent);
        const vpcId = this.vpc.vpcId;
        // AWS gives every VPC a default group that admits its own members; take every rule away.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId, ingress: [], egress: [] }, parent);

        // The EFS mount targets need one subnet id per zone, known when the program runs.
        const taskSubnets = args.privateSubnets ? this.vpc.privateSubnetIds : this.vpc.publicSubnetIds;
        this.taskSubnetIds = Array.from({ length: ZONES }, (_, i) => taskSubnets.apply((ids) => ids[i]));
        this.assignPublicIp = !args.privateSubnets;

        this.workerSecurityGroup = new aws.ec2.SecurityGroup(`${name}-worker-sg`, { vpcId, description: "ecs-anywhere worker: no inbound traffic" }, parent);
        this.efsSecurityGroup = new aws.ec2.SecurityGroup(`${name}-efs-sg`, { vpcId, description: "ecs-anywhere EFS: NFS from the worker only" }, parent);
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-worker-https-out`,
            { securityGroupId: this.workerSecurityGroup.id, description: "AWS APIs: SQS, ECR, CloudWatch Logs", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
            parent,
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-worker-nfs-out`,
            { securityGroupId: this.workerSecurityGroup.id, description: "NFS to EFS", ipProtocol: "tcp", fromPort: 2049, toPort: 2049, referencedSecurityGroupId: this.efsSecurityGroup.id },
            parent,
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-efs-nfs-in`,
            { securityGroupId: this.efsSecurityGroup.id, description: "NFS from the worker", ipProtocol: "tcp", fromPort: 2049, toPort: 2049, referencedSecurityGroupId: this.workerSecurityGroup.id },
            parent,
        );
        this.registerOutputs({ vpcId });
    }
}
