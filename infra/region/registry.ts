/** The image registry and the worker image, built for linux/amd64 and linux/arm64 under one tag. */
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

/** Repository root: the image's build context (see worker/Dockerfile). */
export const REPOSITORY_ROOT = path.resolve(__dirname, "..", "..");

export interface WorkerImageArgs {
    /** Images kept in the repository; older ones are expired. */
    readonly keepImages: number;
}

export class WorkerImage extends pulumi.ComponentResource {
    readonly repository: aws.ecr.Repository;
    readonly image: dockerBuild.Image;
    /** The pushed image, pinned by digest (`<repo>:latest@sha256:...`). */
    readonly imageUri: pulumi.Output<string>;

    constructor(name: string, args: WorkerImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ecs-anywhere:region:WorkerImage", name, {}, opts);
        this.repository = new aws.ecr.Repository(
            `${name}-repository`,
            {
                imageScanningConfiguration: { scanOnPush: true },
                // Tags move (latest) but tasks run the digest, so a moved tag never changes a running task.
                imageTagMutability: "MUTABLE",
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                // `pulumi destroy` must leave nothing behind, images included.
                forceDelete: true,
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-lifecycle`,
            {
                repository: this.repository.name,
                policy: JSON.stringify({
                    rules: [
                        {
                            rulePriority: 1,
                            description: `keep the ${args.keepImages} newest images`,
                            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: args.keepImages },
                            action: { type: "expire" },
                        },
                    ],
                }),
            },
            { parent: this },
        );
        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
        this.image = new dockerBuild.Image(
            `${name}-image`,
            {
                context: { location: REPOSITORY_ROOT },
                dockerfile: { location: path.join(REPOSITORY_ROOT, "worker", "Dockerfile") },
                platforms: ["linux/amd64", "linux/arm64"],
                push: true,
                tags: [pulumi.interpolate`${this.repository.repositoryUrl}:latest`],
                registries: [{ address: this.repository.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) }],
            },
            { parent: this },
        );
        this.imageUri = this.image.ref;
        this.registerOutputs({ imageUri: this.imageUri });
    }
}
