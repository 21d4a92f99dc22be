/**
 * The sandbox's image registry (Debian's `docker-registry`, the CNCF distribution registry, on
 * loopback) from a test's side, through the OCI distribution API alone: read a tag or digest's
 * manifest (and so a manifest list's platforms), list and delete a repository's images, and push an
 * OCI image layout (the offline base image, e2e/tools/base-image.sh) into it. Loopback only: any
 * other address is refused before a request is made.
 *
 *   tsx e2e/standins/registry.ts push <layout> <host:port> <repository> <tag>...   (what e2e/sandbox.sh runs)
 *   tsx e2e/standins/registry.ts manifest <host:port>/<repository>:<tag>|@<digest>  (what the e2e reads)
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");

export class RegistryError extends Error {
    override name = "RegistryError";
}

export interface Descriptor {
    readonly mediaType: string;
    readonly digest: string;
    readonly size: number;
    readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
    readonly annotations?: Record<string, string>;
}

export interface Manifest {
    readonly mediaType: string;
    /** The digest the registry serves it under (sha256 of its bytes). */
    readonly digest: string;
    readonly manifests?: Descriptor[];
    readonly config?: Descriptor;
    readonly layers?: Descriptor[];
}

/** `host:port` of a registry on loopback; anything else is refused. */
export function loopbackRegistry(address: string): string {
    const match = /^(127(?:\.\d{1,3}){3}|localhost):(\d{1,5})$/.exec(address);
    if (!match) throw new RegistryError(`registry address ${JSON.stringify(address)}: the sandbox's registry is on loopback, give 127.x.y.z:<port>`);
    return address;
}

function sha256(data: Buffer): string {
    return `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
}

interface Answer {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: Buffer;
}

function request(registry: string, method: string, pathAndQuery: string, options: { headers?: Record<string, string | number>; body?: Buffer | fs.ReadStream } = {}): Promise<Answer> {
    const [host, port] = loopbackRegistry(registry).split(":");
    return new Promise((resolve, reject) => {
        const req = http.request({ host, port: Number(port), method, path: pathAndQuery, headers: options.headers, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
            res.on("error", reject);
        });
        req.on("error", reject);
        if (options.body instanceof fs.ReadStream) options.body.pipe(req);
        else req.end(options.body);
    });
}

function expectStatus(answer: Answer, wanted: number[], what: string): void {
    if (!wanted.includes(answer.status)) throw new RegistryError(`${what}: the registry answered ${answer.status} ${answer.body.toString("utf8").slice(0, 300)}`);
}

/** The manifest (or manifest list) `reference` (a tag or a digest) names, or undefined if there is none. */
export async function getManifest(registry: string, repository: string, reference: string): Promise<Manifest | undefined> {
    const answer = await request(registry, "GET", `/v2/${repository}/manifests/${reference}`, { headers: { Accept: ACCEPT } });
    if (answer.status === 404) return undefined;
    expectStatus(answer, [200], `GET ${repository}:${reference}`);
    const digest = sha256(answer.body);
    const served = answer.headers["docker-content-digest"];
    if (typeof served === "string" && served !== digest) throw new RegistryError(`${repository}:${reference}: the registry says digest ${served}, its bytes hash to ${digest}`);
    const parsed = JSON.parse(answer.body.toString("utf8")) as Omit<Manifest, "digest">;
    return { ...parsed, mediaType: parsed.mediaType ?? String(answer.headers["content-type"]), digest };
}

/** The tags of `repository` (none when it does not exist). */
export async function listTags(registry: string, repository: string): Promise<string[]> {
    const answer = await request(registry, "GET", `/v2/${repository}/tags/list`);
    if (answer.status === 404) return [];
    expectStatus(answer, [200], `GET ${repository} tags`);
    return (JSON.parse(answer.body.toString("utf8")) as { tags: string[] | null }).tags ?? [];
}

/** Deletes every tagged image of `repository` (the registry must allow deletes); returns their digests. */
export async function deleteImages(registry: string, repository: string): Promise<string[]> {
    const digests = new Set<string>();
    for (const tag of await listTags(registry, repository)) {
        const manifest = await getManifest(registry, repository, tag);
        if (manifest) digests.add(manifest.digest);
    }
    for (const digest of digests) expectStatus(await request(registry, "DELETE", `/v2/${repository}/manifests/${digest}`), [202, 404], `DELETE ${repository}@${digest}`);
    return [...digests];
}

async function pushBlob(registry: string, repository: string, layout: string, descriptor: Descriptor): Promise<void> {
    if ((await request(registry, "HEAD", `/v2/${repository}/blobs/${descriptor.digest}`)).status === 200) return;
    const started = await request(registry, "POST", `/v2/${repository}/blobs/uploads/`, { headers: { "Content-Length": 0 } });
    expectStatus(started, [202], `starting the upload of ${descriptor.digest}`);
    const location = new URL(String(started.headers.location), `http://${registry}`);
    location.searchParams.set("digest", descriptor.digest);
    const file = blobPath(layout, descriptor.digest);
    const put = await request(registry, "PUT", `${location.pathname}${location.search}`, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": fs.statSync(file).size },
        body: fs.createReadStream(file),
    });
    expectStatus(put, [201], `uploading ${descriptor.digest}`);
}

