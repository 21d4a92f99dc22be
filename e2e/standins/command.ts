/**
 * Stand-in for the command provider (`pulumi-resource-command`, github.com/pulumi/pulumi-command
 * v1.2.1), whose Go module this machine's module proxy refuses. It serves the same resource
 * provider protocol (through @pulumi/pulumi/provider's `main`) and runs `command:remote:Command`
 * over REAL SSH with the system OpenSSH client, modelled on the real provider's behaviour:
 *
 * - inputs, defaults, outputs: `connection` {host, port 22, user root, privateKey,
 *   privateKeyPassword, password, agentSocketPath (else $SSH_AUTH_SOCK), hostKey, dialErrorLimit 10,
 *   perDialTimeout 15, proxy {same without proxy}}, create/update/delete, stdin, environment,
 *   triggers, logging (stdoutAndStderr), addPreviousOutputInEnv (true); outputs are the inputs plus
 *   stdout and stderr (one trailing newline trimmed). `connection` is always secret; other inputs
 *   keep the secretness they came with; stdout/stderr are plain (pulumi-go-provider's default flow).
 * - diff: structural equality of the inputs; a change of `triggers` replaces, any other change
 *   (create, update, delete, stdin, environment, connection, ...) updates.
 * - create runs `create`; update runs `update`, else `create`, with PULUMI_COMMAND_STDOUT/STDERR of
 *   the previous run; delete runs `delete` with the stored state (stdin, previous output); a
 *   non-zero exit fails the operation: `Process exited with status N: running "<cmd>":\n<output>`.
 * - read (refresh) returns the state as it is: nothing runs on the host.
 * - hostKey (`type base64 [comment]`, authorized_keys syntax): only that key is accepted and only
 *   its algorithm offered (`ssh-rsa` therefore means SHA-1 signatures only); no hostKey: any host
 *   key is accepted. A proxy connects first, then the target is dialled through it.
 * - dial retries: a failed dial is retried (delays 100 ms x1.5, at most 5 s) until dialErrorLimit
 *   failures are exceeded (-1: forever); then `after N failed attempts: <error>`.
 * - environment is sent with the SSH "env" request: the server must accept it (AcceptEnv); a
 *   refused `environment` variable fails the run, a refused PULUMI_COMMAND_* only warns.
 *
 * Where it differs from the real provider is listed in the test file's header
 * (e2e/test/command-standin.test.ts). Every call is appended to the call log (call-log.ts), with
 * secrets redacted; error messages are scrubbed of secret values before the engine sees them.
 * Temporary files (the private key, pinned host keys) live in a mkdtemp folder removed after
 * each call.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as pulumiProvider from "@pulumi/pulumi/provider";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import { logCall, nameOfUrn, type Operation } from "./call-log";

export const PROVIDER_VERSION = "1.2.1";
export const REMOTE_COMMAND = "command:remote:Command";

/** Pulumi's markers in serialized properties (sdk/go/common/resource/sig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** How the Node.js provider server hands over an unknown (computed) value. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const INPUT_KEYS = ["addPreviousOutputInEnv", "connection", "create", "delete", "environment", "logging", "stdin", "triggers", "update"] as const;
const PROXY_KEYS = ["agentSocketPath", "dialErrorLimit", "host", "hostKey", "password", "perDialTimeout", "port", "privateKey", "privateKeyPassword", "user"] as const;
const CONNECTION_KEYS = [...PROXY_KEYS, "proxy"] as const;
const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"];
/** retry.Until's defaults in the Pulumi SDK, which the real provider's dial loop uses. */
const RETRY_DELAY_MS = 100;
const RETRY_BACKOFF = 1.5;
const RETRY_MAX_DELAY_MS = 5000;
/** The most command output an error message carries (its tail). */
const ERROR_OUTPUT_LIMIT = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Secrets and unknowns in the provider protocol's plain-JSON properties

type Json = unknown;

export function isSecret(value: Json): value is { value: Json } {
    return typeof value === "object" && value !== null && !Array.isArray(value) && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function makeSecret(value: Json): Json {
    return isSecret(value) ? value : { [SIG_KEY]: SECRET_SIG, value };
}

function isUnknown(value: Json): boolean {
    return value === UNKNOWN;
}

function containsUnknown(value: Json): boolean {
    if (isUnknown(value)) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}

/** `value` without secret wrappers; every string found inside a secret is added to `secrets`. */
export function reveal(value: Json, secrets?: Set<string>, inSecret = false): Json {
    if (isSecret(value)) return reveal(value.value, secrets, true);
    if (Array.isArray(value)) return value.map((item) => reveal(item, secrets, inSecret));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v, secrets, inSecret)]));
    }
    if (inSecret && typeof value === "string" && secrets) secrets.add(value);
    return value;
}

/** Structural equality as pulumi's PropertyValue.Diff sees it: secretness counts, null == absent, unknown != anything. */
function sameValue(a: Json, b: Json): boolean {
    if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
    if (isUnknown(a) || isUnknown(b)) return false;
    if (isSecret(a) || isSecret(b)) return isSecret(a) && isSecret(b) && sameValue(a.value, b.value);
    if (Array.isArray(a) || Array.isArray(b)) {
        return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
    }
    if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].every((k) => sameValue((a as Record<string, Json>)[k], (b as Record<string, Json>)[k]));
    }
    return a === b;
}

/** Replaces every secret value (and each long line of a multi-line one) in `text` by "[secret]". */
export function scrub(text: string, secrets: Iterable<string>): string {
    const needles = new Set<string>();
    for (const s of secrets) {
        if (s.length >= 4) needles.add(s);
        for (const line of s.split(/\r?\n/)) if (line.trim().length >= 8) needles.add(line.trim());
    }
    let out = text;
    for (const needle of [...needles].sort((x, y) => y.length - x.length)) out = out.split(needle).join("[secret]");
    return out;
}

