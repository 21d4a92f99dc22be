/**
 * `tsx e2e/standins/docker-build.ts <engine address>`: the stand-in `docker-build` resource
 * plugin. `docker-build:index:Image` records what would be built (context, dockerfile,
 * platforms, tags, push, registries: the call log redacts their passwords) and answers with the
 * outputs pulumi-docker-build gives: the inputs, `digest` (`sha256:<64 hex>` derived from the
 * build inputs and the Dockerfile's text), `ref` (`<first tag>@<digest>`) and `contextHash`.
 * It builds and pushes nothing; a push is noted in `$E2E_STANDIN_STATE/registry-pushes.jsonl`
 * so that deleting a non-empty ECR repository fails as it would in AWS.
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { nameOfUrn } from "./call-log";
import { checkOutcome, containsUnknown, logged, plain, plainMap, pluginVersion, serve, typeOfUrn, type PropertyMap, type StandinProvider } from "./inert";
import { recordKey, recordPush, RecordStore } from "./records";

export const IMAGE_TYPE = "docker-build:index:Image";

function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** The Dockerfile's text: inline, or read from its location (relative to the context). */
function dockerfileText(p: PropertyMap): string {
    const dockerfile = (p.dockerfile ?? {}) as PropertyMap;
    if (typeof dockerfile.inline === "string") return dockerfile.inline;
    const context = String(((p.context ?? {}) as PropertyMap).location ?? ".");
    const location = typeof dockerfile.location === "string" ? dockerfile.location : path.join(context, "Dockerfile");
    try {
        return fs.readFileSync(path.resolve(context, location), "utf8");
    } catch {
        return "";
    }
}

/** What decides the image: everything but credentials and where it goes. */
function buildKey(p: PropertyMap): string {
    const { registries: _registries, push: _push, tags: _tags, exports: _exports, ...build } = p;
    return JSON.stringify({ build, dockerfile: dockerfileText(p) });
}

function computeOutputs(inputs: PropertyMap): PropertyMap {
    const p = plainMap(inputs);
    const digest = `sha256:${sha256(buildKey(p))}`;
    const tags = Array.isArray(p.tags) ? p.tags.map(String) : [];
    const contextHash = sha256(`${String(((p.context ?? {}) as PropertyMap).location ?? "")}\n${dockerfileText(p)}`);
    return {
        ...inputs,
        digest,
        // As pulumi-docker-build: a pushed image's ref pins the first tag to the digest.
        ref: tags.length ? `${tags[0]}@${digest}` : digest,
        contextHash,
    };
}

function fail(what: string): never {
    throw new Error(`stand-in docker-build provider does not know ${what}: add it to e2e/standins/docker-build.ts`);
}

export interface DockerBuildStandinOptions {
    readonly stateDir?: string;
    readonly version?: string;
}

