/**
 * The program's first import (index.ts): on a Node.js older than it accepts, `pulumi up` and
 * `preview` stop at once with an error naming the version needed, before Pulumi's SDK loads.
 */
import { nodeVersionProblem } from "../worker/src/node-version";

const problem = nodeVersionProblem(process.version, "the Pulumi program");
if (problem) {
    const error = new Error(problem);
    // No frames, as for every error the user fixes (config.ts, UserError): the SDK formats the
    // error with util.inspect, which loops on Node 20 and 22 over frames mapped into @pulumi's sources.
    error.stack = `Error: ${problem}`;
    throw error;
}
