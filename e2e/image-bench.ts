/**
 * `npm run bench:image`: how long worker/Dockerfile takes to build, per platform and for both, cold
 * and warm, and how large the image is, per platform and beside its base. Run in the sandbox
 * (`bash e2e/sandbox.sh`), so on the BuildKit and the registry the region stack's build uses, with
 * the offline base image; builds go through `buildctl` with the Dockerfile frontend and push to the
 * registry, as the docker-build provider's builds do (the same solve: buildx hands BuildKit this
 * Dockerfile and context).
 *
 * Each round: cold linux/amd64, cold linux/arm64 and cold both (each after `buildctl prune --all`:
 * no cache, no base image, no npm cache mount), in an order rotated round by round (the first build
 * after a pause runs slower: the machine's own caches), then warm both with nothing changed, and
 * warm both after a one-line change to worker/src (the usual edit). The context is a copy of
 * what .dockerignore lets through, so the edit never touches the checkout. Sizes are the registry's:
 * each platform's manifest's layers, compressed as pushed, and of those the ones the base image
 * does not have (what the worker adds). Start to first receive is measured by e2e/image-run.ts.
 *
 *   npm run bench:image [-- --rounds=N]     (default 3 rounds)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getManifest, type Manifest } from "./standins/registry";

const ROOT = path.resolve(__dirname, "..");
const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;

interface Build {
    readonly label: string;
    readonly platforms: readonly string[];
    readonly cold: boolean;
    readonly edit?: boolean;
}

const BUILDS: readonly Build[] = [
    { label: "cold, linux/amd64", platforms: ["linux/amd64"], cold: true },
    { label: "cold, linux/arm64", platforms: ["linux/arm64"], cold: true },
    { label: "cold, both", platforms: PLATFORMS, cold: true },
    { label: "warm, both, no change", platforms: PLATFORMS, cold: false },
    { label: "warm, both, worker/src changed", platforms: PLATFORMS, cold: false, edit: true },
];

function buildctl(args: readonly string[]): { status: number | null; output: string } {
    const result = spawnSync("buildctl", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** The files .dockerignore lets into the build context, copied to `dir`. */
function copyContext(dir: string): void {
    const listed = spawnSync("git", ["-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "package.json", "package-lock.json", "tsconfig.json", ".dockerignore", "worker/package.json", "worker/tsconfig.build.json", "worker/Dockerfile", "worker/src"], { encoding: "utf8" });
    for (const file of listed.stdout.split("\n").filter(Boolean)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    }
}

function build(context: string, registry: string, build: Build, round: number): number {
    if (build.cold) {
        const pruned = buildctl(["prune", "--all"]);
        if (pruned.status !== 0) throw new Error(`buildctl prune failed: ${pruned.output}`);
    }
    if (build.edit) fs.appendFileSync(path.join(context, "worker", "src", "main.ts"), `// image-bench edit ${round}\n`);
    const name = `${registry}/image-bench:${build.platforms.map((p) => p.split("/")[1]).join("-")}`;
    const started = performance.now();
    const result = buildctl([
        "build",
        "--frontend",
        "dockerfile.v0",
        "--local",
        `context=${context}`,
        "--local",
        `dockerfile=${path.join(context, "worker")}`,
        "--opt",
        `platform=${build.platforms.join(",")}`,
        "--output",
        `type=image,name=${name},push=true`,
    ]);
    const seconds = (performance.now() - started) / 1000;
    if (result.status !== 0) throw new Error(`building ${build.label} failed:\n${result.output.slice(-3000)}`);
    return seconds;
}

/** Compressed bytes of each platform's layers in `index`, and of those not in `base`. */
async function sizes(registry: string, repository: string, index: Manifest, baseLayers: ReadonlySet<string>): Promise<Record<string, { total: number; added: number }>> {
    const result: Record<string, { total: number; added: number }> = {};
    for (const entry of index.manifests ?? []) {
        const platform = `${entry.platform?.os}/${entry.platform?.architecture}`;
        const manifest = await getManifest(registry, repository, entry.digest);
        const layers = manifest?.layers ?? [];
        result[platform] = { total: layers.reduce((n, l) => n + l.size, 0), added: layers.filter((l) => !baseLayers.has(l.digest)).reduce((n, l) => n + l.size, 0) };
    }
    return result;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
    const registry = process.env.E2E_REGISTRY;
    if (!registry || !process.env.BUILDKIT_HOST) throw new Error("run it in the sandbox, whose BuildKit and registry it builds with: npm run bench:image");
    const rounds = Number(/^--rounds=(\d+)$/.exec(process.argv.find((arg) => arg.startsWith("--rounds=")) ?? "")?.[1] ?? 3);
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-image-bench-"));
    const times = new Map<string, number[]>(BUILDS.map((b) => [b.label, []]));
    try {
        copyContext(context);
        for (let round = 1; round <= rounds; round++) {
            const colds = BUILDS.filter((b) => b.cold);
            const shift = (round - 1) % colds.length;
            for (const b of [...colds.slice(shift), ...colds.slice(0, shift), ...BUILDS.filter((b) => !b.cold)]) {
                const seconds = build(context, registry, b, round);
                times.get(b.label)?.push(seconds);
                console.log(`image-bench: round ${round}, ${b.label}: ${seconds.toFixed(1)} s`);
            }
        }
        const base = await getManifest(registry, "library/node", `${JSON.parse(fs.readFileSync(path.join(ROOT, "node-versions.json"), "utf8")).image}-bookworm-slim`);
        const baseLayers = new Set<string>();
        for (const entry of base?.manifests ?? []) for (const layer of (await getManifest(registry, "library/node", entry.digest))?.layers ?? []) baseLayers.add(layer.digest);
        const both = await getManifest(registry, "image-bench", "amd64-arm64");
        if (!both) throw new Error("the two-platform image is not in the registry");
        const measured = await sizes(registry, "image-bench", both, baseLayers);
        console.log(`\n| build (${rounds} round${rounds > 1 ? "s" : ""}) | seconds (median; all) |\n|---|---:|`);
        for (const [label, values] of times) console.log(`| ${label} | ${median(values).toFixed(1)}; ${values.map((v) => v.toFixed(1)).join(", ")} |`);
        const cold = (label: string) => median(times.get(label) ?? []);
        console.log(`\ncold both / cold amd64 alone: ${(cold("cold, both") / cold("cold, linux/amd64")).toFixed(2)} (goal at most 1.5)`);
        console.log(`\n| platform | image, MB compressed | the worker adds to the base, MB compressed |\n|---|---:|---:|`);
        for (const platform of PLATFORMS) console.log(`| ${platform} | ${mb(measured[platform]?.total ?? Number.NaN)} | ${mb(measured[platform]?.added ?? Number.NaN)} |`);
    } finally {
        fs.rmSync(context, { recursive: true, force: true });
    }
}

main().catch((error: unknown) => {
    console.log(`image-bench: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
});
