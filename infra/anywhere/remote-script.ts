/**
 * How a host script runs over SSH: the one builder that both the Pulumi program and the SSH
 * test bed use, so the tests run exactly the command line the program sends.
 *
 * The command is `$(root or "sudo -n") env NAME='value'... bash -c '<common.sh + step.sh>' ecs-anywhere-<step>`:
 * no file is copied first, every value is shell-quoted, and nothing secret is on it (secrets go
 * on standard input, because a failed command's error shows its command line).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The host lifecycle steps, each a script in `hosts/bootstrap/<step>.sh`. */
export const HOST_STEPS = ["preflight", "seal", "install", "prepare-data", "verify", "deregister"] as const;
export type HostStep = (typeof HOST_STEPS)[number];

/** Folder of the host scripts. */
export const BOOTSTRAP_DIR = path.resolve(__dirname, "..", "..", "hosts", "bootstrap");

/** Quotes `value` as one POSIX shell word: `a'b` becomes `'a'\''b'`. */
export function shellQuote(value: string): string {
    if (value.includes("\0")) throw new Error("a shell argument cannot contain a NUL byte");
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The text `bash -c` runs for `step`: the shared helpers, then the step's own script. */
export function hostScript(step: HostStep, dir: string = BOOTSTRAP_DIR): string {
    const common = fs.readFileSync(path.join(dir, "common.sh"), "utf8");
    const own = fs.readFileSync(path.join(dir, `${step}.sh`), "utf8");
    return `${common}\n${own}`;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The command line that runs `step` on a host with `env` as its settings (see the header of
 * each script for the variables it reads). Runs as root, or through passwordless sudo.
 */
export function remoteScriptCommand(step: HostStep, env: Readonly<Record<string, string>>, dir?: string): string {
    if (!(HOST_STEPS as readonly string[]).includes(step)) throw new Error(`unknown host step ${JSON.stringify(step)}`);
    const assignments = Object.entries(env).map(([name, value]) => {
        if (!ENV_NAME.test(name)) throw new Error(`bad variable name ${JSON.stringify(name)} for host step ${step}`);
        return `${name}=${shellQuote(value)}`;
    });
    const elevate = `$([ "$(id -u)" -eq 0 ] || printf 'sudo -n')`;
    return [elevate, "env", ...assignments, "bash", "-c", shellQuote(hostScript(step, dir)), `ecs-anywhere-${step}`].join(" ");
}
