/**
 * A small TCP proxy for tests and benchmarks: it can hold each chunk for a while in each
 * direction (a WAN-like link without `tc netem`) and can be cut and restored, so an endpoint
 * behind it becomes unreachable while the service behind it keeps its state. Loopback only.
 */
import * as net from "node:net";

export interface TcpProxyOptions {
    /** Port of the service behind the proxy, on 127.0.0.1. */
    readonly targetPort: number;
    /** Milliseconds each chunk is held before it is passed on, in each direction. Default 0. */
    readonly delayMs?: number;
    /** Sees each chunk a client sends as it arrives (the benchmark times a worker's first request). */
    readonly onClientData?: (chunk: Buffer) => void;
}

export interface TcpProxy {
    /** Port the proxy listens on, on 127.0.0.1. */
    readonly port: number;
    /** `http://127.0.0.1:<port>`: an endpoint URL for a client. */
    readonly url: string;
    /** Destroys every open connection and refuses new ones until `restore()`. */
    cut(): void;
    /** Accepts connections again. */
    restore(): void;
    /** Whether the proxy is cut. */
    readonly isCut: boolean;
    /** Closes the proxy and every connection. Safe to call twice. */
    close(): Promise<void>;
}

/** Passes `chunk` on after `delayMs`, keeping chunk order (each timer is scheduled in order). */
function relay(from: net.Socket, to: net.Socket, delayMs: number): void {
    from.on("data", (chunk: Buffer) => {
        if (delayMs <= 0) {
            to.write(chunk);
            return;
        }
        setTimeout(() => {
            if (!to.destroyed) to.write(chunk);
        }, delayMs);
    });
    from.on("end", () => {
        if (delayMs <= 0) to.end();
        else setTimeout(() => to.end(), delayMs);
    });
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
    const delayMs = options.delayMs ?? 0;
    const sockets = new Set<net.Socket>();
    let cut = false;
    let closed = false;

    const server = net.createServer((client) => {
        if (cut) {
            client.destroy();
            return;
        }
        client.setNoDelay(true);
        const upstream = net.connect({ host: "127.0.0.1", port: options.targetPort });
        upstream.setNoDelay(true);
        for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on("close", () => sockets.delete(socket));
            // A reset on one side closes the other; errors are the point of a cut, not a failure.
            socket.on("error", () => {
                client.destroy();
                upstream.destroy();
            });
        }
        if (options.onClientData) client.on("data", options.onClientData);
        relay(client, upstream, delayMs);
        relay(upstream, client, delayMs);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;

    return {
        port,
        url: `http://127.0.0.1:${port}`,
        get isCut() {
            return cut;
        },
        cut() {
            cut = true;
            for (const socket of sockets) socket.destroy();
        },
        restore() {
            cut = false;
        },
        async close() {
            if (closed) return;
            closed = true;
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
