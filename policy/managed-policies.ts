/**
 * AWS-managed policies the pack can read: their documents as the AWS Managed Policy Reference gives
 * them (the versions current when these rules were written). Only these may be attached to a role
 * the pack guards; any other AWS-managed policy cannot be read here and is refused. The e2e's IAM
 * evaluator reads them too (e2e/standins/iam-evaluator.ts).
 */
export interface ManagedPolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: ReadonlyArray<{ readonly Effect: "Allow"; readonly Action: string | readonly string[]; readonly Resource: string | readonly string[]; readonly Condition?: Record<string, Record<string, string | string[]>> }>;
}

/** By path after `arn:aws:iam::aws:policy/`. */
export const MANAGED_POLICY_DOCUMENTS: Readonly<Record<string, ManagedPolicyDocument>> = {
    AmazonSSMManagedInstanceCore: {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: [
                    "ssm:DescribeAssociation",
                    "ssm:GetDeployablePatchSnapshotForInstance",
                    "ssm:GetDocument",
                    "ssm:DescribeDocument",
                    "ssm:GetManifest",
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "ssm:ListAssociations",
                    "ssm:ListInstanceAssociations",
                    "ssm:PutInventory",
                    "ssm:PutComplianceItems",
                    "ssm:PutConfigurePackageResult",
                    "ssm:UpdateAssociationStatus",
                    "ssm:UpdateInstanceAssociationStatus",
                    "ssm:UpdateInstanceInformation",
                ],
                Resource: "*",
            },
            { Effect: "Allow", Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], Resource: "*" },
            {
                Effect: "Allow",
                Action: ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"],
                Resource: "*",
            },
        ],
    },
    "service-role/AmazonEC2ContainerServiceforEC2Role": {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: [
                    "ec2:DescribeTags",
                    "ecs:CreateCluster",
                    "ecs:DeregisterContainerInstance",
                    "ecs:DiscoverPollEndpoint",
                    "ecs:Poll",
                    "ecs:RegisterContainerInstance",
                    "ecs:StartTelemetrySession",
                    "ecs:UpdateContainerInstancesState",
                    "ecs:Submit*",
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                Resource: "*",
            },
            { Effect: "Allow", Action: "ecs:TagResource", Resource: "*", Condition: { StringEquals: { "ecs:CreateAction": ["CreateCluster", "RegisterContainerInstance"] } } },
            { Effect: "Allow", Action: ["ecs:ListTagsForResource"], Resource: ["arn:aws:ecs:*:*:task/*/*", "arn:aws:ecs:*:*:container-instance/*/*"] },
        ],
    },
    "service-role/AmazonECSTaskExecutionRolePolicy": {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: "*",
            },
        ],
    },
};

/** The document of an AWS-managed policy by its ARN, or undefined for one the pack cannot read (or not AWS-managed). */
export function managedPolicyDocument(arn: string): ManagedPolicyDocument | undefined {
    const match = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(arn);
    return match ? MANAGED_POLICY_DOCUMENTS[match[1]] : undefined;
}
