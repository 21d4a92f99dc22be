/**
 * The worker's first import (main.ts): on a Node.js older than the worker accepts, it stops at
 * once with exit code 1 and one JSON line naming the version needed, before anything else loads.
 */
import { MINIMUM_NODE_VERSION, nodeVersionProblem } from "./node-version";

const problem = nodeVersionProblem(process.version, "the worker");
if (problem) {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "error", event: "unsupported-node", node: process.version, required: `>=${MINIMUM_NODE_VERSION}`, error: problem })}\n`);
    process.exit(1);
}
