/** Which Node.js the worker runs on: the check at start, and the image and tests kept on one major. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { findOlderNode, runTraced } from "../../test-support/older-node";
import { MINIMUM_NODE_VERSION, nodeVersionProblem } from "../src/node-version";
import { buildWorker, jsonLines } from "./support/harness";

const ROOT = path.resolve(__dirname, "..", "..");
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
const minimumMajor = Number(MINIMUM_NODE_VERSION.split(".")[0]);

describe("Node.js version check", () => {
    it("refuses an end-of-life or too old Node, naming it, the version needed and the fix", () => {
        for (const [version, shown] of [
            ["v20.20.2", "20.20.2"],
            ["v18.20.8", "18.20.8"],
            ["v22.12.0", "22.12.0"],
            ["21.7.3", "21.7.3"],
        ]) {
            const problem = nodeVersionProblem(version, "the worker");
            assert.ok(problem, `${version} was accepted`);
            assert.match(problem, new RegExp(`^Node\\.js ${shown.replace(/\./g, "\\.")} is too old: the worker needs Node\\.js 22\\.13 or newer`));
            assert.match(problem, /Fix: install Node\.js 22\.13 or newer, an LTS release, put its node first on PATH/);
        }
    });

    it("accepts 22.13 and every newer release", () => {
        for (const version of ["v22.13.0", "v22.23.5", "22.14.0", "v24.0.0", "v24.22.3", "v26.12.1", "v100.0.0"]) {
            assert.equal(nodeVersionProblem(version, "the worker"), undefined, version);
        }
        assert.equal(nodeVersionProblem(process.version, "the worker"), undefined, `the tests' own ${process.version}`);
    });

    it("refuses a version it cannot read, quoting it", () => {
        assert.match(nodeVersionProblem("vNext", "the worker") ?? "", /^cannot read the Node\.js version "vNext": the worker needs Node\.js 22\.13 or newer/);
    });

    it("shows a minimum with a patch level in full, and rejects a minimum that is not a version", () => {
        assert.match(nodeVersionProblem("v24.1.0", "the worker", "24.1.2") ?? "", /^Node\.js 24\.1\.0 is too old: the worker needs Node\.js 24\.1\.2 or newer/);
        assert.throws(() => nodeVersionProblem("v24.1.0", "the worker", "24"), /minimum Node\.js version "24" is not a version like 22\.13\.0/);
    });

    it("under an older Node the worker exits 1 at once with one JSON line, before the AWS SDK loads", function () {
        const older = findOlderNode();
        if (!older) {
            console.log("      SKIPPED: no Node.js older than 22.13 is installed to start the worker under (the check itself is tested above)");
            this.skip();
        }
        buildWorker();
        const run = runTraced(older, [path.join("worker", "dist", "main.js")], ROOT);
        assert.equal(run.status, 1, run.stdout + run.stderr.slice(-2000));
        const lines = jsonLines(run.stdout);
        assert.equal(lines.length, 1, run.stdout);
        assert.equal(lines[0].event, "unsupported-node");
        assert.equal(lines[0].node, older.version);
        assert.equal(lines[0].required, `>=${MINIMUM_NODE_VERSION}`);
        assert.match(String(lines[0].error), new RegExp(`Node\\.js ${older.version.slice(1).replace(/\./g, "\\.")} is too old: the worker needs Node\\.js 22\\.13 or newer`));
        assert.deepEqual(
            run.loaded.map((file) => path.relative(ROOT, file)),
            ["worker/dist/main.js", "worker/dist/node-check.js", "worker/dist/node-version.js"],
            "nothing but the check loaded",
        );
    });
});

describe("Node.js versions in one place", () => {
    const versions = readJson("node-versions.json") as { image: number; tested: number[] };
    const pkg = readJson("package.json") as { engines: { node: string }; devDependencies: Record<string, string> };

    it("package.json's engines and @types/node follow the oldest version the check accepts", () => {
        const [major, minor] = MINIMUM_NODE_VERSION.split(".");
        assert.equal(pkg.engines.node, `>=${major}.${minor}`);
        assert.match(pkg.devDependencies["@types/node"], new RegExp(`^\\^${major}\\.`), "@types/node of the oldest supported major");
    });

    it("the tests run under the oldest supported major and the image's (node-versions.json)", () => {
        assert.equal(Math.min(...versions.tested), minimumMajor, "the oldest tested major is the oldest accepted");
        assert.ok(versions.tested.includes(versions.image), `the image's Node ${versions.image} is one the tests run under (${versions.tested.join(", ")})`);
    });

    it("the worker image builds from node-versions.json's image major", () => {
        const dockerfile = fs.readFileSync(path.join(ROOT, "worker", "Dockerfile"), "utf8");
        const image = /^ARG NODE_IMAGE=node:(\d+)-[\w.-]+$/m.exec(dockerfile);
        assert.ok(image, "worker/Dockerfile sets ARG NODE_IMAGE=node:<major>-<variant>");
        assert.equal(Number(image[1]), versions.image, `worker/Dockerfile builds from Node ${image[1]}, node-versions.json says ${versions.image}: change both together`);
    });
});
