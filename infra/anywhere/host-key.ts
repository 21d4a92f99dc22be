/**
 * Host identity: which pinned host keys the program accepts, and the commands that tell a user how
 * to get one. Pure functions, tested without mocks.
 *
 * Only ed25519 and ECDSA keys: @pulumi/command offers exactly the pinned key's type as its host key
 * algorithm, so an RSA key means SHA-1 `ssh-rsa` signatures only, which OpenSSH 8.8 and newer refuse
 * by default (the connection fails with no common host key algorithm).
 */

/** Host key types that can be pinned, in order of preference. */
export const ACCEPTED_HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"] as const;
export type HostKeyType = (typeof ACCEPTED_HOST_KEY_TYPES)[number];

/** Key types OpenSSH knows (to tell "an address in front" from "an unknown type"). */
const KNOWN_KEY_TYPES = [...ACCEPTED_HOST_KEY_TYPES, "ssh-rsa", "ssh-dss", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];

/** Where a host's ed25519 key lives on the host, for comparing fingerprints at its console. */
export const HOST_KEY_FILE = "/etc/ssh/ssh_host_ed25519_key.pub";

/** A bad `hostKey`: the message says what is wrong and ends with the fix. */
export class HostKeyError extends Error {
    override readonly name = "HostKeyError";
}

/** Where a host is reached, for the commands in messages. */
export interface ScanTarget {
    readonly address: string;
    readonly port: number;
}

/** `address` or `address:port` as `npm run host-keys` takes it (IPv6 in brackets with a port). */
export function hostKeysArgument(target: ScanTarget): string {
    if (target.port === 22) return target.address;
    return target.address.includes(":") ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`;
}

/** The `ssh-keyscan` command that prints the host's ed25519 key. */
export function keyscanCommand(target: ScanTarget): string {
    return `ssh-keyscan -t ed25519${target.port === 22 ? "" : ` -p ${target.port}`} ${target.address}`;
}

/** The sentence telling a user how to get, check and pin a host's key. */
export function pinInstructions(targets: readonly ScanTarget[]): string {
    const scans = targets.map((t) => `\`${keyscanCommand(t)}\``).join(", ");
    return (
        `run ${scans} (or \`npm run --silent host-keys -- ${targets.map(hostKeysArgument).join(" ")}\`, which also prints the fingerprint), ` +
        `check the fingerprint against the host's console (\`ssh-keygen -lf ${HOST_KEY_FILE}\`) and set \`hostKey\` to the key without the address`
    );
}

/** A `string` of the SSH wire format (RFC 4251: uint32 length, then the bytes), as keys hold them; undefined past the end. */
export function readString(data: Buffer, offset: number): { value: Buffer; next: number } | undefined {
    if (offset + 4 > data.length) return undefined;
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) return undefined;
    return { value: data.subarray(offset + 4, offset + 4 + length), next: offset + 4 + length };
}

/**
 * Checks a pinned host key (`type base64 [comment]`, as `ssh-keyscan` prints it without the address,
 * or as a host's `.pub` file holds it) and returns it as `type base64`. Throws a `HostKeyError` whose
 * message says what is wrong and the fix; `target` goes into the commands it suggests.
 */
export function parseHostKey(text: string, target: ScanTarget): { type: HostKeyType; key: string } {
    const scan = `\`${keyscanCommand(target)}\``;
    const fields = text.trim().split(/\s+/);
    if (fields.length >= 3 && KNOWN_KEY_TYPES.includes(fields[1]) && !KNOWN_KEY_TYPES.includes(fields[0])) {
        throw new HostKeyError(`drop the leading ${JSON.stringify(fields[0])}: hostKey is the key alone, e.g. ${fields[1]} ${fields[2].slice(0, 12)}...`);
    }
    const [type, base64] = fields;
    if (type === "ssh-rsa") {
        throw new HostKeyError(
            `an RSA host key cannot be pinned: the command provider then offers only SHA-1 \`ssh-rsa\` signatures, which OpenSSH 8.8 and newer refuse. ` +
                `Pin the host's ed25519 key instead: ${scan}; a host without one gets it with \`sudo ssh-keygen -A\` and a restart of sshd`,
        );
    }
    if (!(ACCEPTED_HOST_KEY_TYPES as readonly string[]).includes(type)) {
        throw new HostKeyError(`expected an ed25519 or ECDSA public key (${ACCEPTED_HOST_KEY_TYPES.join(", ")}) as ${scan} prints it, without the address: ssh-ed25519 AAAA...`);
    }
    const damaged = (why: string) => new HostKeyError(`the key is damaged or cut short (${why}): copy the whole key ${scan} prints, without the address`);
    if (base64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) throw damaged("not base64");
    const data = Buffer.from(base64, "base64");
    const name = readString(data, 0);
    if (name === undefined || name.value.toString("latin1") !== type) throw damaged(`its data does not start with ${type}`);
    const body = readString(data, name.next);
    if (type === "ssh-ed25519") {
        if (body === undefined || body.value.length !== 32 || body.next !== data.length) throw damaged("an ed25519 key holds 32 bytes");
    } else {
        const curve = type.replace("ecdsa-sha2-", "");
        const point = body === undefined ? undefined : readString(data, body.next);
        if (body === undefined || body.value.toString("latin1") !== curve || point === undefined || point.next !== data.length) throw damaged(`an ${type} key names the curve ${curve} and holds one point`);
    }
    return { type: type as HostKeyType, key: `${type} ${base64}` };
}
