/**
 * Writes an OCI image layout (oci-layout, index.json, blobs/sha256/) holding one multi-platform
 * image made of one root file system tar per platform, each its one layer (gzip): what
 * e2e/tools/base-image.sh makes the offline base image with, and e2e/standins/registry.ts pushes.
 *
 *   tsx e2e/tools/oci-layout.ts <spec.json> <layout folder>
 *
 * spec.json: {"created": "<RFC 3339>", "env": [...], "entrypoint": [...], "cmd": [...],
 * "annotations": {...}, "history": "<created_by>", "platforms": [{"architecture": "amd64",
 * "variant"?: "v8", "rootfs": "<tar path>"}]}. Annotations go on each manifest and the index,
 * not the image config, so images built FROM it do not inherit them.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { OCI_INDEX, OCI_MANIFEST, type Descriptor } from "../standins/registry";

const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface PlatformRootfs {
    readonly architecture: string;
    readonly variant?: string;
    /** An uncompressed tar of the platform's root file system. */
    readonly rootfs: string;
}

export interface ImageSpec {
    readonly created: string;
    readonly env: readonly string[];
    readonly entrypoint?: readonly string[];
    readonly cmd?: readonly string[];
    readonly annotations?: Readonly<Record<string, string>>;
    /** The history entry's `created_by`: how the layer was made. */
    readonly history: string;
    readonly platforms: readonly PlatformRootfs[];
}

class Blobs {
    constructor(private readonly layout: string) {
        fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
    }

    /** Stores `data` as a blob; returns its descriptor. */
    put(mediaType: string, data: Buffer, extra: Partial<Descriptor> = {}): Descriptor {
        const hex = crypto.createHash("sha256").update(data).digest("hex");
        fs.writeFileSync(path.join(this.layout, "blobs", "sha256", hex), data);
        return { mediaType, digest: `sha256:${hex}`, size: data.length, ...extra };
    }

    /** Gzips the tar at `file` into a blob; returns the layer's descriptor and the tar's own digest (its diff_id). */
    async putLayer(file: string): Promise<{ layer: Descriptor; diffId: string }> {
        const uncompressed = crypto.createHash("sha256");
        const compressed = crypto.createHash("sha256");
        const partial = path.join(this.layout, "blobs", "sha256", `.layer-${process.pid}`);
        let size = 0;
        const source = fs.createReadStream(file);
        source.on("data", (chunk) => uncompressed.update(chunk));
        const gzip = zlib.createGzip({ level: 6 });
        gzip.on("data", (chunk: Buffer) => {
            compressed.update(chunk);
            size += chunk.length;
        });
        await pipeline(source, gzip, fs.createWriteStream(partial));
        const hex = compressed.digest("hex");
        fs.renameSync(partial, path.join(this.layout, "blobs", "sha256", hex));
        return { layer: { mediaType: OCI_LAYER_GZIP, digest: `sha256:${hex}`, size }, diffId: `sha256:${uncompressed.digest("hex")}` };
    }
}

function json(value: unknown): Buffer {
    return Buffer.from(JSON.stringify(value));
}

/** Writes the layout for `spec` into `layout` (a new folder); returns the index's descriptor. */
export async function writeLayout(spec: ImageSpec, layout: string): Promise<Descriptor> {
    const blobs = new Blobs(layout);
    const annotations = spec.annotations ?? {};
    const manifests: Descriptor[] = [];
    for (const platform of spec.platforms) {
        const { layer, diffId } = await blobs.putLayer(platform.rootfs);
        const config = blobs.put(
            OCI_CONFIG,
            json({
                created: spec.created,
                architecture: platform.architecture,
                ...(platform.variant ? { variant: platform.variant } : {}),
                os: "linux",
                config: { Env: spec.env, ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}), ...(spec.cmd ? { Cmd: spec.cmd } : {}) },
                rootfs: { type: "layers", diff_ids: [diffId] },
                history: [{ created: spec.created, created_by: spec.history }],
            }),
        );
        const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], annotations });
        manifests.push(blobs.put(OCI_MANIFEST, manifest, { platform: { os: "linux", architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) } }));
    }
    const index = blobs.put(OCI_INDEX, json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests, annotations }));
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [index] }));
    return index;
}

if (require.main === module) {
    const [specFile, layout] = process.argv.slice(2);
    if (!specFile || !layout) {
        process.stderr.write("usage: tsx e2e/tools/oci-layout.ts <spec.json> <layout folder>\n");
        process.exit(2);
    }
    writeLayout(JSON.parse(fs.readFileSync(specFile, "utf8")) as ImageSpec, layout).then(
        (index) => process.stdout.write(`${index.digest}\n`),
        (error: unknown) => {
            process.stderr.write(`oci-layout: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(1);
        },
    );
}
