/** Errors the worker raises; each carries the SQS message id it concerns, when there is one. */

/** A message body that is not a plain file name; the message is left for the dead-letter queue. */
export class InvalidFileNameError extends Error {
    override readonly name = "InvalidFileNameError";
    constructor(
        readonly reason: string,
        readonly messageId?: string,
    ) {
        super(`not a plain file name: ${reason}`);
    }
}

/** A failed SQS call (receive, delete, change visibility); retried with backoff. */
export class SqsCallError extends Error {
    override readonly name = "SqsCallError";
    constructor(
        readonly operation: string,
        options: { cause: unknown },
    ) {
        super(`${operation} failed: ${describeError(options.cause)}`, options);
    }
}

/**
 * A file operation that failed for a reason other than the handled outcomes (permissions, disk
 * full). Its message names the step only: the file's name and paths are in `cause`, for the
 * logger to show as `LOG_FILE_NAMES` allows.
 */
export class MoveError extends Error {
    override readonly name = "MoveError";
    constructor(
        readonly step: string,
        readonly messageId: string | undefined,
        options: { cause: unknown },
    ) {
        super(`${step} failed`, options);
    }
}

/** A one-line description of anything thrown, without assuming it is an Error. */
export function describeError(error: unknown): string {
    if (error instanceof Error) {
        // V8 quotes what it could not parse (`..."a-name","x":y}" is not valid JSON`): an SQS answer's bodies are file names.
        const message = error.name === "SyntaxError" ? error.message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, " (not valid JSON)") : error.message;
        const code = (error as NodeJS.ErrnoException).code;
        return code !== undefined && !message.includes(code) ? `${error.name}: ${code} ${message}` : `${error.name}: ${message}`;
    }
    return String(error);
}

/** The errno code of a thrown file-system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
    return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