/** Go's strconv.Quote (what the real provider's `%q` prints). */
export function goQuote(s: string): string {
    const escapes: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v" };
    let out = '"';
    for (const ch of s) {
        const cp = ch.codePointAt(0) ?? 0;
        if (escapes[ch]) out += escapes[ch];
        else if (ch === " " || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
        else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, "0")}`;
        else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
        else out += `\\U${cp.toString(16).padStart(8, "0")}`;
    }
    return `${out}"`;
}

// ---------------------------------------------------------------------------------------------
// Typed view of the inputs

export interface ConnectionSpec {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password?: string;
    readonly privateKey?: string;
    readonly privateKeyPassword?: string;
    readonly agentSocketPath?: string;
    readonly hostKey?: string;
    readonly dialErrorLimit: number;
    readonly perDialTimeout: number;
    readonly proxy?: ConnectionSpec;
}

interface CommandSpec {
    readonly connection: ConnectionSpec;
    readonly create?: string;
    readonly update?: string;
    readonly delete?: string;
    readonly stdin?: string;
    readonly environment?: Record<string, string>;
    readonly logging?: string;
    readonly addPreviousOutputInEnv?: boolean;
    readonly stdout?: string;
    readonly stderr?: string;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

function connectionSpec(raw: unknown, withProxy: boolean): ConnectionSpec {
    const c = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const host = str(c.host);
    if (!host) throw new Error("connection.host is required");
    return {
        host,
        port: num(c.port, 22),
        user: str(c.user) ?? "root",
        password: str(c.password),
        privateKey: str(c.privateKey),
        privateKeyPassword: str(c.privateKeyPassword),
        agentSocketPath: str(c.agentSocketPath),
        hostKey: str(c.hostKey),
        dialErrorLimit: Math.trunc(num(c.dialErrorLimit, 10)),
        perDialTimeout: Math.trunc(num(c.perDialTimeout, 15)),
        proxy: withProxy && c.proxy !== undefined && c.proxy !== null ? connectionSpec(c.proxy, false) : undefined,
    };
}

/** The typed spec of plain (revealed) properties. */
function commandSpec(plain: Record<string, unknown>): CommandSpec {
    const env = plain.environment;
    return {
        connection: connectionSpec(plain.connection, true),
        create: str(plain.create),
        update: str(plain.update),
        delete: str(plain.delete),
        stdin: str(plain.stdin),
        environment: typeof env === "object" && env !== null ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) : undefined,
        logging: str(plain.logging),
        addPreviousOutputInEnv: typeof plain.addPreviousOutputInEnv === "boolean" ? plain.addPreviousOutputInEnv : undefined,
        stdout: str(plain.stdout),
        stderr: str(plain.stderr),
    };
}

/**
 * Secrets of a call: secret-wrapped strings plus the credential fields, wrapped or not. The SDK
 * wraps the whole `connection` as a secret; of it only the credentials count (host, user and port
 * must stay readable in error messages: they say which host failed).
 */
function secretsOf(props: Record<string, unknown>): Set<string> {
    const secrets = new Set<string>();
    const plain = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, k === "connection" ? reveal(v) : reveal(v, secrets)])) as Record<string, unknown>;
    const add = (c: unknown) => {
        if (typeof c !== "object" || c === null) return;
        for (const key of ["privateKey", "privateKeyPassword", "password"]) {
            const v = (c as Record<string, unknown>)[key];
            if (typeof v === "string") secrets.add(v);
        }
        add((c as Record<string, unknown>).proxy);
    };
    add(plain.connection);
    return secrets;
}

/** What the call log gets: secret wrappers and credential fields as "[secret]". */
function forLog(value: unknown, key = ""): unknown {
    if (/^(privateKey|privateKeyPassword|password|stdin)$/.test(key) && value !== undefined) return "[secret]";
    if (isSecret(value)) return "[secret]";
    if (Array.isArray(value)) return value.map((v) => forLog(v));
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forLog(v, k)]));
    return value;
}

// ---------------------------------------------------------------------------------------------
// Check: decode, type-check and apply the schema's defaults, as pulumi-go-provider's infer does

type CheckFailure = { property: string; reason: string };

function typeName(v: unknown): string {
    if (Array.isArray(v)) return "array";
    if (v === null) return "null";
    return typeof v === "number" ? "number" : typeof v;
}

function checkFields(value: unknown, where: string, owner: string, allowed: readonly string[], types: Record<string, string>, failures: CheckFailure[]): void {
    const plainWrapper = isSecret(value) ? value.value : value;
    if (isUnknown(plainWrapper)) return;
    if (typeof plainWrapper !== "object" || plainWrapper === null || Array.isArray(plainWrapper)) {
        failures.push({ property: where, reason: `expected an object, got ${typeName(plainWrapper)}` });
        return;
    }
    for (const [key, raw] of Object.entries(plainWrapper)) {
        if (key.startsWith("__")) continue;
        const property = where ? `${where}.${key}` : key;
        if (!allowed.includes(key)) {
            failures.push({ property, reason: `Unrecognized field '${key}' on '${owner}'` });
            continue;
        }
        const v = isSecret(raw) ? raw.value : raw;
        if (v === undefined || v === null || containsUnknown(v)) continue;
        const want = types[key];
        if (want === "string" && typeof v !== "string") failures.push({ property, reason: `expected a string, got ${typeName(v)}` });
        if (want === "number" && typeof v !== "number") failures.push({ property, reason: `expected a number, got ${typeName(v)}` });
        if (want === "integer" && !(typeof v === "number" && Number.isInteger(v))) failures.push({ property, reason: `expected an integer, got ${typeName(v)} ${JSON.stringify(v)}` });
        if (want === "boolean" && typeof v !== "boolean") failures.push({ property, reason: `expected a boolean, got ${typeName(v)}` });
        if (want === "array" && !Array.isArray(v)) failures.push({ property, reason: `expected an array, got ${typeName(v)}` });
        if (want === "map") {
            if (typeof v !== "object" || Array.isArray(v)) failures.push({ property, reason: `expected a map of strings, got ${typeName(v)}` });
            else for (const [k, item] of Object.entries(v)) if (!isUnknown(item) && typeof (isSecret(item) ? item.value : item) !== "string") failures.push({ property: `${property}.${k}`, reason: "expected a string" });
        }
        if (want === "logging" && (typeof v !== "string" || !LOGGING.includes(v))) failures.push({ property, reason: `expected one of ${LOGGING.join(", ")}, got ${JSON.stringify(v)}` });
    }
}

