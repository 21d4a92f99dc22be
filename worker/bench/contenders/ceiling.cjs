// The ceiling: LOOPS loops of receive-10 + DeleteMessageBatch doing no file work. What the queue
// (here the emulator and the link to it) allows.
"use strict";
const { ReceiveMessageCommand, DeleteMessageBatchCommand } = require("@aws-sdk/client-sqs");
const { client, queueUrl, isStopping } = require("./common.cjs");

const loops = Number(process.env.LOOPS || 4);
const sqs = client(loops * 2);
for (let i = 0; i < loops; i++) {
    (async () => {
        while (!isStopping()) {
            const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }));
            if (Messages.length === 0) continue;
            await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })) }));
        }
    })();
}
