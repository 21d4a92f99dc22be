/** The check every message body passes before any file is touched. */
import { InvalidFileNameError } from "./errors";

/** Longest file name most Linux file systems accept, in bytes. */
export const MAX_NAME_BYTES = 255;

/**
 * Returns the trimmed body if it is a plain file name in the source folder, else throws
 * `InvalidFileNameError`. `suffix` is checked too: the moved file's name must also fit.
 */
export function checkFileName(body: string | undefined, suffix: string, messageId?: string): string {
    const name = (body ?? "").trim();
    const reject = (reason: string): never => {
        throw new InvalidFileNameError(reason, messageId);
    };
    if (name === "") reject("empty");
    if (name === "." || name === "..") reject(`"${name}" is a folder reference`);
    if (name.includes("/")) reject('contains "/"');
    if (name.includes("\0")) reject("contains a NUL byte");
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes > MAX_NAME_BYTES) reject(`${bytes} bytes long (at most ${MAX_NAME_BYTES})`);
    if (bytes + Buffer.byteLength(suffix, "utf8") > MAX_NAME_BYTES) {
        reject(`too long to take the suffix (${bytes} + ${Buffer.byteLength(suffix, "utf8")} bytes > ${MAX_NAME_BYTES})`);
    }
    return name;
}