export function dockerBuildProvider(options: DockerBuildStandinOptions = {}): StandinProvider {
    const stateDir = options.stateDir ?? process.env.E2E_STANDIN_STATE;
    const store = new RecordStore("docker-build", stateDir);
    const name = "docker-build";
    const requireImage = (urn: string) => {
        const type = typeOfUrn(urn);
        if (type !== IMAGE_TYPE) fail(type);
        return type;
    };
    return {
        logName: name,
        version: options.version ?? pluginVersion("docker-build"),
        async checkConfig(_urn, _olds, news) {
            return { inputs: news };
        },
        async check(urn, _olds, news: PropertyMap) {
            return logged(
                name,
                "check",
                { type: typeOfUrn(urn), urn, inputs: news },
                async (): Promise<pulumiProvider.CheckResult> => {
                    requireImage(urn);
                    const p = plainMap(news);
                    const failures: pulumiProvider.CheckFailure[] = [];
                    if (p.push === undefined) failures.push({ property: "push", reason: "Missing required property 'push'" });
                    const tags = Array.isArray(p.tags) ? p.tags : [];
                    if (p.push === true && tags.length === 0 && !containsUnknown(p.tags)) failures.push({ property: "tags", reason: "at least one tag is required when pushing" });
                    return { inputs: news, failures };
                },
                { outcome: checkOutcome },
            );
        },
        async diff(id, urn, olds: PropertyMap, news: PropertyMap) {
            return logged(name, "diff", { type: typeOfUrn(urn), urn, id, inputs: news }, async (): Promise<pulumiProvider.DiffResult> => {
                requireImage(urn);
                // As pulumi-docker-build's Image.Diff: every input compared, except that a registry's
                // password may change (ECR tokens do, every time) without a rebuild.
                const computed = new Set(["digest", "ref", "contextHash", "registries"]);
                const keys = new Set([...Object.keys(news), ...Object.keys(olds)].filter((k) => !computed.has(k)));
                const changed = [...keys].filter((k) => containsUnknown(news[k]) || JSON.stringify(plain(olds[k] ?? null)) !== JSON.stringify(plain(news[k] ?? null)));
                const registries = (value: unknown) =>
                    (Array.isArray(plain(value)) ? (plain(value) as PropertyMap[]) : []).map((r) => JSON.stringify([r.address ?? null, r.username ?? null]));
                if (containsUnknown(news.registries) || JSON.stringify(registries(olds.registries)) !== JSON.stringify(registries(news.registries))) changed.push("registries");
                // A changed Dockerfile is a rebuild even when the inputs are the same.
                if (!containsUnknown(news) && computeOutputs(news).contextHash !== olds.contextHash) changed.push("contextHash");
                // The real provider rebuilds in place: nothing forces a replacement.
                return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
            });
        },
        async create(urn, inputs: PropertyMap) {
            return logged(
                name,
                "create",
                { type: typeOfUrn(urn), urn, inputs },
                async (): Promise<pulumiProvider.CreateResult> => {
                    const type = requireImage(urn);
                    const outs = computeOutputs(inputs);
                    const id = String(outs.digest);
                    if (plain(inputs.push) === true) recordPush(stateDir, String(outs.ref));
                    store.add(recordKey(urn, id), { type, name: nameOfUrn(urn), id, urn, outputs: outs });
                    return { id, outs };
                },
                { idOf: (result) => result.id },
            );
        },
        async read(id, urn, props: PropertyMap = {}) {
            return logged(name, "read", { type: typeOfUrn(urn), urn, id, inputs: props }, async (): Promise<pulumiProvider.ReadResult> => {
                requireImage(urn);
                if (!store.enabled) return { id, props };
                const alive = store.get(recordKey(urn, id)) ?? store.all().find((record) => record.id === id);
                return alive ? { id, props } : { id: "", props: {} };
            });
        },
        async update(id, urn, _olds: PropertyMap, news: PropertyMap) {
            return logged(name, "update", { type: typeOfUrn(urn), urn, id, inputs: news }, async (): Promise<pulumiProvider.UpdateResult> => {
                const type = requireImage(urn);
                const outs = computeOutputs(news);
                if (plain(news.push) === true) recordPush(stateDir, String(outs.ref));
                // The id stays; the record follows the new build.
                if (store.enabled && !store.update(recordKey(urn, id), outs)) {
                    throw new Error(`updating ${type} (${nameOfUrn(urn)}): ${id} does not exist any more (run \`pulumi refresh\`)`);
                }
                return { outs };
            });
        },
        async delete(id, urn, props: PropertyMap) {
            await logged(name, "delete", { type: typeOfUrn(urn), urn, id, inputs: props }, async () => {
                requireImage(urn);
                // Like the real provider: the build cache and pushed images stay where they are.
                store.remove(recordKey(urn, id));
            });
        },
        async invoke(token, args) {
            return logged(name, "invoke", { type: token, inputs: args }, async () => fail(`function ${token}`));
        },
    };
}

if (require.main === module) {
    void serve(dockerBuildProvider(), process.argv.slice(2));
}
