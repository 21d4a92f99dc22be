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

/** A file operation that failed for a reason other than the handled outcomes (permissions, disk full). */
export class MoveError extends Error {
    override readonly name = "MoveError";
    constructor(
        message: string,
        readonly messageId: string | undefined,
        options: { cause: unknown },
    ) {
        super(message, options);
    }
}

/** A one-line description of anything thrown, without assuming it is an Error. */
export function describeError(error: unknown): string {
    if (error instanceof Error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code !== undefined && !error.message.includes(code) ? `${error.name}: ${code} ${error.message}` : `${error.name}: ${error.message}`;
    }
    return String(error);
}

/** The errno code of a thrown file-system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
    return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
