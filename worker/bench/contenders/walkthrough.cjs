// The walkthrough's worker loop, modelled faithfully but without its 10 s sleep: one message per
// receive, move the file, one delete per message, one loop.
"use strict";
const { ReceiveMessageCommand, DeleteMessageCommand } = require("@aws-sdk/client-sqs");
const { client, move, queueUrl, isStopping } = require("./common.cjs");

const sqs = client(2);
(async () => {
    while (!isStopping()) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 20 }));
        for (const message of Messages) {
            await move(message.Body).catch(() => undefined);
            await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
    }
})();
