/**
 * `npm run e2e:tools` refuses an upstream archive that is not the one pinned: another version than
 * the installed @pulumi/command or @pulumi/docker-build declares, a changed archive, none at all, a
 * missing companion archive. Nothing is built for these (the checks come first), so these run in
 * `npm test`, before any tool exists.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const BUILD = path.join(ROOT, "e2e", "tools", "build.sh");

/** The providers e2e:tools builds from upstream's source, each at the version its SDK package declares. */
const PROVIDERS = [
    { name: "command", sdk: "@pulumi/command" },
    { name: "docker-build", sdk: "@pulumi/docker-build" },
].map((p) => ({ ...p, version: (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", p.sdk, "package.json"), "utf8")) as { version: string }).version }));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

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

    /** build.sh in a copy of its tree (what it links or unpacks goes there, not into the checkout's cache); removed by `done`. */
    const scriptCopy = (): { script: string; done: () => void } => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "tools-root-"));
        fs.mkdirSync(path.join(copy, "e2e", "tools"), { recursive: true });
        for (const file of ["build.sh", "vendor.sha256"]) fs.copyFileSync(path.join(ROOT, "e2e", "tools", file), path.join(copy, "e2e", "tools", file));
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
        return { script: path.join(copy, "e2e", "tools", "build.sh"), done: () => fs.rmSync(copy, { recursive: true, force: true }) };
    };

    /** One tool's step alone, with `vendor` as the source folder and no plugin installed. */
    const buildOne = (tool: string, script = BUILD) => spawnSync("bash", [script, tool], { env: { ...process.env, E2E_VENDOR_DIR: vendor, PULUMI_HOME: home, E2E_TOOLS_BUILD: "" }, encoding: "utf8" });

    it("the pinned sums name every archive the vendor README lists, the providers' at the versions their SDKs declare", () => {
        const sums = fs.readFileSync(path.join(ROOT, "e2e", "tools", "vendor.sha256"), "utf8");
        for (const { name, version } of PROVIDERS) assert.match(sums, new RegExp(`^[0-9a-f]{64}  pulumi-${name}-${escape(version)}-provider\\.tar\\.gz$`, "m"));
        assert.match(sums, /^[0-9a-f]{64} {2}pulumi-language-nodejs-\d+\.\d+\.\d+\.tar\.gz$/m);
        assert.match(sums, /^[0-9a-f]{64} {2}pulumi-language-dotnet-\d+\.\d+\.\d+-codegen\.tar\.gz$/m);
        assert.match(sums, /^[0-9a-f]{64} {2}pulumi-java-codegen-shim\.tar\.gz$/m);
    });

    for (const { name, sdk, version } of PROVIDERS) {
        describe(`the ${name} provider`, () => {
            it(`refuses an archive of another version than the one ${sdk} declares, naming both`, () => {
                fs.writeFileSync(path.join(vendor, `pulumi-${name}-0.9.9-provider.tar.gz`), "not the archive");
                const run = buildOne(name);
                assert.equal(run.status, 1, run.stdout + run.stderr);
                assert.match(run.stderr, new RegExp(`has pulumi-${name}-0\\.9\\.9-provider\\.tar\\.gz but pulumi-${name}-${escape(version)}-provider\\.tar\\.gz is wanted \\(the version ${escape(sdk)} declares\\)`));
                assert.doesNotMatch(run.stderr, new RegExp(`no ${name} provider`));
            });

            it("refuses an archive whose sha256 is not the pinned one, before unpacking it", () => {
                fs.writeFileSync(path.join(vendor, `pulumi-${name}-${version}-provider.tar.gz`), "changed");
                const run = buildOne(name);
                assert.equal(run.status, 1, run.stdout + run.stderr);
                assert.match(run.stderr, /does not match its pinned sha256 [0-9a-f]{64} \(e2e\/tools\/vendor\.sha256\): the archive was changed or is another one/);
                assert.doesNotMatch(run.stderr, new RegExp(`no ${name} provider`), "the archive is there: no message saying it is not");
            });

            it("with neither an installed plugin nor an archive, names what is missing and both ways to get it", () => {
                const run = buildOne(name);
                assert.equal(run.status, 1, run.stdout + run.stderr);
                assert.ok(run.stderr.includes(`no ${name} provider v${version}: it is not installed (${home}/plugins/resource-${name}-v${version}/pulumi-resource-${name})`), run.stderr);
                assert.match(run.stderr, new RegExp(`set E2E_VENDOR_DIR, or run \`pulumi plugin install resource ${name} ${escape(version)}\``));
            });

            it("uses a plugin installed the usual way, and says so", () => {
                const plugin = path.join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
                fs.mkdirSync(path.dirname(plugin), { recursive: true });
                fs.writeFileSync(plugin, "#!/bin/sh\n", { mode: 0o755 });
                // The link would replace a built provider in the checkout's cache: run in a copy of the script's tree instead.
                const copy = scriptCopy();
                try {
                    const run = buildOne(name, copy.script);
                    assert.equal(run.status, 0, run.stdout + run.stderr);
                    assert.ok(run.stdout.includes(`pulumi-resource-${name}: using the installed ${plugin}`), run.stdout);
                    assert.equal(fs.readlinkSync(path.join(path.dirname(copy.script), "..", "..", ".cache", "pulumi", "bin", `pulumi-resource-${name}`)), plugin);
                } finally {
                    copy.done();
                }
            });
        });
    }

    it("the docker-build provider's archive without the .NET code generator's source beside it stops naming that archive, the version its go.mod requires", function () {
        // Where build.sh looks by default: beside the repository, or beside the checkout this one was cloned from.
        const origin = spawnSync("git", ["-C", ROOT, "config", "--get", "remote.origin.url"], { encoding: "utf8" }).stdout.trim();
        const beside = path.resolve(ROOT, "..", "shared", "vendor");
        const upstream = fs.existsSync(beside) || !origin ? beside : path.resolve(origin, "..", "shared", "vendor");
        const archive = `pulumi-docker-build-${PROVIDERS[1].version}-provider.tar.gz`;
        if (!fs.existsSync(path.join(upstream, archive))) {
            console.log(`      skipped: ${upstream} has no ${archive}`);
            this.skip();
        }
        fs.copyFileSync(path.join(upstream, archive), path.join(vendor, archive));
        // It unpacks the provider's source to read its go.mod: in a copy of the script's tree.
        const copy = scriptCopy();
        try {
            const run = buildOne("docker-build", copy.script);
            assert.equal(run.status, 1, run.stdout + run.stderr);
            assert.match(run.stderr, /no pulumi-language-dotnet-3\.107\.0-codegen\.tar\.gz in .*: the docker-build provider's build needs that code generator's source/);
        } finally {
            copy.done();
        }
    });

    it("a source folder that is not there stops the language host's build with what is missing, not silently", () => {
        const run = spawnSync("bash", [BUILD, "language-host"], { env: { ...process.env, E2E_VENDOR_DIR: path.join(vendor, "gone"), PULUMI_HOME: home, E2E_TOOLS_BUILD: "" }, encoding: "utf8" });
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.ok(run.stderr.includes(`no Node.js language host: no installed Pulumi CLI carries one, and ${path.join(vendor, "gone")} has no pulumi-language-nodejs-<version>.tar.gz`), run.stderr);
    });
});
