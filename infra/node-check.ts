/**
 * The program's first import (index.ts): on a Node.js older than it accepts, `pulumi up` and
 * `preview` stop at once with an error naming the version needed, before Pulumi's SDK loads.
 */
import { nodeVersionProblem } from "../worker/src/node-version";

const problem = nodeVersionProblem(process.version, "the Pulumi program");
if (problem) throw new Error(problem);
