/**
 * Pulumi.yaml as the engine reads it: a project config key declared without a default is
 * required in every stack (`pulumi up` stops with "Stack 'region' is missing configuration
 * values ..."), so optional keys are documented there but not declared.
 */
import * as assert from "node:assert/strict";
import { programConfig, projectFile } from "./support/config-keys";

const { declared, documented } = projectFile();

describe("Pulumi.yaml", () => {
    it("declares only keys with a default, so no stack is missing a required value", () => {
        const required = Object.entries(declared).filter(([, declaration]) => declaration.default === undefined);
        assert.deepEqual(required.map(([key]) => key), [], "declared without a default (the engine then requires them in every stack)");
    });

    it("gives every declaration a type its default has", () => {
        for (const [key, declaration] of Object.entries(declared)) {
            const expected = { integer: "number", boolean: "boolean", string: "string" }[declaration.type ?? ""];
            assert.ok(expected, `${key}: type ${String(declaration.type)} is not one of integer, boolean, string`);
            assert.equal(typeof declaration.default, expected, `${key}: default ${JSON.stringify(declaration.default)} is not a ${declaration.type}`);
            if (declaration.type === "integer") assert.ok(Number.isInteger(declaration.default), `${key}: default is not a whole number`);
        }
    });

    it("declares or documents every key the programs read, and nothing they do not", () => {
        const read = new Set([...programConfig("region").keys, ...programConfig("anywhere").keys].filter((key) => key.startsWith("ecs-anywhere:")).map((key) => key.slice("ecs-anywhere:".length)));
        const inFile = new Set([...Object.keys(declared), ...documented.keys()]);
        assert.deepEqual([...read].filter((key) => !inFile.has(key)), [], "read by a program but neither declared in Pulumi.yaml nor documented in its comments");
        assert.deepEqual([...inFile].filter((key) => !read.has(key)), [], "in Pulumi.yaml but read by neither program");
        assert.deepEqual(Object.keys(declared).filter((key) => documented.has(key)), [], "both declared and documented as optional");
    });
});
