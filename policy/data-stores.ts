/**
 * What counts as an AWS data store, in the three forms a change can bring one in: a resource type
 * (`aws:efs/fileSystem:FileSystem`), an IAM action (`s3:PutObject`) and a reference in a task's
 * settings (`s3://bucket/key`, `fs-0123abcd`, a DynamoDB endpoint). The queue (file names, by
 * design), the image registry, CloudWatch Logs and the SSM/ECS control planes are not in these lists:
 * the design puts them in the region on purpose (docs/residency.md).
 */

/**
 * Provider modules whose resources hold data (`aws:<module>/...`, `aws-native:<module>:...`): files,
 * objects, tables, databases, volumes and their snapshots, backups, streams, and the services that
 * copy files into them.
 */
export const DATA_STORE_MODULES: readonly string[] = [
    "backup",
    "dax",
    "datasync",
    "docdb",
    "dynamodb",
    "ebs",
    "elasticache",
    "elasticsearch",
    "efs",
    "fsx",
    "glacier",
    "keyspaces",
    "kinesis",
    "memorydb",
    "neptune",
    "opensearch",
    "qldb",
    "rds",
    "redshift",
    "redshiftserverless",
    "s3",
    "s3control",
    "s3express",
    "s3outposts",
    "s3tables",
    "storagegateway",
    "timestreamwrite",
    "transfer",
];

/** Resource types outside those modules that still put data on AWS storage (EC2 block volumes). */
export const DATA_STORE_TYPES: readonly string[] = ["aws:ec2/volumeAttachment:VolumeAttachment", "aws:ec2/snapshotCreateVolumePermission:SnapshotCreateVolumePermission"];

/** IAM service prefixes whose actions read, write or copy stored data. */
export const DATA_STORE_SERVICES: readonly string[] = [
    "aoss",
    "backup",
    "backup-storage",
    "cassandra",
    "dax",
    "datasync",
    "dynamodb",
    "ebs",
    "elasticache",
    "elasticfilesystem",
    "es",
    "firehose",
    "fsx",
    "glacier",
    "kinesis",
    "memorydb",
    "neptune-db",
    "qldb",
    "rds",
    "rds-data",
    "rds-db",
    "redshift",
    "redshift-data",
    "redshift-serverless",
    "s3",
    "s3-object-lambda",
    "s3-outposts",
    "s3express",
    "s3tables",
    "sdb",
    "storagegateway",
    "timestream",
    "transfer",
];

/** EC2 actions that make or copy block storage (the rest of EC2 holds no data). */
export const EC2_DATA_ACTIONS: readonly string[] = [
    "AttachVolume",
    "CopySnapshot",
    "CreateSnapshot",
    "CreateSnapshots",
    "CreateVolume",
    "ImportSnapshot",
    "ModifySnapshotAttribute",
    "ModifyVolume",
];

/** The provider module of a type token: `aws:efs/fileSystem:FileSystem` gives `efs`. */
export function typeModule(type: string): string {
    const module = type.split(":")[1] ?? "";
    return module.split("/")[0].toLowerCase();
}

/** Whether a resource of this type stores data in AWS. */
export function isDataStoreType(type: string): boolean {
    const pkg = type.split(":")[0];
    if (pkg !== "aws" && pkg !== "aws-native") return false;
    return DATA_STORE_MODULES.includes(typeModule(type)) || DATA_STORE_TYPES.includes(type);
}

/** An IAM-style pattern (`*` any run, `?` one character) as a whole-string RegExp; case-insensitive (actions) unless `caseSensitive` (resources). */
export function iamPattern(pattern: string, caseSensitive = false): RegExp {
    const body = pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("");
    return new RegExp(`^${body}$`, caseSensitive ? "" : "i");
}

/**
 * Why an IAM action (possibly with wildcards) reaches an AWS data store, or undefined if it cannot:
 * `*` reaches everything; `s3:GetObject`, `s3:*`, `s*:*` and `ec2:Create*` reach one.
 */
export function dataStoreReach(action: string): string | undefined {
    if (action.trim() === "*") return "`*` grants every action, data stores included";
    const [service, operation = ""] = action.split(":", 2);
    const services = iamPattern(service);
    const reached = DATA_STORE_SERVICES.filter((s) => services.test(s));
    if (reached.length > 0) return `\`${action}\` reaches ${reached.slice(0, 3).join(", ")}${reached.length > 3 ? ", ..." : ""}`;
    if (services.test("ec2")) {
        const operations = iamPattern(operation);
        const volumes = EC2_DATA_ACTIONS.filter((a) => operations.test(a));
        if (volumes.length > 0) return `\`${action}\` reaches EC2 block storage (${volumes.slice(0, 3).join(", ")}${volumes.length > 3 ? ", ..." : ""})`;
    }
    return undefined;
}

/** Host names of data-store endpoints: `bucket.s3.eu-west-1.amazonaws.com`, `fs-1.efs.eu-west-1.amazonaws.com`, `db.x.rds.amazonaws.com`. */
const DATA_STORE_ENDPOINT =
    /(^|[^a-z0-9-])(s3|s3-[a-z0-9-]+|efs|dynamodb|rds|fsx|elasticache|cache|redshift|redshift-serverless|es|aoss|kinesis|firehose|glacier|backup|dax|memorydb|cassandra)\.([a-z0-9-]+\.)*amazonaws\.com(\.cn)?\b/i;
/** ARNs of data stores: `arn:aws:s3:::bucket`, `arn:aws:elasticfilesystem:...`, `arn:aws:dynamodb:...`. */
const DATA_STORE_ARN = new RegExp(`\\barn:aws[a-z-]*:(${DATA_STORE_SERVICES.map((s) => s.replace(/-/g, "\\-")).join("|")}):`, "i");
/** Object-store URLs and EFS/FSx identifiers. */
const DATA_STORE_URL = /\bs3[an]?:\/\//i;
const STORAGE_ID = /\b(fs|fsap|fsmt|vol|snap)-[0-9a-f]{8,17}\b/i;
/** Variable names that say what they point at: `S3_BUCKET`, `AWS_ENDPOINT_URL_DYNAMODB`, `EFS_ID`. */
const DATA_STORE_NAME = /(^|_)(S3|BUCKET|EFS|FSX|DYNAMO|DYNAMODB|RDS|REDSHIFT|KINESIS|FIREHOSE|GLACIER)(_|$)/i;

/** Why a string value points at an AWS data store, or undefined. */
export function dataStoreReference(value: string): string | undefined {
    if (DATA_STORE_URL.test(value)) return "an object-store URL";
    if (DATA_STORE_ARN.test(value)) return "the ARN of a data store";
    if (DATA_STORE_ENDPOINT.test(value)) return "a data-store endpoint";
    if (STORAGE_ID.test(value)) return "a file-system, volume or snapshot id";
    return undefined;
}

/** Why an environment variable's name says it points at a data store, or undefined. */
export function dataStoreVariableName(name: string): string | undefined {
    return DATA_STORE_NAME.test(name) ? "its name names a data store" : undefined;
}
