/**
 * Pulumi.yaml as the engine reads it: a project config key declared without a default is
 * required in every stack (`pulumi up` stops with "Stack 'region' is missing configuration
 * values ..."), so optional keys are documented there but not declared.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { REPOSITORY_ROOT } from "./support/example-config";

interface Declaration {
    type?: string;
    default?: unknown;
    secret?: boolean;
}

const project = yaml.load(fs.readFileSync(path.join(REPOSITORY_ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, Declaration> };

describe("Pulumi.yaml", () => {
    it("declares only keys with a default, so no stack is missing a required value", () => {
        const required = Object.entries(project.config ?? {}).filter(([, declaration]) => declaration.default === undefined);
        assert.deepEqual(required.map(([key]) => key), [], "declared without a default (the engine then requires them in every stack)");
    });

    it("gives every declaration a type its default has", () => {
        for (const [key, declaration] of Object.entries(project.config ?? {})) {
            const expected = { integer: "number", boolean: "boolean", string: "string" }[declaration.type ?? ""];
            assert.ok(expected, `${key}: type ${String(declaration.type)} is not one of integer, boolean, string`);
            assert.equal(typeof declaration.default, expected, `${key}: default ${JSON.stringify(declaration.default)} is not a ${declaration.type}`);
            if (declaration.type === "integer") assert.ok(Number.isInteger(declaration.default), `${key}: default is not a whole number`);
        }
    });

    it("documents every optional key the program reads", () => {
        const text = fs.readFileSync(path.join(REPOSITORY_ROOT, "Pulumi.yaml"), "utf8");
        for (const key of ["desiredCount", "maxWorkers", "alarmEmail", "logFileNames", "regionStack", "sshPrivateKey", "sshPrivateKeyPassphrase", "sshAgentSocket", "installerSha256", "ssmEndpoint", "ecsEndpoint", "hosts", "bastion"]) {
            assert.match(text, new RegExp(`^#\\s+${key} `, "m"), `${key} is not documented in Pulumi.yaml`);
        }
    });
});
