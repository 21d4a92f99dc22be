/** The worker as a library: what tests, the demo and the benchmark use to run it in process. */
export { createSqsClient, sqsEndpoint, SqsClient, SqsServiceError, QUERY_ERROR_NAMES, type Message, type SqsAction, type SqsActions, type SqsClientOptions, type SqsSender } from "./sqs-client";
export { credentialChain, credentialSource, type CredentialSource } from "./credentials";
export { Worker, backoffDelay, BACKOFF, FOLDER_RECHECK, type WorkerDependencies, type WorkerStats } from "./worker";
export { FolderCheck, FolderError, IMAGE_UID, PROBE_NAME, WORKER_SIDE_CODES, type FolderProblem } from "./folders";
export { FileMover, type MoveOutcome, type FileSystem } from "./mover";
export { checkFileName, MAX_NAME_BYTES } from "./file-name";
export { Logger } from "./log";
export { parseWorkerEnvironment, DEFAULTS, WorkerConfigError, type WorkerOptions, type LogFileNames } from "./options";
export { InvalidFileNameError, MoveError, SqsCallError } from "./errors";
