/**
 * The hosts' role: what the SSM agent and the ECS agent on an EXTERNAL instance call AWS with, and
 * nothing more. The task's own execution role (region stack) pulls the image and writes the logs on
 * external instances, so this role holds no ECR or CloudWatch Logs action ("IAM roles for Amazon
 * ECS", task execution role: "Your task is hosted on AWS Fargate or on external instances and pulls
 * a container image from an Amazon ECR private repository ... sends container logs to CloudWatch
 * Logs using the awslogs log driver"). Pure functions, tested without mocks.
 *
 * What each agent calls (docs/residency.md lists the sources): the ECS agent registers its instance
 * (ecs:RegisterContainerInstance, on the cluster), finds and holds its connection to ECS
 * (ecs:DiscoverPollEndpoint, which takes no resource; ecs:Poll and ecs:StartTelemetrySession, on
 * its container instance) and reports task, container and attachment states (ecs:Submit*, on the
 * cluster); the SSM agent reports itself (ssm:UpdateInstanceInformation, on its managed instance).
 * Not granted, though AWS's managed policies hold them: ecs:CreateCluster (only with no cluster
 * configured), ecs:DeregisterContainerInstance (the agent never calls it; the operator deregisters),
 * ecs:UpdateContainerInstancesState (EC2 Spot draining), ecs:ListTagsForResource (task metadata
 * with tags), ec2:DescribeTags, ECR and CloudWatch Logs (the execution role's), and the SSM agent's
 * State Manager, inventory, patching and Parameter Store calls. Run Command and Session Manager
 * (ec2messages, ssmmessages) only with `ecs-anywhere:ssmRemoteAccess`.
 */

export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | readonly string[];
    readonly Resource: string | readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

export interface TrustStatement {
    readonly Effect: "Allow";
    readonly Principal: { readonly Service: string };
    readonly Action: "sts:AssumeRole";
    readonly Condition: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Where the hosts' cluster is: read off its ARN (`arn:<partition>:ecs:<region>:<account>:cluster/<name>`). */
export interface ClusterScope {
    readonly partition: string;
    readonly region: string;
    readonly account: string;
    readonly clusterArn: string;
}

export function clusterScope(clusterArn: string): ClusterScope {
    const match = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster\/[A-Za-z0-9_-]+$/.exec(clusterArn);
    if (!match) throw new Error(`the cluster's ARN ${JSON.stringify(clusterArn)} is not arn:<partition>:ecs:<region>:<account>:cluster/<name>`);
    return { partition: match[1], region: match[2], account: match[3], clusterArn };
}

/** The ECS agent's calls on the cluster itself (register, report states). */
export const ECS_AGENT_CLUSTER_ACTIONS = ["ecs:RegisterContainerInstance", "ecs:SubmitAttachmentStateChanges", "ecs:SubmitContainerStateChange", "ecs:SubmitTaskStateChange"] as const;
/** The ECS agent's calls on its container instance (the service's command and telemetry channels). */
export const ECS_AGENT_INSTANCE_ACTIONS = ["ecs:Poll", "ecs:StartTelemetrySession"] as const;
/** Takes no resource-level permission (Service Authorization Reference): `*` only. */
export const ECS_AGENT_DISCOVERY_ACTIONS = ["ecs:DiscoverPollEndpoint"] as const;
/** The SSM agent's heartbeat, on its managed instance. */
export const SSM_AGENT_ACTIONS = ["ssm:UpdateInstanceInformation"] as const;
/** Run Command and Session Manager reach a host through these channels; neither takes a resource (`*` only). */
export const SSM_REMOTE_ACCESS_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
] as const;
/** Parameter Store reads: denied outright, so no policy attached later (AmazonSSMManagedInstanceCore holds them) opens them to a stolen host. */
export const PARAMETER_STORE_READS = "ssm:GetParameter*";

/**
 * Who may assume the role: Systems Manager, for a managed instance of this account and region only
 * (the confused-deputy guard of "Create the IAM service role required for Systems Manager in hybrid
 * and multicloud environments": aws:SourceAccount and aws:SourceArn `arn:aws:ssm:<region>:<account>:*`).
 */
export function instanceTrustPolicy(scope: Pick<ClusterScope, "partition" | "region" | "account">): { Version: "2012-10-17"; Statement: TrustStatement[] } {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "ssm.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": scope.account },
                    ArnEquals: { "aws:SourceArn": `arn:${scope.partition}:ssm:${scope.region}:${scope.account}:*` },
                },
            },
        ],
    };
}

/** What the hosts' role may do: the two agents' own calls, scoped to this cluster and this account's managed instances. */
export function hostAgentsPolicy(scope: ClusterScope, options: { readonly ssmRemoteAccess: boolean }): PolicyDocument {
    const arn = (service: string, resource: string) => `arn:${scope.partition}:${service}:${scope.region}:${scope.account}:${resource}`;
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "EcsAgentOnTheCluster", Effect: "Allow", Action: [...ECS_AGENT_CLUSTER_ACTIONS], Resource: scope.clusterArn },
            {
                Sid: "EcsAgentOnItsInstance",
                Effect: "Allow",
                Action: [...ECS_AGENT_INSTANCE_ACTIONS],
                // Any container instance of this account and region (the short ARN format has no cluster name in it), of this cluster only.
                Resource: arn("ecs", "container-instance/*"),
                Condition: { ArnEquals: { "ecs:cluster": scope.clusterArn } },
            },
            { Sid: "EcsAgentDiscovery", Effect: "Allow", Action: [...ECS_AGENT_DISCOVERY_ACTIONS], Resource: "*" },
            { Sid: "SsmAgentHeartbeat", Effect: "Allow", Action: [...SSM_AGENT_ACTIONS], Resource: arn("ssm", "managed-instance/*") },
            ...(options.ssmRemoteAccess ? [{ Sid: "SsmRunCommandAndSessions", Effect: "Allow" as const, Action: [...SSM_REMOTE_ACCESS_ACTIONS], Resource: "*" }] : []),
            { Sid: "NoParameterStore", Effect: "Deny", Action: PARAMETER_STORE_READS, Resource: "*" },
        ],
    };
}
