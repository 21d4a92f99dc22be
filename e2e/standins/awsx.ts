/**
 * `tsx e2e/standins/awsx.ts <engine address>`: the stand-in `awsx` plugin. awsx's components are
 * remote: the engine asks this plugin to `construct` them, and the plugin registers the
 * component and its `aws` children back with the engine through the Node SDK (which the engine
 * then creates with the aws stand-in), returning the component's URN and its outputs.
 *
 * Only `awsx:ec2:Vpc` is modelled, as awsx 3.x builds it for explicit subnet blocks
 * (awsx/ec2/vpc.ts: the VPC; an internet gateway; per zone and subnet spec a subnet, its route
 * table, association and default route; per NAT gateway of the strategy an EIP and the gateway
 * in the zone's public subnet), with the same parents and logical names. Not modelled: awsx's
 * automatic subnet allocation (a spec without `cidrBlocks` fails naming itself), VPC endpoints,
 * IPAM, IPv6, tags beyond Name/SubnetType. Any other type, method or function fails like the
 * inert stand-in.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { inertProvider, pluginVersion, serve, type StandinProvider } from "./inert";

interface SubnetSpecInput {
    readonly type: "Public" | "Private" | "Isolated" | "Unused";
    readonly name?: string;
    readonly cidrBlocks?: string[];
}

interface VpcInputs {
    readonly cidrBlock?: string;
    readonly numberOfAvailabilityZones?: number;
    readonly availabilityZoneNames?: string[];
    readonly enableDnsHostnames?: boolean;
    readonly enableDnsSupport?: boolean;
    readonly subnetSpecs?: SubnetSpecInput[];
    readonly natGateways?: { readonly strategy?: "None" | "Single" | "OnePerAz" };
    readonly tags?: Record<string, string>;
}

/** awsx's order within a zone: public subnets first (a private subnet's route needs the zone's NAT gateway). */
const ORDER: Record<string, number> = { Public: 0, Private: 1, Isolated: 2 };

/** Refusals awsx gives before creating anything, for what this stand-in models. */
export function refuseVpc(inputs: VpcInputs, zones: number): string | undefined {
    if (inputs.availabilityZoneNames && inputs.numberOfAvailabilityZones) return "Only one of [availabilityZoneNames] and [numberOfAvailabilityZones] can be specified";
    const specs = (inputs.subnetSpecs ?? []).filter((spec) => spec.type !== "Unused");
    if (specs.length === 0) return "stand-in awsx: awsx's automatic subnet layout is not modelled; give subnetSpecs with cidrBlocks";
    for (const spec of specs) {
        if (!spec.cidrBlocks) return `stand-in awsx: a ${spec.type} subnet spec without cidrBlocks (automatic allocation) is not modelled`;
        if (spec.cidrBlocks.length !== zones) return `The number of CIDR blocks in subnetSpecs[${spec.type}] must match the number of availability zones (${zones})`;
    }
    const strategy = inputs.natGateways?.strategy ?? "OnePerAz";
    const hasPublic = specs.some((spec) => spec.type === "Public");
    const hasPrivate = specs.some((spec) => spec.type === "Private");
    if (strategy !== "None" && !hasPublic) return `If NAT Gateway strategy is '${strategy}', both private and public subnets must be declared.`;
    if (strategy !== "None" && !hasPrivate) return `If NAT Gateway strategy is '${strategy}', both private and public subnets must be declared.`;
    if (strategy === "None" && hasPrivate) return "If private subnets are specified, NAT Gateway strategy cannot be 'None'.";
    return undefined;
}

