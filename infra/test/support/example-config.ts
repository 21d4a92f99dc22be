/** Reads a stack's example config file (`Pulumi.<stack>.yaml`) the way Pulumi would. */
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import * as path from "node:path";

export const REPOSITORY_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The `config:` map of `Pulumi.<stack>.yaml`, keys made full (`ecs-anywhere:x`), values as Pulumi stores them. */
export function exampleConfig(stack: string): Record<string, unknown> {
    const document = yaml.load(fs.readFileSync(path.join(REPOSITORY_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(document.config ?? {})) {
        config[key.includes(":") ? key : `ecs-anywhere:${key}`] = value;
    }
    return config;
}

/** A config reader over a plain map, as `loadRegionConfig`/`loadAnywhereConfig` take. */
export function readerOf(config: Record<string, unknown>): (key: string) => string | undefined {
    return (key) => {
        const value = config[key];
        if (value === undefined) return undefined;
        return typeof value === "string" ? value : JSON.stringify(value);
    };
}
