/**
 * The worker's SQS client: one pool of kept-alive connections, and the SDK's middleware stack
 * resolved once per kind of call instead of on every call.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type { WorkerOptions } from "./options";

/** What the worker asks of SQS (and what tests may stand in for). */
export type SqsSender = Pick<SQSClient, "send">;

type SqsCommand = Parameters<SQSClient["send"]>[0];
type ResolvedHandler = ReturnType<SqsCommand["resolveMiddleware"]>;

/**
 * `client.send` with the middleware stack (some 30 middleware, copied, sorted and composed)
 * resolved once per command class and abort signal, as the SDK's own `cacheMiddleware` does
 * only for calls without options; the worker's receives all carry its one abort signal. Resolving
 * per call cost about a seventh of the worker's CPU per message, most of it garbage. Calls with
 * other options go through `client.send` unchanged.
 */
export function resolveOnce(client: SQSClient): SqsSender {
    const handlers = new WeakMap<object, { withoutOptions?: ResolvedHandler; bySignal: WeakMap<object, ResolvedHandler> }>();
    const send = (command: SqsCommand, options?: { abortSignal?: AbortSignal }) => {
        const signal = options?.abortSignal;
        if (options !== undefined && (signal === undefined || Object.keys(options).length !== 1)) return client.send(command, options);
        let perClass = handlers.get(command.constructor);
        if (perClass === undefined) handlers.set(command.constructor, (perClass = { bySignal: new WeakMap() }));
        let handler = signal === undefined ? perClass.withoutOptions : perClass.bySignal.get(signal);
        if (handler === undefined) {
            // As SQSClient.send resolves it: the client's stack, its configuration and these options.
            handler = command.resolveMiddleware(client.middlewareStack, client.config, options);
            if (signal === undefined) perClass.withoutOptions = handler;
            else perClass.bySignal.set(signal, handler);
        }
        return handler(command).then((result) => result.output);
    };
    // Only the promise form of send: the worker passes no callbacks.
    return { send: send as SQSClient["send"] };
}

/** One client with a pool of kept-alive connections large enough for every loop plus its deletes. */
export function createSqsClient(options: WorkerOptions): SqsSender {
    const agent = { keepAlive: true, maxSockets: options.receiveLoops * 3 + 4 };
    // An endpoint named in the environment (an emulator, a VPC endpoint) is used as given, so the
    // SDK does not swap in the queue URL's host on every call (and warn each time).
    const endpoint = process.env.AWS_ENDPOINT_URL_SQS?.trim() || process.env.AWS_ENDPOINT_URL?.trim();
    const client = new SQSClient({
        region: options.region,
        ...(endpoint ? { endpoint } : {}),
        requestHandler: {
            httpAgent: agent,
            httpsAgent: agent,
            connectionTimeout: 5_000,
            // A long poll holds the request for waitTimeSeconds; anything much longer is a dead link.
            requestTimeout: (options.waitTimeSeconds + 10) * 1_000,
        },
    });
    return resolveOnce(client);
}
