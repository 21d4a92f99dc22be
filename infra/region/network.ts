/**
 * The network: a VPC with two subnets in two zones. Cost-lean by default: public subnets and a
 * public IP per task, no NAT gateway. `privateSubnets` puts tasks in private subnets behind one
 * NAT gateway. Either way nothing accepts inbound traffic: the worker only calls out.
 */
import * as aws from "@pulumi/aws";
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

export class Network extends pulumi.ComponentResource {
    readonly vpc: aws.ec2.Vpc;
    /** Subnets the tasks and the EFS mount targets live in. */
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
        this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true }, parent);
        // AWS gives every VPC a default group that admits its own members; take every rule away.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: this.vpc.id, ingress: [], egress: [] }, parent);

        const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
        const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id }, parent);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }] }, parent);
        const publicSubnets = [0, 1].map((i) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-public-${i}`,
                { vpcId: this.vpc.id, cidrBlock: subnetCidr(args.cidr, i), availabilityZone: zones.names[i], mapPublicIpOnLaunch: false },
                parent,
            );
            new aws.ec2.RouteTableAssociation(`${name}-public-${i}-rta`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
            return subnet;
        });

        if (args.privateSubnets) {
            const ip = new aws.ec2.Eip(`${name}-nat-ip`, { domain: "vpc" }, parent);
            const nat = new aws.ec2.NatGateway(`${name}-nat`, { allocationId: ip.id, subnetId: publicSubnets[0].id }, { parent: this, dependsOn: [gateway] });
            const privateRoutes = new aws.ec2.RouteTable(`${name}-private-rt`, { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }] }, parent);
            const privateSubnets = [0, 1].map((i) => {
                const subnet = new aws.ec2.Subnet(
                    `${name}-private-${i}`,
                    { vpcId: this.vpc.id, cidrBlock: subnetCidr(args.cidr, i + 2), availabilityZone: zones.names[i], mapPublicIpOnLaunch: false },
                    parent,
                );
                new aws.ec2.RouteTableAssociation(`${name}-private-${i}-rta`, { subnetId: subnet.id, routeTableId: privateRoutes.id }, parent);
                return subnet;
            });
            this.taskSubnetIds = privateSubnets.map((subnet) => subnet.id);
            this.assignPublicIp = false;
        } else {
            this.taskSubnetIds = publicSubnets.map((subnet) => subnet.id);
            this.assignPublicIp = true;
        }

        this.workerSecurityGroup = new aws.ec2.SecurityGroup(`${name}-worker-sg`, { vpcId: this.vpc.id, description: "ecs-anywhere worker: no inbound traffic" }, parent);
        this.efsSecurityGroup = new aws.ec2.SecurityGroup(`${name}-efs-sg`, { vpcId: this.vpc.id, description: "ecs-anywhere EFS: NFS from the worker only" }, parent);
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
        this.registerOutputs({ vpcId: this.vpc.id });
    }
}