const CONNECTION_TYPES: Record<string, string> = {
    agentSocketPath: "string", dialErrorLimit: "integer", host: "string", hostKey: "string", password: "string", perDialTimeout: "integer",
    port: "number", privateKey: "string", privateKeyPassword: "string", user: "string", proxy: "object",
};
const INPUT_TYPES: Record<string, string> = {
    addPreviousOutputInEnv: "boolean", connection: "object", create: "string", delete: "string", environment: "map", logging: "logging", stdin: "string", triggers: "array", update: "string",
};

/** Applies defaults inside a (possibly secret-wrapped) connection object. */
function withConnectionDefaults(value: unknown, withProxy: boolean): unknown {
    if (isSecret(value)) return { ...value, value: withConnectionDefaults(value.value, withProxy) };
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const c = { ...(value as Record<string, unknown>) };
    for (const [key, fallback] of [["user", "root"], ["port", 22], ["dialErrorLimit", 10], ["perDialTimeout", 15]] as const) {
        if (c[key] === undefined || c[key] === null) c[key] = fallback;
    }
    if (withProxy && c.proxy !== undefined && c.proxy !== null) c.proxy = withConnectionDefaults(c.proxy, false);
    return c;
}

export function checkInputs(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    const failures: CheckFailure[] = [];
    checkFields(news, "", "remote.CommandInputs", INPUT_KEYS, INPUT_TYPES, failures);
    const connection = news.connection;
    if (connection === undefined || connection === null) {
        failures.push({ property: "connection", reason: "Missing required field 'connection' on 'remote.CommandInputs'" });
    } else {
        checkFields(connection, "connection", "remote.Connection", CONNECTION_KEYS, CONNECTION_TYPES, failures);
        const plain = isSecret(connection) ? connection.value : connection;
        if (typeof plain === "object" && plain !== null && !isUnknown(plain)) {
            const c = plain as Record<string, unknown>;
            if (c.host === undefined || c.host === null) failures.push({ property: "connection.host", reason: "Missing required field 'host' on 'remote.Connection'" });
            if (c.proxy !== undefined && c.proxy !== null) {
                checkFields(c.proxy, "connection.proxy", "remote.ProxyConnection", PROXY_KEYS, CONNECTION_TYPES, failures);
                const p = (isSecret(c.proxy) ? c.proxy.value : c.proxy) as Record<string, unknown> | undefined;
                if (p && typeof p === "object" && !isUnknown(p) && (p.host === undefined || p.host === null)) {
                    failures.push({ property: "connection.proxy.host", reason: "Missing required field 'host' on 'remote.ProxyConnection'" });
                }
            }
        }
    }
    const inputs: Record<string, unknown> = { ...news };
    if (inputs.addPreviousOutputInEnv === undefined || inputs.addPreviousOutputInEnv === null) inputs.addPreviousOutputInEnv = true;
    if (inputs.connection !== undefined) inputs.connection = withConnectionDefaults(inputs.connection, true);
    return { inputs, failures };
}

/** The provider's own diff: which input keys changed, and whether that replaces (`triggers`). */
export function diffInputs(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; changed: string[] } {
    const changed = INPUT_KEYS.filter((key) => !sameValue(olds[key], news[key]));
    return { changes: changed.length > 0, replaces: changed.filter((key) => key === "triggers"), changed };
}

// ---------------------------------------------------------------------------------------------
// Host keys and private keys, as golang.org/x/crypto/ssh reads them

export interface HostKey {
    /** The key's own algorithm name (from its wire encoding), e.g. ssh-ed25519, ssh-rsa. */
    readonly type: string;
    readonly base64: string;
}

function keyTypeOfBlob(base64: string): string | undefined {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
    const blob = Buffer.from(base64, "base64");
    if (blob.length < 4) return undefined;
    const len = blob.readUInt32BE(0);
    if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
    const type = blob.subarray(4, 4 + len).toString("latin1");
    return /^[a-z0-9@.-]+$/.test(type) ? type : undefined;
}

/** ssh.ParseAuthorizedKey: the first line holding `[options] type base64 [comment]`. */
export function parseHostKey(text: string): HostKey {
    for (const rawLine of text.split("\n")) {
        const line = rawLine.trim();
        if (line === "" || line.startsWith("#")) continue;
        const fields = line.split(/\s+/);
        for (const start of [0, 1]) {
            // With options first (a known_hosts host pattern parses the same way), the key follows them.
            const [declared, base64] = fields.slice(start);
            if (!declared || !base64) continue;
            const type = keyTypeOfBlob(base64);
            if (type) return { type, base64 };
        }
    }
    throw new Error("ssh: no key found");
}

