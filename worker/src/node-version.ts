/**
 * The oldest Node.js the worker and the Pulumi program accept, and the check their entry points
 * run before loading anything else (node-check.ts here, infra/node-check.ts for the program).
 * Plain syntax only: this must parse and run on the old Node it refuses.
 */

/**
 * `engines` in package.json says the same (a test keeps them equal): 22.13 is the oldest 22 that
 * every dependency accepts (Pulumi's SDK needs 22, mocha 22.12, ESLint's parser 22.13).
 */
export const MINIMUM_NODE_VERSION = "22.13.0";

function parse(version: string): number[] | undefined {
    const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
    return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/**
 * Why `version` (as `process.version` gives it, e.g. `v20.20.2`) cannot run `program`, or
 * undefined when it is `minimum` or newer. The message names both versions and the fix.
 */
export function nodeVersionProblem(version: string, program: string, minimum: string = MINIMUM_NODE_VERSION): string | undefined {
    const have = parse(version);
    const need = parse(minimum);
    if (!need) throw new Error(`minimum Node.js version ${JSON.stringify(minimum)} is not a version like 22.13.0`);
    if (have) {
        const differs = [0, 1, 2].find((i) => have[i] !== need[i]);
        if (differs === undefined || have[differs] > need[differs]) return undefined;
    }
    const shown = need[2] === 0 ? `${need[0]}.${need[1]}` : need.join(".");
    const what = have ? `Node.js ${have.join(".")} is too old` : `cannot read the Node.js version ${JSON.stringify(version)}`;
    return `${what}: ${program} needs Node.js ${shown} or newer (docs/testing.md, "Node.js versions", lists the tested ones). Fix: install Node.js ${shown} or newer, an LTS release, put its node first on PATH, and try again.`;
}
