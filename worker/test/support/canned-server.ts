/**
 * A loopback HTTP server that records each request and answers as its handler says: a stand-in
 * for SQS (errors, slow or missing answers, a skewed clock) and for the ECS container credentials
 * endpoint, where the emulator cannot be made to misbehave.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface CannedRequest {
    readonly method: string;
    readonly url: string;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

export interface CannedAnswer {
    readonly status?: number;
    readonly headers?: Record<string, string>;
    /** An object is sent as JSON. */
    readonly body?: string | object;
}

/** What to do with a request: answer it, or `"hang"` (never answer), or `"reset"` (drop the connection). */
export type CannedHandler = (request: CannedRequest, index: number) => CannedAnswer | "hang" | "reset" | Promise<CannedAnswer | "hang" | "reset">;

export interface CannedServer {
    readonly url: string;
    readonly port: number;
    readonly requests: CannedRequest[];
    handler: CannedHandler;
    close(): Promise<void>;
}

export async function startCannedServer(handler: CannedHandler): Promise<CannedServer> {
    const requests: CannedRequest[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (body += chunk));
        req.on("end", () => {
            const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
            requests.push(request);
            void Promise.resolve(canned.handler(request, requests.length - 1)).then((answer) => {
                if (answer === "hang") return;
                if (answer === "reset") {
                    req.socket.destroy();
                    return;
                }
                const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
                res.writeHead(answer.status ?? 200, { "content-type": "application/x-amz-json-1.0", ...answer.headers });
                res.end(text);
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const canned: CannedServer = {
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        handler,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
    return canned;
}
