// sqs-consumer, the most used Node SQS consumer library, doing the same move: with its defaults
// (one message per receive, one poll loop), or TUNED (batches of 10, handleMessageBatch, LOOPS consumers).
"use strict";
const { Consumer } = require("sqs-consumer");
const { client, move, queueUrl } = require("./common.cjs");

const tuned = process.env.TUNED === "1";
const loops = tuned ? Number(process.env.LOOPS || 4) : 1;
const sqs = client(loops * 2 + 2);
for (let i = 0; i < loops; i++) {
    const consumer = tuned
        ? Consumer.create({
              queueUrl,
              sqs,
              batchSize: 10,
              handleMessageBatch: async (messages) => {
                  await Promise.all(messages.map((m) => move(m.Body).catch(() => undefined)));
                  return messages;
              },
          })
        : Consumer.create({ queueUrl, sqs, handleMessage: async (m) => { await move(m.Body).catch(() => undefined); return m; } });
    consumer.on("error", () => undefined);
    consumer.start();
}
