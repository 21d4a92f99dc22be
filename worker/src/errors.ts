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

/**
 * A failed SQS call (receive, delete, change visibility); retried with backoff. Its message, which
 * the worker logs, keeps the first paragraph of the SDK's, at most MAX_SQS_ERROR_CHARS: SQS's
 * SignatureDoesNotMatch goes on, after a blank line, with the canonical request it expected, every
 * signed header in it, the session token among them.
 */
export class SqsCallError extends Error {
    override readonly name = "SqsCallError";
    constructor(
        readonly operation: string,
        options: { cause: unknown },
    ) {
        super(`${operation} failed: ${firstParagraph(describeError(options.cause))}`, options);
    }
}

/** Longest part of an SQS error kept in a log line: its first paragraph says what went wrong. */
export const MAX_SQS_ERROR_CHARS = 400;

function firstParagraph(text: string): string {
    const first = text.split(/\r?\n\s*\r?\n/, 1)[0] ?? "";
    return first.length > MAX_SQS_ERROR_CHARS ? `${first.slice(0, MAX_SQS_ERROR_CHARS)}...` : first;
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

/**
 * An error's message, without the text a JSON parser quotes: V8 quotes up to ten characters either
 * side of what it could not parse (`Unexpected token 'y', ..."a-name","x":y}" is not valid JSON`,
 * or `"<html>a-na"... is not valid JSON`), and an SQS answer's bodies are file names. The SDK adds
 * its own hint after it on a line of its own ("Deserialization error: ..."), which is kept.
 */
export function errorMessage(error: Error): string {
    return error.name === "SyntaxError" ? error.message.replace(/(, )?(\.\.\.)?".*"(\.\.\.)? is not valid JSON/s, " (not valid JSON)") : error.message;
}

/** A one-line description of anything thrown, without assuming it is an Error. */
export function describeError(error: unknown): string {
    if (error instanceof Error) {
        const message = errorMessage(error);
        const code = (error as NodeJS.ErrnoException).code;
        return code !== undefined && !message.includes(code) ? `${error.name}: ${code} ${message}` : `${error.name}: ${message}`;
    }
    return String(error);
}

/** The errno code of a thrown file-system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
    return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