class Vpc extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string>[] = [];
    readonly privateSubnetIds: pulumi.Output<string>[] = [];
    readonly isolatedSubnetIds: pulumi.Output<string>[] = [];
    readonly natGatewayIds: pulumi.Output<string>[] = [];

    constructor(name: string, inputs: VpcInputs, zones: string[], opts: pulumi.ComponentResourceOptions) {
        super("awsx:ec2:Vpc", name, {}, opts);
        const sharedTags = { Name: name, ...inputs.tags };
        const vpc = new aws.ec2.Vpc(
            name,
            { cidrBlock: inputs.cidrBlock ?? "10.0.0.0/16", enableDnsHostnames: inputs.enableDnsHostnames, enableDnsSupport: inputs.enableDnsSupport, tags: sharedTags },
            { parent: this },
        );
        this.vpcId = vpc.id;
        const igw = new aws.ec2.InternetGateway(name, { vpcId: vpc.id, tags: sharedTags }, { parent: vpc, dependsOn: [vpc] });
        const strategy = inputs.natGateways?.strategy ?? "OnePerAz";
        const specs = (inputs.subnetSpecs ?? []).filter((spec) => spec.type !== "Unused").sort((a, b) => ORDER[a.type] - ORDER[b.type]);
        const natGateways: aws.ec2.NatGateway[] = [];
        zones.forEach((zone, i) => {
            for (const spec of specs) {
                const subnetName = `${name}-${(spec.name ?? spec.type).toLowerCase()}-${i + 1}`;
                const isPublic = spec.type === "Public";
                const subnet = new aws.ec2.Subnet(
                    subnetName,
                    { vpcId: vpc.id, availabilityZone: zone, mapPublicIpOnLaunch: isPublic, cidrBlock: (spec.cidrBlocks as string[])[i], tags: { ...sharedTags, Name: subnetName, SubnetType: spec.type } },
                    { parent: vpc, dependsOn: [vpc] },
                );
                ({ Public: this.publicSubnetIds, Private: this.privateSubnetIds, Isolated: this.isolatedSubnetIds })[spec.type as "Public"].push(subnet.id);
                const routeTable = new aws.ec2.RouteTable(subnetName, { vpcId: vpc.id, tags: { ...sharedTags, Name: subnetName, SubnetType: spec.type } }, { parent: subnet, dependsOn: [subnet] });
                new aws.ec2.RouteTableAssociation(subnetName, { routeTableId: routeTable.id, subnetId: subnet.id }, { parent: routeTable, dependsOn: [routeTable] });
                if (isPublic && (strategy === "OnePerAz" || (strategy === "Single" && natGateways.length === 0))) {
                    const eip = new aws.ec2.Eip(`${name}-${i + 1}`, { tags: { ...inputs.tags, Name: `${name}-${i + 1}` } }, { parent: subnet, dependsOn: [subnet] });
                    const nat = new aws.ec2.NatGateway(
                        `${name}-${i + 1}`,
                        { subnetId: subnet.id, allocationId: eip.allocationId, tags: { ...inputs.tags, Name: `${name}-${i + 1}` } },
                        { parent: subnet, dependsOn: [subnet] },
                    );
                    natGateways.push(nat);
                    this.natGatewayIds.push(nat.id);
                }
                if (isPublic) {
                    new aws.ec2.Route(subnetName, { routeTableId: routeTable.id, gatewayId: igw.id, destinationCidrBlock: "0.0.0.0/0" }, { parent: routeTable, dependsOn: [routeTable] });
                } else if (spec.type === "Private" && strategy !== "None") {
                    const nat = strategy === "Single" ? natGateways[0] : natGateways[i];
                    new aws.ec2.Route(subnetName, { routeTableId: routeTable.id, natGatewayId: nat.id, destinationCidrBlock: "0.0.0.0/0" }, { parent: routeTable, dependsOn: [routeTable] });
                }
            }
        });
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds, isolatedSubnetIds: this.isolatedSubnetIds });
    }
}

async function constructVpc(name: string, inputs: VpcInputs, options: pulumi.ComponentResourceOptions): Promise<pulumiProvider.ConstructResult> {
    const available = inputs.availabilityZoneNames ?? (await aws.getAvailabilityZones({ state: "available" })).names.slice(0, inputs.numberOfAvailabilityZones ?? 3);
    const refusal = refuseVpc(inputs, available.length);
    if (refusal) throw new Error(refusal);
    const vpc = new Vpc(name, inputs, available, options);
    return {
        urn: vpc.urn,
        state: { vpcId: vpc.vpcId, publicSubnetIds: vpc.publicSubnetIds, privateSubnetIds: vpc.privateSubnetIds, isolatedSubnetIds: vpc.isolatedSubnetIds },
    };
}

/** The awsx stand-in: `construct` for awsx:ec2:Vpc; everything else as the inert stand-in. */
export function awsxProvider(version: string): StandinProvider {
    const inert = inertProvider("awsx", version);
    return {
        ...inert,
        // Not in the call log (it has no construct operation): the children's calls to the aws stand-in are.
        async construct(name, type, inputs, options) {
            if (type !== "awsx:ec2:Vpc") throw new Error(`stand-in awsx provider models only awsx:ec2:Vpc, not ${type}; add it to e2e/standins/awsx.ts`);
            return constructVpc(name, inputs as VpcInputs, options);
        },
    };
}

if (require.main === module) {
    void serve(awsxProvider(pluginVersion("awsx")), process.argv.slice(2));
}
