/** `pulumi up` on a Node.js too old: the program stops at its first line, naming the version needed. */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { findOlderNode, runTraced } from "../../test-support/older-node";
import { REPOSITORY_ROOT } from "./support/example-config";

describe("the Pulumi program on an older Node.js", () => {
    it("throws naming the version needed before Pulumi's SDK or any resource module loads", function () {
        const older = findOlderNode();
        if (!older) {
            console.log("      SKIPPED: no Node.js older than 22.13 is installed to load the program under (worker/test/node-version.test.ts tests the check)");
            this.skip();
        }
        // Loaded as the language host loads it: infra/index.ts required (CommonJS), compiled on the fly.
        const run = runTraced(older, ["--require", "tsx/cjs", path.join("infra", "index.ts")], REPOSITORY_ROOT);
        assert.notEqual(run.status, 0, "the program loaded");
        assert.match(run.stderr, new RegExp(`Error: Node\\.js ${older.version.slice(1).replace(/\./g, "\\.")} is too old: the Pulumi program needs Node\\.js 22\\.13 or newer`));
        const loaded = run.loaded.map((file) => path.relative(REPOSITORY_ROOT, file));
        assert.deepEqual(loaded.filter((file) => !file.startsWith("node_modules/")), ["infra/index.ts", "infra/node-check.ts", "worker/src/node-version.ts"], "nothing of the program but the check loaded");
        assert.deepEqual(loaded.filter((file) => !/^node_modules\/(tsx|esbuild)\//.test(file)).filter((file) => file.startsWith("node_modules/")), [], "no package but tsx's compiler loaded");
    });
});
