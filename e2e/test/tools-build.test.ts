/**
 * `npm run e2e:tools` refuses an upstream archive that is not the one pinned: another version than
 * the installed @pulumi/command declares, a changed archive, none at all. Nothing is built or
 * unpacked for these (the checks come first), so these run in `npm test`, before any tool exists.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const BUILD = path.join(ROOT, "e2e", "tools", "build.sh");
const COMMAND_VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "command", "package.json"), "utf8")) as { version: string }).version;

describe("e2e:tools: the upstream sources it builds from", function () {
    this.timeout(30_000);
    let vendor: string;
    let home: string;

    beforeEach(() => {
        vendor = fs.mkdtempSync(path.join(os.tmpdir(), "vendor-test-"));
        home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-test-"));
    });
    afterEach(() => {
        fs.rmSync(vendor, { recursive: true, force: true });
        fs.rmSync(home, { recursive: true, force: true });
    });

    /** The command provider's step alone, with `vendor` as the source folder and no plugin installed. */
    const buildCommand = () =>
        spawnSync("bash", [BUILD, "command"], { env: { ...process.env, E2E_VENDOR_DIR: vendor, PULUMI_HOME: home, E2E_TOOLS_BUILD: "" }, encoding: "utf8" });

    it("the pinned sums name both archives the vendor README lists, with the version @pulumi/command declares", () => {
        const sums = fs.readFileSync(path.join(ROOT, "e2e", "tools", "vendor.sha256"), "utf8");
        assert.match(sums, new RegExp(`^[0-9a-f]{64}  pulumi-command-${COMMAND_VERSION.replace(/\./g, "\\.")}-provider\\.tar\\.gz$`, "m"));
        assert.match(sums, /^[0-9a-f]{64} {2}pulumi-language-nodejs-\d+\.\d+\.\d+\.tar\.gz$/m);
    });

    it("refuses an archive of another version than the one @pulumi/command declares, naming both", () => {
        fs.writeFileSync(path.join(vendor, "pulumi-command-0.9.9-provider.tar.gz"), "not the archive");
        const run = buildCommand();
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stderr, new RegExp(`has pulumi-command-0\\.9\\.9-provider\\.tar\\.gz but pulumi-command-${COMMAND_VERSION.replace(/\./g, "\\.")}-provider\\.tar\\.gz is wanted \\(the version @pulumi/command declares\\)`));
        assert.doesNotMatch(run.stderr, /no command provider/);
    });

    it("refuses an archive whose sha256 is not the pinned one, before unpacking it", () => {
        fs.writeFileSync(path.join(vendor, `pulumi-command-${COMMAND_VERSION}-provider.tar.gz`), "changed");
        const run = buildCommand();
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stderr, /does not match its pinned sha256 [0-9a-f]{64} \(e2e\/tools\/vendor\.sha256\): the archive was changed or is another one/);
        assert.doesNotMatch(run.stderr, /no command provider/, "the archive is there: no message saying it is not");
    });

    it("with neither an installed plugin nor an archive, names what is missing and both ways to get it", () => {
        const run = buildCommand();
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.ok(run.stderr.includes(`no command provider v${COMMAND_VERSION}: it is not installed (${home}/plugins/resource-command-v${COMMAND_VERSION}/pulumi-resource-command)`), run.stderr);
        assert.match(run.stderr, new RegExp(`set E2E_VENDOR_DIR, or run \`pulumi plugin install resource command ${COMMAND_VERSION.replace(/\./g, "\\.")}\``));
    });

    it("a source folder that is not there stops the language host's build with what is missing, not silently", () => {
        const run = spawnSync("bash", [BUILD, "language-host"], { env: { ...process.env, E2E_VENDOR_DIR: path.join(vendor, "gone"), PULUMI_HOME: home, E2E_TOOLS_BUILD: "" }, encoding: "utf8" });
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.ok(run.stderr.includes(`no Node.js language host: no installed Pulumi CLI carries one, and ${path.join(vendor, "gone")} has no pulumi-language-nodejs-<version>.tar.gz`), run.stderr);
    });

    it("uses a command plugin installed the usual way, and says so", () => {
        const plugin = path.join(home, "plugins", `resource-command-v${COMMAND_VERSION}`, "pulumi-resource-command");
        fs.mkdirSync(path.dirname(plugin), { recursive: true });
        fs.writeFileSync(plugin, "#!/bin/sh\n", { mode: 0o755 });
        // The link would replace a built provider in the checkout's cache: run in a copy of the script's tree instead.
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "tools-root-"));
        try {
            fs.mkdirSync(path.join(copy, "e2e", "tools"), { recursive: true });
            for (const file of ["build.sh", "vendor.sha256"]) fs.copyFileSync(path.join(ROOT, "e2e", "tools", file), path.join(copy, "e2e", "tools", file));
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
            const run = spawnSync("bash", [path.join(copy, "e2e", "tools", "build.sh"), "command"], { env: { ...process.env, E2E_VENDOR_DIR: vendor, PULUMI_HOME: home, E2E_TOOLS_BUILD: "" }, encoding: "utf8" });
            assert.equal(run.status, 0, run.stdout + run.stderr);
            assert.ok(run.stdout.includes(`pulumi-resource-command: using the installed ${plugin}`), run.stdout);
            assert.equal(fs.readlinkSync(path.join(copy, ".cache", "pulumi", "bin", "pulumi-resource-command")), plugin);
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});
