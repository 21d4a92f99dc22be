/**
 * Root on a host follows no link inside the data folder (issue 29, item 2). The data folder is
 * mounted read-write into the worker, so a compromised worker (or anyone who writes there) can
 * plant links in it; the steps that run as root there (preflight's write probe, the data step)
 * must never act through one. Each test plants the attack over real SSH on the test bed and checks
 * the target outside the data folder is untouched.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostCommands, type HostStepSettings } from "../../infra/anywhere/host-commands";
import { testBedSettings } from "./step-settings";
import { TestBed, testBedUnavailable, type TestHost } from "./testbed";

const WORKER_UID = 10001;

describe("links in the data folder, over SSH", function () {
    this.timeout(120_000);
    let bed: TestBed;
    let host: TestHost;
    /** Outside the data folder: what a planted link points at, and must stay as it is. */
    let victimDir: string;
    let victimFile: string;
    const VICTIM_TEXT = "root's file: must not be truncated\n";

    before(async function () {
        const reason = testBedUnavailable();
        if (reason !== undefined) {
            console.log(`      SKIPPED the SSH test bed: it ${reason}`);
            this.skip();
        }
        bed = new TestBed();
        host = await bed.addHost("links");
    });
    after(async () => {
        await bed?.cleanUp();
    });

    beforeEach(() => {
        if (!host) return;
        fs.rmSync(host.dataDir, { recursive: true, force: true });
        fs.mkdirSync(host.dataDir, { mode: 0o755 });
        victimDir = path.join(host.dir, "victim-dir");
        victimFile = path.join(host.dir, "victim-file");
        fs.rmSync(victimDir, { recursive: true, force: true });
        fs.mkdirSync(victimDir, { mode: 0o755 });
        fs.chmodSync(victimDir, 0o755);
        fs.writeFileSync(victimFile, VICTIM_TEXT, { mode: 0o640 });
        fs.chmodSync(victimFile, 0o640);
    });

    const commands = (extra: Partial<HostStepSettings> = {}) => hostCommands(testBedSettings(host, extra));

    /** Owner, group and mode of `file` (not following a link). */
    const ownership = (file: string) => {
        const stats = fs.statSync(file);
        return { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 };
    };

    function expectVictimsUntouched(): void {
        assert.deepEqual(ownership(victimDir), { uid: 0, gid: 0, mode: 0o755 }, "the folder a link pointed at was changed");
        assert.deepEqual(ownership(victimFile), { uid: 0, gid: 0, mode: 0o640 }, "the file a link pointed at was changed");
        assert.equal(fs.readFileSync(victimFile, "utf8"), VICTIM_TEXT, "the file a link pointed at was written");
    }

    for (const folder of ["sourcefolder", "destinationfolder"]) {
        it(`the data step refuses a ${folder} that is a link (planted to a folder outside), naming it, and changes nothing through it`, async () => {
            fs.symlinkSync(victimDir, path.join(host.dataDir, folder));
            const result = await host.ssh(commands().prepareData);
            assert.equal(result.status, 1, result.stderr);
            assert.ok(result.stderr.includes(`[links] ecs-anywhere-prepare-data: error: ${host.dataDir}/${folder} is a symbolic link (to ${victimDir})`), result.stderr);
            assert.match(result.stderr, /fix: .*remove the link itself \(rm .*, not rm -r\)/);
            expectVictimsUntouched();
        });
    }

    it("the data step refuses a link to a file, and one that points nowhere, creating nothing through either", async () => {
        fs.symlinkSync(victimFile, path.join(host.dataDir, "sourcefolder"));
        fs.symlinkSync(path.join(host.dir, "not-there"), path.join(host.dataDir, "destinationfolder"));
        const file = await host.ssh(commands().prepareData);
        assert.equal(file.status, 1, file.stderr);
        assert.match(file.stderr, /sourcefolder is a symbolic link/);
        fs.unlinkSync(path.join(host.dataDir, "sourcefolder"));
        const nowhere = await host.ssh(commands().prepareData);
        assert.equal(nowhere.status, 1, nowhere.stderr);
        assert.match(nowhere.stderr, /destinationfolder is a symbolic link/);
        assert.ok(!fs.existsSync(path.join(host.dir, "not-there")), "a folder was made through the dangling link");
        expectVictimsUntouched();
    });

    it("preflight refuses a link where the worker's folders go, naming it", async () => {
        fs.symlinkSync(victimDir, path.join(host.dataDir, "destinationfolder"));
        const result = await host.ssh(commands().preflight);
        assert.equal(result.status, 1, result.stderr);
        assert.ok(result.stderr.includes(`[links] ecs-anywhere-preflight: error: ${host.dataDir}/destinationfolder is a symbolic link (to ${victimDir})`), result.stderr);
        expectVictimsUntouched();
    });

    it("preflight's write probe never writes through a link planted under a name it might pick", async () => {
        // The attack on a probe named after the shell's pid: a link for every pid likely to come next.
        const lastPid = Number(fs.readFileSync("/proc/sys/kernel/ns_last_pid", "utf8"));
        for (let pid = lastPid + 1; pid <= lastPid + 3000; pid++) fs.symlinkSync(victimFile, path.join(host.dataDir, `.ecs-anywhere-preflight.${pid}`));
        const result = await host.ssh(commands().preflight);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /data folder .* is present and writable/);
        expectVictimsUntouched();
        const left = fs.readdirSync(host.dataDir).filter((name) => !fs.lstatSync(path.join(host.dataDir, name)).isSymbolicLink());
        assert.deepEqual(left, [], "the probe was left behind");
    });

    it("the data step makes real folders for the worker in a data folder reached through the operator's link, and says where", async () => {
        const real = path.join(host.dir, "disk");
        fs.rmSync(real, { recursive: true, force: true });
        fs.mkdirSync(real);
        const linked = path.join(host.dir, "data-link");
        fs.rmSync(linked, { force: true });
        fs.symlinkSync(real, linked);
        const result = await host.ssh(commands({ dataDir: linked }).prepareData);
        assert.equal(result.status, 0, result.stderr);
        assert.ok(result.stderr.includes(`the data folder ${linked} is ${real}`), result.stderr);
        for (const folder of ["sourcefolder", "destinationfolder"]) {
            const made = path.join(real, folder);
            assert.ok(fs.lstatSync(made).isDirectory(), `${folder} is not a folder`);
            assert.deepEqual(ownership(made), { uid: WORKER_UID, gid: WORKER_UID, mode: 0o770 });
        }
    });

    it("the data step changes nothing through a link swapped in and out while it runs (a racing worker)", async function () {
        // A second process flips sourcefolder between a real folder and a link to the victim, as
        // fast as it can, while the data step runs again and again; whatever it finds, it must not
        // act through the link. Bounded: 30 runs.
        const folder = path.join(host.dataDir, "sourcefolder");
        const swapper = startSwapper(folder, victimDir);
        let refused = 0;
        let done = 0;
        try {
            for (let run = 0; run < 30; run++) {
                const result = await host.ssh(commands().prepareData);
                if (result.status === 0) done++;
                else {
                    assert.match(result.stderr, /sourcefolder (is a symbolic link|became a link|is not a folder|vanished)|cannot create/, result.stderr);
                    refused++;
                }
                expectVictimsUntouched();
            }
        } finally {
            swapper.kill("SIGKILL");
        }
        console.log(`      (30 runs against the swapper: ${done} made the folders, ${refused} refused a link)`);
        assert.ok(refused > 0, "the swapper never had a link in place when the data step looked: the race was not exercised");
    });
});

/**
 * Flips `folder` between a real folder and a link to `target` in a tight loop (a child process, so
 * the test's own event loop keeps serving SSH). Never leaves `folder` absent for long.
 */
function startSwapper(folder: string, target: string): ChildProcess {
    const code = `
        const fs = require("node:fs");
        const [folder, target] = process.argv.slice(1);
        const aside = folder + ".real", link = folder + ".link";
        const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.random() * 2);
        for (;;) {
            try { fs.rmSync(link, { force: true }); fs.symlinkSync(target, link); } catch {}
            // The real folder goes aside and the link takes its name...
            try { fs.rmSync(aside, { recursive: true, force: true }); fs.renameSync(folder, aside); } catch {}
            try { fs.renameSync(link, folder); } catch {}
            pause();
            // ...then the real folder comes back (over the link's name).
            try { fs.unlinkSync(folder); } catch {}
            try { fs.renameSync(aside, folder); } catch { try { fs.mkdirSync(folder); } catch {} }
            pause();
        }`;
    return spawn(process.execPath, ["-e", code, folder, target], { stdio: "ignore" });
}
