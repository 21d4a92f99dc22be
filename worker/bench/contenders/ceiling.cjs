// The ceiling: LOOPS loops of receive-10 + DeleteMessageBatch doing no file work. What the queue
// (here the emulator and the link to it) allows. PIPELINED=1 sends each delete without waiting
// for it (at most 2 x LOOPS outstanding), as the worker does: the ceiling to hold the worker to.
"use strict";
const { ReceiveMessageCommand, DeleteMessageBatchCommand } = require("@aws-sdk/client-sqs");
const { client, queueUrl, isStopping } = require("./common.cjs");

const loops = Number(process.env.LOOPS || 4);
const pipelined = process.env.PIPELINED === "1";
const sqs = client(pipelined ? loops * 3 + 4 : loops * 2);
const deletes = new Set();
for (let i = 0; i < loops; i++) {
    (async () => {
        while (!isStopping()) {
            const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }));
            if (Messages.length === 0) continue;
            const deletion = sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })) }));
            if (!pipelined) {
                await deletion;
                continue;
            }
            const tracked = deletion.finally(() => deletes.delete(tracked));
            deletes.add(tracked);
            while (deletes.size > loops * 2) await Promise.race(deletes);
        }
    })();
}