function blobPath(layout: string, digest: string): string {
    const [algorithm, hex] = digest.split(":");
    return path.join(layout, "blobs", algorithm, hex);
}

async function pushManifest(registry: string, repository: string, reference: string, mediaType: string, body: Buffer): Promise<void> {
    const put = await request(registry, "PUT", `/v2/${repository}/manifests/${reference}`, { headers: { "Content-Type": mediaType, "Content-Length": body.length }, body });
    expectStatus(put, [201], `PUT ${repository}:${reference}`);
}

/**
 * Pushes the image index of the OCI image layout `layout` (its index.json's one entry: a
 * manifest list, or one manifest) with every blob it reaches into `repository`, tagged `tags`.
 * Blobs the registry has are skipped. Returns the pushed index's digest.
 */
export async function pushLayout(layout: string, registry: string, repository: string, tags: readonly string[]): Promise<string> {
    const top = JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
    if (top.manifests.length !== 1) throw new RegistryError(`${layout}/index.json lists ${top.manifests.length} images: one is expected`);
    const root = top.manifests[0];
    const rootBytes = fs.readFileSync(blobPath(layout, root.digest));
    const images = root.mediaType === OCI_INDEX ? (JSON.parse(rootBytes.toString("utf8")) as { manifests: Descriptor[] }).manifests : [root];
    for (const image of images) {
        const bytes = fs.readFileSync(blobPath(layout, image.digest));
        const manifest = JSON.parse(bytes.toString("utf8")) as { config: Descriptor; layers: Descriptor[] };
        for (const blob of [manifest.config, ...manifest.layers]) await pushBlob(registry, repository, layout, blob);
        await pushManifest(registry, repository, image.digest, image.mediaType, bytes);
    }
    for (const tag of tags) await pushManifest(registry, repository, tag, root.mediaType, rootBytes);
    return root.digest;
}

/** `<host:port>/<repository>` and the tag or digest of an image reference (`host:port/repo:tag@sha256:...` names the digest). */
export function parseReference(reference: string): { registry: string; repository: string; reference: string } {
    const match = /^([^/]+)\/([^:@]+)(?::([\w][\w.-]*))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(reference);
    if (!match || (!match[3] && !match[4])) throw new RegistryError(`image reference ${JSON.stringify(reference)}: expected <host:port>/<repository>:<tag> or ...@sha256:<digest>`);
    return { registry: loopbackRegistry(match[1]), repository: match[2], reference: match[4] ?? match[3] };
}

function usage(): never {
    process.stderr.write(
        "usage: tsx e2e/standins/registry.ts push <oci layout> <127.0.0.1:port> <repository> <tag>...\n" +
            "       tsx e2e/standins/registry.ts manifest <127.0.0.1:port>/<repository>:<tag>|@<digest>   (prints it as JSON with its digest; exit 3 when there is none)\n",
    );
    process.exit(2);
}

async function cli(args: string[]): Promise<number> {
    const [command, ...rest] = args;
    if (command === "push") {
        const [layout, registry, repository, ...tags] = rest;
        if (!layout || !registry || !repository || tags.length === 0) usage();
        process.stdout.write(`${registry}/${repository}@${await pushLayout(layout, registry, repository, tags)}\n`);
        return 0;
    }
    if (command === "manifest" && rest.length === 1) {
        const { registry, repository, reference } = parseReference(rest[0]);
        const manifest = await getManifest(registry, repository, reference);
        if (!manifest) {
            process.stderr.write(`registry: ${rest[0]}: no such manifest\n`);
            return 3;
        }
        process.stdout.write(`${JSON.stringify(manifest)}\n`);
        return 0;
    }
    return usage();
}

if (require.main === module) {
    cli(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (error: unknown) => {
            process.stderr.write(`registry: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exitCode = 1;
        },
    );
}
