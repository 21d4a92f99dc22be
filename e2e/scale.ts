/**
 * `npm run e2e:scale [-- 1,4,8]`: wall time of `pulumi up -s anywhere` and of `pulumi destroy -s
 * anywhere` under the real engine for 1, 4 and 8 test hosts (the figure in docs/performance.md).
 * Hosts register in parallel, so 8 should cost little more than 1. One region stack serves every
 * size; each size gets its own anywhere stack (anywhere-s<N>) on fresh hosts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TestBed } from "../hosts/test/testbed";
import { configureSite, expect, REGION, Sandbox, sandboxUnavailable } from "./sandbox-runner";

async function main(): Promise<void> {
    const sizes = (process.argv[2] ?? "1,4,8").split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 12)) throw new Error(`sizes must be whole numbers 1 to 12, e.g. 1,4,8 (got ${process.argv[2]})`);
    const unavailable = sandboxUnavailable();
    if (unavailable !== undefined) {
        console.log(`e2e:scale: SKIPPED: it ${unavailable}`);
        return;
    }
    const sandbox = new Sandbox();
    const rows: string[] = [];
    try {
        await sandbox.pulumi(["stack", "init", "region"]);
        await sandbox.pulumi(["config", "set", "-s", "region", "aws:region", REGION]);
        const region = await sandbox.pulumi(["up", "-s", "region", "--yes"]);
        rows.push(`| region stack | - | ${region.seconds.toFixed(1)} s | |`);
        for (const size of sizes) {
            const bed = new TestBed();
            try {
                const hosts = [];
                for (let i = 0; i < size; i++) hosts.push(await bed.addHost(`h${i + 1}`));
                const dataDir = path.join(sandbox.state, `data-${size}`);
                fs.mkdirSync(dataDir);
                const stack = `anywhere-s${size}`;
                await configureSite(sandbox, stack, bed, hosts, dataDir);
                const up = await sandbox.pulumi(["up", "-s", stack, "--yes"]);
                for (const host of hosts) expect(host.installerRuns().length === 1, `${host.name} was not registered once`);
                const destroy = await sandbox.pulumi(["destroy", "-s", stack, "--yes"]);
                rows.push(`| anywhere, ${size} host${size === 1 ? "" : "s"} | ${size} | ${up.seconds.toFixed(1)} s | ${destroy.seconds.toFixed(1)} s |`);
            } finally {
                await bed.cleanUp();
            }
        }
        await sandbox.pulumi(["destroy", "-s", "region", "--yes"]);
        console.log("\n| stack | hosts | pulumi up | pulumi destroy |\n|---|---|---|---|");
        for (const row of rows) console.log(row);
    } finally {
        fs.rmSync(sandbox.state, { recursive: true, force: true });
    }
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
});
