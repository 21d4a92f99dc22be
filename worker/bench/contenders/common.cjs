// Shared set-up of the benchmark's comparison workers (plain JavaScript, so their memory is
// measured without a TypeScript loader): the SQS client and the plain rename they do.
"use strict";
const { SQSClient } = require("@aws-sdk/client-sqs");
const fs = require("node:fs/promises");
const path = require("node:path");

const queueUrl = process.env.SQS_QUEUE_URL;
const source = process.env.SOURCE_DIR;
const destination = process.env.DESTINATION_DIR;

function client(maxSockets = 50) {
    return new SQSClient({ region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL_SQS, requestHandler: { httpAgent: { keepAlive: true, maxSockets }, requestTimeout: 30000 } });
}

/** The walkthrough's move: a rename, no checks, no sync. */
async function move(body) {
    const name = String(body).trim();
    await fs.rename(path.join(source, name), path.join(destination, `${name}_has_been_processed`));
}

let stopping = false;
process.on("SIGTERM", () => {
    stopping = true;
    setTimeout(() => process.exit(0), 200).unref();
});
const isStopping = () => stopping;

module.exports = { client, move, queueUrl, isStopping };