/** What ssh.ParsePrivateKey would say about `key` before any dial: undefined when it parses. */
function privateKeyProblem(key: string, passphrase: string | undefined): string | undefined {
    const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(key);
    if (!match) return "ssh: no key found";
    const [, kind, body] = match;
    let encrypted = false;
    if (kind === "OPENSSH PRIVATE KEY") {
        const blob = Buffer.from(body.replace(/\s+/g, ""), "base64");
        const magic = "openssh-key-v1\0";
        if (blob.subarray(0, magic.length).toString("latin1") !== magic) return "ssh: invalid openssh private key format";
        const len = blob.readUInt32BE(magic.length);
        encrypted = blob.subarray(magic.length + 4, magic.length + 4 + len).toString("latin1") !== "none";
    } else {
        encrypted = kind === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(body);
    }
    if (encrypted && passphrase === undefined) return "ssh: this private key is passphrase protected";
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// Running OpenSSH

/** POSIX shell single-quoting. */
function shq(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** net.JoinHostPort. */
function joinHostPort(host: string, port: number): string {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The known_hosts name OpenSSH looks up for host:port. */
function knownHostsName(host: string, port: number): string {
    const h = host.toLowerCase();
    return port === 22 ? h : `[${h}]:${port}`;
}

interface Hop {
    readonly args: string[];
    readonly env: Record<string, string>;
}

/** The ssh options and environment that authenticate and verify one hop (target or proxy). */
function hopOptions(c: ConnectionSpec, dir: string, label: "target" | "proxy", logFile: string, connectTimeout: number): Hop {
    // No configuration files (the real provider reads none); the client's own messages go to
    // `logFile` (-E), so that standard error carries only the remote command's.
    const args: string[] = ["-F", "/dev/null", "-T", "-E", logFile, "-o", "LogLevel=INFO", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no", "-o", "CheckHostIP=no"];
    const env: Record<string, string> = {};
    if (c.hostKey !== undefined) {
        const key = parseHostKey(c.hostKey);
        const knownHosts = path.join(dir, `known_hosts_${label}`);
        fs.writeFileSync(knownHosts, `${knownHostsName(c.host, c.port)} ${key.type} ${key.base64}\n`, { mode: 0o600 });
        args.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", `HostKeyAlgorithms=${key.type}`);
    } else {
        // ssh.InsecureIgnoreHostKey
        args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
    }
    if (connectTimeout > 0) args.push("-o", `ConnectTimeout=${connectTimeout}`);
    const methods = ["publickey"];
    if (c.privateKey !== undefined) {
        const keyFile = path.join(dir, `key_${label}`);
        fs.writeFileSync(keyFile, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
        args.push("-i", keyFile);
    } else {
        // No default identity files (~/.ssh/id_*): the real provider offers only what it is given.
        args.push("-o", `IdentityFile=${path.join(dir, `no_key_${label}`)}`);
    }
    const agent = c.agentSocketPath ?? process.env.SSH_AUTH_SOCK;
    args.push("-o", `IdentityAgent=${agent ? agent : "none"}`);
    const prompts = c.password !== undefined || (c.privateKey !== undefined && c.privateKeyPassword !== undefined);
    if (c.password !== undefined) methods.push("password", "keyboard-interactive");
    args.push("-o", `PreferredAuthentications=${methods.join(",")}`, "-o", `PasswordAuthentication=${c.password !== undefined ? "yes" : "no"}`, "-o", `KbdInteractiveAuthentication=${c.password !== undefined ? "yes" : "no"}`);
    if (prompts) {
        // Passphrase and password through SSH_ASKPASS; the values travel in the environment only.
        const askpass = path.join(dir, `askpass_${label}`);
        const prefix = `STANDIN_SSH_${label.toUpperCase()}`;
        fs.writeFileSync(askpass, `#!/bin/sh\ncase "$1" in\n  *assphrase*) printf '%s\\n' "$${prefix}_PASSPHRASE" ;;\n  *) printf '%s\\n' "$${prefix}_PASSWORD" ;;\nesac\n`, { mode: 0o700 });
        args.push("-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1");
        env.SSH_ASKPASS = askpass;
        env.SSH_ASKPASS_REQUIRE = "force";
        if (c.password !== undefined) env[`${prefix}_PASSWORD`] = c.password;
        if (c.privateKeyPassword !== undefined) env[`${prefix}_PASSPHRASE`] = c.privateKeyPassword;
    } else {
        args.push("-o", "BatchMode=yes");
    }
    args.push("-p", String(c.port), "-l", c.user);
    return { args, env };
}

/** One ssh run: what happened, from the outside. */
interface Attempt {
    /** Authentication succeeded (the ssh client ran its LocalCommand): the "dial" succeeded. */
    readonly connected: boolean;
    readonly status: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    /** stdout and stderr in arrival order (the real provider's combined buffer). */
    readonly combined: string;
    /** The ssh client's own messages (its -E log). */
    readonly sshLog: string;
    /** The proxy hop's ssh client's messages (only with a proxy). */
    readonly proxyLog: string;
}

interface AttemptOptions {
    readonly connection: ConnectionSpec;
    readonly dir: string;
    readonly attempt: number;
    readonly command: string;
    readonly stdin: string;
    readonly env: Record<string, string>;
    readonly onLine?: (stream: "stdout" | "stderr", line: string) => void;
    readonly children: Set<ChildProcess>;
    readonly sshPath: string;
}

function runAttempt(o: AttemptOptions): Promise<Attempt> {
    const proxy = o.connection.proxy;
    const logFile = path.join(o.dir, `ssh_log_${o.attempt}`);
    const proxyLogFile = path.join(o.dir, `proxy_log_${o.attempt}`);
    // Through a proxy the client's timeout also runs while the proxy hop connects: give it both.
    const timeout = proxy ? (o.connection.perDialTimeout > 0 && proxy.perDialTimeout > 0 ? o.connection.perDialTimeout + proxy.perDialTimeout : 0) : o.connection.perDialTimeout;
    const target = hopOptions(o.connection, o.dir, "target", logFile, timeout);
    const marker = path.join(o.dir, `connected_${o.attempt}`);
    const args = [...target.args, "-o", "PermitLocalCommand=yes", "-o", `LocalCommand=touch ${shq(marker).replace(/%/g, "%%")}`];
    const env: Record<string, string> = { ...target.env };
    if (proxy) {
        // The proxy hop: its own ssh with its own credentials and pinned key, forwarding stdio to
        // the target (`-W`). Its diagnostics go to a file so that a proxy failure can be told apart.
        const hop = hopOptions(proxy, o.dir, "proxy", proxyLogFile, proxy.perDialTimeout);
        const pct = (a: string) => a.replace(/%/g, "%%");
        const visible = Object.entries(hop.env).filter(([k]) => k.startsWith("SSH_ASKPASS"));
        // Secrets of the proxy hop travel in the environment (inherited), never on a command line.
        for (const [k, v] of Object.entries(hop.env)) if (!k.startsWith("SSH_ASKPASS")) env[k] = v;
        const words = [
            ...(visible.length > 0 ? ["env", ...visible.map(([k, v]) => shq(pct(`${k}=${v}`)))] : []),
            ...[o.sshPath, ...hop.args].map((a) => shq(pct(a))),
            "-W",
            shq("[%h]:%p"),
            "--",
            shq(pct(proxy.host)),
        ];
        args.push("-o", `ProxyCommand=${words.join(" ")}`);
    }
    for (const name of Object.keys(o.env)) args.push("-o", `SendEnv=${name}`);
    // An empty command would open a login shell reading stdin; the real provider execs "" (a no-op).
    args.push("--", o.connection.host, o.command === "" ? "true" : o.command);

    return new Promise((resolve, reject) => {
        const child = spawn(o.sshPath, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env, ...o.env } });
        o.children.add(child);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const all: Buffer[] = [];
        const partial = { stdout: "", stderr: "" };
        const collect = (stream: "stdout" | "stderr", sink: Buffer[]) => (chunk: Buffer) => {
            sink.push(chunk);
            all.push(chunk);
            // Only the command's own output: before the marker, stderr is the ssh client's.
            if (!o.onLine || !fs.existsSync(marker)) return;
            const lines = (partial[stream] + chunk.toString("utf8")).split("\n");
            partial[stream] = lines.pop() ?? "";
            for (const line of lines) o.onLine(stream, line);
        };
        child.stdout.on("data", collect("stdout", out));
        child.stderr.on("data", collect("stderr", err));
        child.stdin.on("error", () => undefined); // the remote may exit without reading its input
        child.on("error", (e) => {
            o.children.delete(child);
            reject(new Error(`cannot run ${o.sshPath}: ${e.message}`));
        });
        child.on("close", (status, signal) => {
            o.children.delete(child);
            if (o.onLine && fs.existsSync(marker)) for (const stream of ["stdout", "stderr"] as const) if (partial[stream]) o.onLine(stream, partial[stream]);
            resolve({
                connected: fs.existsSync(marker) || status === 0,
                status,
                signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
                combined: Buffer.concat(all).toString("utf8"),
                sshLog: fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "",
                proxyLog: fs.existsSync(proxyLogFile) ? fs.readFileSync(proxyLogFile, "utf8") : "",
            });
        });
        child.stdin.end(o.stdin);
    });
}

/** The boilerplate of OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED" banner. */
const BANNER = /^(@+.*|IT IS POSSIBLE THAT .*|Someone could be .*|It is also possible .*|The fingerprint for .*|SHA256:.*|Please contact .*|Add correct host key .*|Offending .*|remove with:|\s*ssh-keygen -f .*|Warning: Permanently added .*|no such identity: .*)$/i;

/** The ssh client's own diagnostics, without the boilerplate of its host key warning (last 12 lines). */
function sshLines(text: string): string[] {
    return text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !BANNER.test(l))
        .slice(-12);
}

/** A dial failure of OpenSSH in golang.org/x/crypto/ssh's words (what the real provider reports). */
export function goDialError(stderr: string, c: ConnectionSpec, offeredHostKeyType: string | undefined): string {
    const text = stderr;
    const target = joinHostPort(c.host, c.port);
    const resolve = /Could not resolve hostname ([^:]+):/.exec(text);
    if (resolve) return `dial tcp: lookup ${c.host}: no such host`;
    if (/Connection refused/.test(text)) return `dial tcp ${target}: connect: connection refused`;
    if (/No route to host/.test(text)) return `dial tcp ${target}: connect: no route to host`;
    if (/Network is unreachable/.test(text)) return `dial tcp ${target}: connect: network is unreachable`;
    if (/Connection timed out|Operation timed out|timed out during banner exchange/.test(text)) return `dial tcp ${target}: i/o timeout`;
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|has changed and you have requested strict checking/.test(text)) {
        return "ssh: handshake failed: ssh: host key mismatch";
    }
    const negotiate = /no matching (host key type|key exchange method|cipher|MAC) found\. Their offer: (\S+)/.exec(text);
    if (negotiate) {
        const what = { "host key type": "host key", "key exchange method": "key exchange", cipher: "client to server cipher", MAC: "client to server MAC" }[negotiate[1]] ?? negotiate[1];
        const client = what === "host key" && offeredHostKeyType ? `[${offeredHostKeyType}]` : "[...]";
        return `ssh: handshake failed: ssh: no common algorithm for ${what}; client offered: ${client}, server offered: [${negotiate[2].split(",").join(" ")}]`;
    }
    if (/Permission denied/.test(text)) {
        const keys = c.privateKey !== undefined || Boolean(c.agentSocketPath ?? process.env.SSH_AUTH_SOCK);
        const tried = ["none", ...(keys ? ["publickey"] : []), ...(c.password !== undefined ? ["password", "keyboard-interactive"] : [])];
        return `ssh: handshake failed: ssh: unable to authenticate, attempted methods [${tried.join(" ")}], no supported methods remain`;
    }
    if (/Connection reset/.test(text)) return `ssh: handshake failed: read tcp ${target}: connection reset by peer`;
    if (/Connection closed|kex_exchange_identification|closed by remote host/.test(text)) return "ssh: handshake failed: EOF";
    const last = sshLines(text).pop();
    return `ssh: handshake failed: ${last ?? "the ssh client failed without a message"}`;
}

function hostKeyTypeOf(c: ConnectionSpec): string | undefined {
    try {
        return c.hostKey !== undefined ? parseHostKey(c.hostKey).type : undefined;
    } catch {
        return undefined;
    }
}

/** Lines naming where a failure happened: the stand-in's own words, with ssh's diagnostics. */
function sshSaid(c: ConnectionSpec, text: string): string {
    const lines = sshLines(text);
    const who = `ssh ${c.user}@${c.host} port ${c.port}`;
    return lines.length === 0 ? `\n${who}: (no message from ssh)` : lines.map((l) => `\n${who}: ${l}`).join("");
}

class DialError extends Error {}

export interface EngineLog {
    status(urn: string, message: string): void;
    warn(urn: string, message: string): void;
    error(urn: string, message: string): void;
}

/** Logs to the engine (the provider's --engine address) when there is one; else nowhere. */
class EngineLogger implements EngineLog {
    private client?: enginerpc.EngineClient;

    constructor(private readonly address: string | undefined) {}

    private send(severity: engineproto.LogSeverity, urn: string, message: string, ephemeral: boolean): void {
        if (!this.address) return;
        try {
            this.client ??= new enginerpc.EngineClient(this.address, grpc.credentials.createInsecure());
            const request = new engineproto.LogRequest();
            request.setSeverity(severity);
            request.setUrn(urn);
            request.setMessage(message);
            request.setEphemeral(ephemeral);
            this.client.log(request, () => undefined);
        } catch {
            // Logging is best effort: it never fails an operation.
        }
    }

    status(urn: string, message: string): void {
        this.send(engineproto.LogSeverity.INFO, urn, message, true);
    }

    warn(urn: string, message: string): void {
        this.send(engineproto.LogSeverity.WARNING, urn, message, false);
    }

    error(urn: string, message: string): void {
        this.send(engineproto.LogSeverity.ERROR, urn, message, false);
    }
}

function setenvAdvice(key: string): string {
    return `Unable to set '${key}'. This only works if your SSH server is configured to accept
\tthese variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could
\tprefix the command itself with the variables in the form 'VAR=value command'`;
}

/** Temporary folders of the calls under way (removed at exit too, should the plugin be stopped mid-call). */
const liveDirs = new Set<string>();

function removeLiveDirs(): void {
    for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.clear();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CommandProviderOptions {
    /** The engine's address (the plugin's first argument): status lines and warnings go there. */
    readonly engineAddress?: string;
    /** A logger instead of the engine (tests). */
    readonly log?: EngineLog;
    /** The OpenSSH client. Default: `ssh` on PATH. */
    readonly sshPath?: string;
}

interface RunOptions {
    readonly urn: string;
    readonly logging?: string;
    /** Previous stdout/stderr (update, delete), for PULUMI_COMMAND_STDOUT/STDERR. */
    readonly previous?: { readonly stdout?: string; readonly stderr?: string };
    readonly secrets: Set<string>;
}

export class CommandProvider implements pulumiProvider.Provider {
    readonly version = PROVIDER_VERSION;
    private readonly log: EngineLog;
    private readonly sshPath: string;
    private readonly children = new Set<ChildProcess>();
    private cancelled = false;

    constructor(options: CommandProviderOptions = {}) {
        this.log = options.log ?? new EngineLogger(options.engineAddress);
        this.sshPath = options.sshPath ?? "ssh";
    }

    private static assertModelled(urn: string): void {
        const type = urn.split("::")[2]?.split("$").pop() ?? "";
        if (type === REMOTE_COMMAND) return;
        throw new Error(
            `${type || urn} is not modelled by the command stand-in (e2e/standins/command.ts): it models ${REMOTE_COMMAND} only ` +
                "(the real pulumi-command provider cannot be built here)",
        );
    }

    /** Runs `fn`, logs the call (inputs redacted), and returns or rethrows a scrubbed error. */
    private async logged<T>(operation: Operation, urn: string, id: string | undefined, inputs: unknown, secrets: Set<string>, fn: () => Promise<T>): Promise<T> {
        const record = { provider: "command", operation, type: urn.split("::")[2]?.split("$").pop() ?? "", name: nameOfUrn(urn), ...(id ? { id } : {}), inputs: forLog(inputs) };
        try {
            const result = await fn();
            logCall({ ...record, result: "ok" });
            return result;
        } catch (e) {
            const message = scrub(e instanceof Error ? e.message : String(e), secrets);
            logCall({ ...record, result: message });
            throw new Error(message);
        }
    }

    async check(urn: string, _olds: unknown, news: Record<string, unknown>): Promise<pulumiProvider.CheckResult> {
        return this.logged("check", urn, undefined, news, secretsOf(news), async () => {
            CommandProvider.assertModelled(urn);
            return checkInputs(news);
        });
    }

    async diff(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<pulumiProvider.DiffResult> {
        return this.logged("diff", urn, id, news, secretsOf(news), async () => {
            CommandProvider.assertModelled(urn);
            const { changes, replaces } = diffInputs(olds, news);
            return { changes, replaces };
        });
    }

    async create(urn: string, inputs: Record<string, unknown>): Promise<pulumiProvider.CreateResult> {
        const secrets = secretsOf(inputs);
        const id = `${nameOfUrn(urn)}${crypto.randomBytes(4).toString("hex")}`;
        return this.logged("create", urn, id, inputs, secrets, async () => {
            CommandProvider.assertModelled(urn);
            const spec = commandSpec(reveal(inputs) as Record<string, unknown>);
            let output = { stdout: "", stderr: "" };
            if (spec.create !== undefined) output = await this.run(spec, spec.create, { urn, logging: spec.logging, secrets });
            return { id, outs: this.outputs(inputs, output) };
        });
    }

    async update(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<pulumiProvider.UpdateResult> {
        const secrets = secretsOf(news);
        return this.logged("update", urn, id, news, secrets, async () => {
            CommandProvider.assertModelled(urn);
            const spec = commandSpec(reveal(news) as Record<string, unknown>);
            const previous = { stdout: str(reveal(olds.stdout)) ?? "", stderr: str(reveal(olds.stderr)) ?? "" };
            const command = spec.update ?? spec.create;
            const output = command === undefined ? previous : await this.run(spec, command, { urn, logging: spec.logging, previous, secrets });
            return { outs: this.outputs(news, output) };
        });
    }

    async delete(id: string, urn: string, props: Record<string, unknown>): Promise<void> {
        const secrets = secretsOf(props);
        const inputs = Object.fromEntries(Object.entries(props).filter(([k]) => k !== "stdout" && k !== "stderr"));
        await this.logged("delete", urn, id, inputs, secrets, async () => {
            CommandProvider.assertModelled(urn);
            const spec = commandSpec(reveal(props) as Record<string, unknown>);
            if (spec.delete === undefined) return;
            await this.run(spec, spec.delete, { urn, logging: spec.logging, previous: { stdout: spec.stdout, stderr: spec.stderr }, secrets });
        });
    }

    async read(id: string, urn: string, props: Record<string, unknown>): Promise<pulumiProvider.ReadResult> {
        const inputs = Object.fromEntries(Object.entries(props ?? {}).filter(([k]) => k !== "stdout" && k !== "stderr"));
        return this.logged("read", urn, id, inputs, secretsOf(props ?? {}), async () => {
            CommandProvider.assertModelled(urn);
            // The real resource has no Read: refresh keeps the state as it is.
            return { id, props, inputs };
        });
    }

    async cancel(): Promise<void> {
        this.cancelled = true;
        for (const child of this.children) child.kill("SIGTERM");
    }

    /** The state: the inputs (their secretness kept, `connection` always secret) plus stdout and stderr. */
    private outputs(inputs: Record<string, unknown>, output: { stdout?: string; stderr?: string }): Record<string, unknown> {
        const outs: Record<string, unknown> = { ...inputs, stdout: output.stdout ?? "", stderr: output.stderr ?? "" };
        if (outs.connection !== undefined) outs.connection = makeSecret(outs.connection);
        return outs;
    }

    /**
     * Dials (with the real provider's retries) and runs `command` with `stdin` and `env`.
     * Returns the attempt that connected; throws the real provider's dial error otherwise.
     */
    private async dialAndRun(
        c: ConnectionSpec,
        dir: string,
        counter: { n: number },
        urn: string,
        command: string,
        stdin: string,
        env: Record<string, string>,
        onLine?: (stream: "stdout" | "stderr", line: string) => void,
    ): Promise<Attempt> {
        const limitText = (limit: number) => (limit === -1 ? "inf" : String(limit));
        const reached = (dials: number, limit: number) => limit > -1 && dials > limit;
        let delay = RETRY_DELAY_MS;
        const tries = { proxy: 0, target: 0 };
        while (true) {
            if (this.cancelled) throw new Error("context canceled");
            const attempt = await runAttempt({ connection: c, dir, attempt: counter.n++, command, stdin, env, onLine, children: this.children, sshPath: this.sshPath });
            if (attempt.connected) return attempt;
            if (attempt.signal) throw new Error(`ssh was stopped by ${attempt.signal}`);
            let failure: string;
            let stage: "Dial" | "Dial proxy" | "Dial from proxy";
            let limit: number;
            let where: string;
            const proxy = c.proxy;
            if (proxy && /open failed|stdio forwarding failed/.test(attempt.proxyLog)) {
                const reason = /open failed: (?:connect failed: )?(.*)/.exec(attempt.proxyLog)?.[1]?.trim() ?? "connect failed";
                stage = "Dial from proxy";
                limit = c.dialErrorLimit;
                failure = `ssh: rejected: connect failed (${reason})`;
                where = sshSaid(proxy, attempt.proxyLog);
            } else if (proxy && sshLines(attempt.proxyLog).length > 0) {
                stage = "Dial proxy";
                limit = proxy.dialErrorLimit;
                failure = goDialError(attempt.proxyLog, proxy, hostKeyTypeOf(proxy));
                where = sshSaid(proxy, attempt.proxyLog);
            } else {
                stage = "Dial";
                limit = c.dialErrorLimit;
                failure = goDialError(attempt.sshLog, c, hostKeyTypeOf(c));
                where = sshSaid(c, attempt.sshLog);
            }
            const key = stage === "Dial proxy" ? "proxy" : "target";
            const tried = tries[key]++;
            if (reached(tried + 1, limit)) {
                throw new DialError(`${proxy ? "proxy: " : ""}after ${tried} failed attempts: ${failure}${where}`);
            }
            this.log.status(urn, `${stage} ${tried + 1}/${limitText(limit)} failed: retrying`);
            await sleep(Math.min(delay, RETRY_MAX_DELAY_MS));
            delay = Math.min(delay, RETRY_MAX_DELAY_MS) * RETRY_BACKOFF;
        }
    }

    /** Which of `names` the server did not set (a probe session: printenv each). */
    private async refusedEnv(c: ConnectionSpec, dir: string, counter: { n: number }, urn: string, env: Record<string, string>): Promise<string[]> {
        const names = Object.keys(env);
        const done = `standin-env-probe-${crypto.randomBytes(6).toString("hex")}`;
        const probe = [...names.map((n) => `printenv ${shq(n)} >/dev/null || echo ${shq(n)}`), `echo ${done}`].join("; ");
        const attempt = await this.dialAndRun(c, dir, counter, urn, probe, "", env);
        const lines = attempt.stdout.split("\n").map((l) => l.trim());
        if (!lines.includes(done)) return [];
        return names.filter((n) => lines.includes(n));
    }

    private async run(spec: CommandSpec, command: string, o: RunOptions): Promise<{ stdout: string; stderr: string }> {
        const c = spec.connection;
        for (const hop of [c, ...(c.proxy ? [c.proxy] : [])]) {
            const label = hop === c ? "" : "proxy: ";
            if (hop.hostKey !== undefined) {
                try {
                    parseHostKey(hop.hostKey);
                } catch (e) {
                    throw new Error(`${label}failed to parse hostKey: ${(e as Error).message}`);
                }
            }
            if (hop.privateKey !== undefined) {
                const problem = privateKeyProblem(hop.privateKey, hop.privateKeyPassword);
                if (problem) throw new Error(`${label}${problem}`);
            }
            const agent = hop.agentSocketPath ?? process.env.SSH_AUTH_SOCK;
            if (agent && !fs.existsSync(agent)) throw new Error(`${label}dial unix ${agent}: connect: no such file or directory`);
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "command-standin-"));
        liveDirs.add(dir);
        const counter = { n: 0 };
        try {
            // Environment first (a refusal fails the run), then the previous output (a refusal warns).
            const env: Record<string, string> = { ...(spec.environment ?? {}) };
            const previous: Record<string, string> = {};
            if (spec.addPreviousOutputInEnv !== false && o.previous) {
                if (o.previous.stdout) previous.PULUMI_COMMAND_STDOUT = o.previous.stdout;
                if (o.previous.stderr) previous.PULUMI_COMMAND_STDERR = o.previous.stderr;
            }
            const all = { ...env, ...previous };
            if (Object.keys(all).length > 0) {
                const refused = await this.refusedEnv(c, dir, counter, o.urn, all);
                for (const name of refused) {
                    if (name in env) {
                        this.log.error(o.urn, setenvAdvice(name));
                        throw new Error(`could not set environment variable ${goQuote(name)}: ssh: setenv failed`);
                    }
                    this.log.warn(o.urn, setenvAdvice(name));
                    delete all[name];
                }
            }
            const logStdout = o.logging === undefined || o.logging === "stdout" || o.logging === "stdoutAndStderr";
            const logStderr = o.logging === undefined || o.logging === "stderr" || o.logging === "stdoutAndStderr";
            const onLine = (stream: "stdout" | "stderr", line: string) => {
                if ((stream === "stdout" && logStdout) || (stream === "stderr" && logStderr)) this.log.status(o.urn, scrub(line, o.secrets));
            };
            const attempt = await this.dialAndRun(c, dir, counter, o.urn, command, spec.stdin ?? "", all, onLine);
            if (attempt.status !== 0) {
                const lostSession = attempt.status === 255 && /closed by remote host|Broken pipe|Connection reset/.test(`${sshLines(attempt.sshLog).slice(-1)[0] ?? ""}\n${sshLines(attempt.stderr).slice(-1)[0] ?? ""}`);
                const reason = lostSession
                    ? "wait: remote command exited without exit status or exit signal"
                    : attempt.signal
                      ? `ssh was stopped by ${attempt.signal}`
                      : `Process exited with status ${attempt.status}`;
                let output = attempt.combined;
                if (Buffer.byteLength(output) > ERROR_OUTPUT_LIMIT) {
                    const tail = Buffer.from(output).subarray(-ERROR_OUTPUT_LIMIT).toString("utf8");
                    output = `[... ${Buffer.byteLength(output) - Buffer.byteLength(tail)} bytes of earlier output cut by the stand-in ...]\n${tail}`;
                }
                const where = `(on ${c.user}@${joinHostPort(c.host, c.port)}${c.proxy ? ` through ${c.proxy.user}@${joinHostPort(c.proxy.host, c.proxy.port)}` : ""})`;
                throw new Error(`${reason}: running ${goQuote(command)}:\n${output}${output.endsWith("\n") || output === "" ? "" : "\n"}${where}`);
            }
            return { stdout: attempt.stdout.replace(/\n$/, ""), stderr: attempt.stderr.replace(/\n$/, "") };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            liveDirs.delete(dir);
        }
    }
}

/** The engine's address among the plugin's arguments (flags the CLI adds are skipped). */
export function engineAddressOf(args: string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--logtostderr" || a.startsWith("-v=")) continue;
        if (a === "--tracing") {
            i++;
            continue;
        }
        return a;
    }
    return undefined;
}

if (require.main === module) {
    process.on("exit", removeLiveDirs);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.on(signal, () => {
            removeLiveDirs();
            process.exit(1);
        });
    }
    const args = process.argv.slice(2);
    void pulumiProvider.main(new CommandProvider({ engineAddress: engineAddressOf(args) }), args);
}
