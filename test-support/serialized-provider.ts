/**
 * Loads a dynamic provider's serialized code as Pulumi's dynamic provider host does
 * (require-from-string), from the repository's root, so its `require`s resolve the project's
 * node_modules: what `pulumi destroy` would run, without the engine.
 */
import Module from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

const ROOT = path.resolve(__dirname, "..");

export function loadSerializedProvider(text: string): pulumi.dynamic.ResourceProvider {
    const filename = path.join(ROOT, "serialized-provider.js");
    const loaded = new Module(filename) as Module & { _compile(code: string, filename: string): void };
    loaded.filename = filename;
    loaded.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(ROOT);
    loaded._compile(text, filename);
    return (loaded.exports as { handler(): pulumi.dynamic.ResourceProvider }).handler();
}
