/**
 * Which config keys each program reads, told by the code itself: its loader runs over its example
 * stack file with a reader that records every key asked for (each loader reads every key it knows
 * on every run, set or not). And what `Pulumi.yaml` says about them: the keys it declares, with
 * type and default, and the optional ones its comments document.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { readAwsAccess } from "../../anywhere/aws-access";
import { loadAnywhereConfig, type AnywhereConfig } from "../../anywhere/config";
import type { ConfigReader } from "../../config";
import { loadRegionConfig, type RegionConfig } from "../../region/config";
import type { StackKind } from "../../stack-kind";
import { exampleConfig, readerOf, REPOSITORY_ROOT } from "./example-config";
import { TEST_SSH_KEY } from "./mocks";

/** The organization the anywhere loader is told, so its default region stack can be recognised. */
export const EXAMPLE_ORGANIZATION = "organization";

/** A reader over `config` that adds every full key asked for to `asked`. */
function recording(config: Record<string, unknown>, asked: Set<string>): ConfigReader {
    const read = readerOf(config);
    return (key) => {
        asked.add(key);
        return read(key);
    };
}

export interface ProgramConfig {
    /** Full keys the loader read (`ecs-anywhere:cpu`, `aws:region`). */
    readonly keys: ReadonlySet<string>;
    /** What it made of the example file: the defaults of every key the file leaves unset. */
    readonly loaded: RegionConfig | AnywhereConfig;
}

/** Runs `kind`'s config loader over its example file (`Pulumi.<kind>.yaml`, plus an SSH key for anywhere). */
export function programConfig(kind: StackKind): ProgramConfig {
    const keys = new Set<string>();
    if (kind === "region") return { keys, loaded: loadRegionConfig(recording(exampleConfig("region"), keys)) };
    const config = { ...exampleConfig("anywhere"), "ecs-anywhere:sshPrivateKey": TEST_SSH_KEY };
    return { keys, loaded: loadAnywhereConfig(recording(config, keys), { organization: EXAMPLE_ORGANIZATION, project: "ecs-anywhere" }) };
}

/** The `aws:*` keys the anywhere program reads for the hosts' deregistration at destroy. */
export function awsAccessKeys(): Set<string> {
    const keys = new Set<string>();
    readAwsAccess(recording({}, keys));
    return keys;
}

export interface Declaration {
    readonly type?: string;
    readonly default?: unknown;
    readonly secret?: boolean;
}

export interface ProjectFile {
    /** `config:` as the engine reads it. */
    readonly declared: Readonly<Record<string, Declaration>>;
    /** Optional keys documented in the comments (`#   name (type): meaning`), name to type. */
    readonly documented: ReadonlyMap<string, string>;
}

export function projectFile(): ProjectFile {
    const text = fs.readFileSync(path.join(REPOSITORY_ROOT, "Pulumi.yaml"), "utf8");
    const declared = (yaml.load(text) as { config?: Record<string, Declaration> }).config ?? {};
    const documented = new Map([...text.matchAll(/^#\s+(\w+) \((.+?)\): /gm)].map((m) => [m[1], m[2]] as const));
    return { declared, documented };
}
