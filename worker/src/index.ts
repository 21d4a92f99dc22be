/** The worker as a library: what tests, the demo and the benchmark use to run it in process. */
export { createSqsClient, credentialSourceOf, CredentialsTimeoutError, CREDENTIALS_DEADLINE_MS, defaultChainWithDeadline, describeConnection, type SqsClientOverrides, type SqsConnection, type SqsSender } from "./sqs";
export { Worker, backoffDelay, BACKOFF, FOLDER_RECHECK, type WorkerDependencies, type WorkerStats } from "./worker";
export { FolderCheck, FolderError, IMAGE_UID, PROBE_NAME, WORKER_SIDE_CODES, type FolderProblem } from "./folders";
export { FileMover, type MoveOutcome, type FileSystem } from "./mover";
export { checkFileName, MAX_NAME_BYTES } from "./file-name";
export { Logger } from "./log";
export { parseWorkerEnvironment, DEFAULTS, WorkerConfigError, type WorkerOptions, type LogFileNames } from "./options";
export { InvalidFileNameError, MAX_SQS_ERROR_CHARS, MoveError, SqsCallError } from "./errors";
