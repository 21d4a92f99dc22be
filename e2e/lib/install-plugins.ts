/**
 * `tsx e2e/lib/install-plugins.ts <PULUMI_HOME>`: installs the stand-ins as the resource
 * plugins the program's SDKs ask for, so that the engine runs them and downloads nothing.
 *
 * Every package in node_modules (nested ones too: the Node.js language host reports those as
 * well, e.g. awsx's own docker-build 0.0.14) whose package.json says `"pulumi": {"resource":
 * true, "name", "version"}` gets `<PULUMI_HOME>/plugins/resource-<name>-v<version>/` holding an
 * executable `pulumi-resource-<name>`: for the real providers `npm run e2e:tools` put in
 * .cache/pulumi/bin (command and docker-build, built from upstream's source, at the versions the
 * project's own @pulumi/command and @pulumi/docker-build declare), a link to that binary, with
 * nothing of ours between the engine and it; for the AWS side a sh launcher that runs the matching
 * stand-in (aws -> aws.ts, awsx -> awsx.ts); anything else (awsx's own docker-build 0.0.14, which
 * nothing here uses, among them) -> `inert.ts <name>`. That is all the CLI (v3.274) looks for (sdk/go/common/workspace/plugins.go): the
 * directory exists, `<dir>.partial` does not (HasPlugin, GetPluginsFromDir), and the executable
 * `pulumi-<kind>-<name>` is inside it (getPluginPath; with it present, no PulumiPlugin.yaml is
 * read). A plugin of that name on $PATH would win over the cache: set
 * PULUMI_IGNORE_AMBIENT_PLUGINS=true to be sure.
 *
 * Start-up: the engine starts each plugin anew for every command. Loading the stand-ins through
 * tsx costs about 150 ms and 35 MB more than running plain JavaScript, so the stand-ins are also
 * transpiled (TypeScript's transpileModule, no type check) into
 * `<PULUMI_HOME>/standins-js/`; the launcher runs that copy while it is newer than every source
 * file it came from, and falls back to tsx otherwise (an edit after installing is never
 * ignored). A stand-in importing anything outside e2e/standins is always run through tsx.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

export const REPOSITORY_ROOT = path.resolve(__dirname, "..", "..");
const STANDINS = path.join(REPOSITORY_ROOT, "e2e", "standins");

/** Which stand-in answers for which plugin; anything else (but the real providers) is inert. */
export const STANDIN_FILES: Readonly<Record<string, string>> = {
    aws: "aws.ts",
    awsx: "awsx.ts",
};

/** Where `npm run e2e:tools` puts the real tools. */
export const TOOLS_BIN = path.join(REPOSITORY_ROOT, ".cache", "pulumi", "bin");
/** Plugins the sandbox runs for real, each at the version of the project's own package: the upstream binary of that name in TOOLS_BIN. */
const REAL_PLUGINS: Readonly<Record<string, string>> = { command: "@pulumi/command", "docker-build": "@pulumi/docker-build" };

/** Whether `plugin` is one the sandbox runs for real: its name's, at the version the project's own package declares. */
function isReal(plugin: RequiredPlugin, nodeModules: string): boolean {
    const owner = REAL_PLUGINS[plugin.name];
    const manifest = owner && path.join(nodeModules, owner, "package.json");
    if (!manifest || !fs.existsSync(manifest)) return false;
    const declared = (JSON.parse(fs.readFileSync(manifest, "utf8")) as PackageManifest).version;
    return declared?.replace(/^v/, "") === plugin.version;
}

export interface RequiredPlugin {
    readonly name: string;
    readonly version: string;
    /** The package.json that asked for it. */
    readonly packageJson: string;
}

export interface InstalledPlugin extends RequiredPlugin {
    readonly directory: string;
    readonly executable: string;
    /** The stand-in source it runs (or, for a real provider, the binary it links to), and its extra arguments. */
    readonly entry: string;
    readonly args: readonly string[];
    /** A real provider, not a stand-in. */
    readonly real?: boolean;
    /** The transpiled copy it prefers, when there is one. */
    readonly compiled?: string;
}

interface PackageManifest {
    readonly name?: string;
    readonly version?: string;
    readonly pulumi?: { readonly resource?: boolean; readonly name?: string; readonly version?: string };
}

/** Resource plugins required by the packages under `nodeModules`, nested ones included. */
export function requiredPlugins(nodeModules: string): RequiredPlugin[] {
    const found = new Map<string, RequiredPlugin>();
    const seen = new Set<string>();
    const visitPackage = (directory: string) => {
        let real: string;
        try {
            real = fs.realpathSync(directory);
        } catch {
            return;
        }
        if (seen.has(real)) return;
        seen.add(real);
        const manifestPath = path.join(real, "package.json");
        if (fs.existsSync(manifestPath)) {
            try {
                const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as PackageManifest;
                if (manifest.pulumi?.resource === true) {
                    const name = manifest.pulumi.name ?? (manifest.name ?? "").replace(/^@pulumi\//, "");
                    const version = (manifest.pulumi.version ?? manifest.version ?? "").replace(/^v/, "");
                    if (name && version && !found.has(`${name}@${version}`)) found.set(`${name}@${version}`, { name, version, packageJson: manifestPath });
                }
            } catch {
                // Not a package we can read: nothing to install for it.
            }
        }
        visitModules(path.join(real, "node_modules"));
    };
    const visitModules = (directory: string) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(directory, { withFileTypes: true });
        } catch {
            return;
        }
        for (const entry of entries) {
            if (entry.name.startsWith(".")) continue;
            const full = path.join(directory, entry.name);
            if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
            if (entry.name.startsWith("@")) {
                for (const scoped of fs.readdirSync(full, { withFileTypes: true })) {
                    if (scoped.isDirectory() || scoped.isSymbolicLink()) visitPackage(path.join(full, scoped.name));
                }
            } else {
                visitPackage(full);
            }
        }
    };
    visitModules(nodeModules);
    return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Relative imports of a TypeScript source (static imports, `export ... from`, `require`). */
function relativeImports(source: string): string[] {
    const specifiers = new Set<string>();
    const patterns = [/\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g, /\bimport\s+["'](\.{1,2}\/[^"']+)["']/g, /\brequire\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g, /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g];
    for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.add(match[1]);
    return [...specifiers];
}

function resolveSource(from: string, specifier: string): string | undefined {
    const base = path.resolve(path.dirname(from), specifier);
    for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
        if (candidate.endsWith(".ts") && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    return undefined;
}

/** `entry` and every local module it reaches, or undefined if one lies outside e2e/standins. */
function localGraph(entry: string): string[] | undefined {
    const files = new Set<string>();
    const pending = [entry];
    while (pending.length) {
        const file = pending.pop() as string;
        if (files.has(file)) continue;
        if (path.dirname(file) !== STANDINS) return undefined;
        files.add(file);
        for (const specifier of relativeImports(fs.readFileSync(file, "utf8"))) {
            const resolved = resolveSource(file, specifier);
            if (!resolved) return undefined;
            pending.push(resolved);
        }
    }
    return [...files].sort();
}

type TypeScript = typeof import("typescript");

/** Transpiles `files` (all in e2e/standins) into `outDir`; returns the entry's output. */
function transpile(ts: TypeScript, files: string[], outDir: string): void {
    fs.mkdirSync(outDir, { recursive: true });
    for (const file of files) {
        const output = ts.transpileModule(fs.readFileSync(file, "utf8"), {
            fileName: file,
            compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false, inlineSourceMap: false },
            reportDiagnostics: false,
        });
        const target = path.join(outDir, `${path.basename(file, ".ts")}.js`);
        const temporary = `${target}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, output.outputText);
        fs.renameSync(temporary, target);
    }
}

function shellQuote(text: string): string {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

function launcher(plugin: RequiredPlugin, entry: string, args: readonly string[], compiled: { js: string; sources: string[] } | undefined): string {
    const node = process.execPath;
    const tsxLoader = pathToFileURL(require.resolve("tsx", { paths: [REPOSITORY_ROOT] })).href;
    const extra = args.map(shellQuote).join(" ");
    const lines = [
        "#!/bin/sh",
        `# Stand-in for the ${plugin.name} resource plugin v${plugin.version}, written by e2e/lib/install-plugins.ts.`,
        `# Runs ${path.relative(REPOSITORY_ROOT, entry)}${args.length ? ` ${args.join(" ")}` : ""}; stdout carries nothing but the port it serves on.`,
        `E2E_STANDIN_PLUGIN_NAME=${shellQuote(plugin.name)}`,
        `E2E_STANDIN_PLUGIN_VERSION=${shellQuote(plugin.version)}`,
        "export E2E_STANDIN_PLUGIN_NAME E2E_STANDIN_PLUGIN_VERSION",
    ];
    if (compiled) {
        const fresh = compiled.sources.map((source) => `[ ! ${shellQuote(source)} -nt ${shellQuote(compiled.js)} ]`).join(" && ");
        lines.push(
            `if [ -f ${shellQuote(compiled.js)} ] && ${fresh}; then`,
            `    NODE_PATH=${shellQuote(path.join(REPOSITORY_ROOT, "node_modules"))}\${NODE_PATH:+:$NODE_PATH}`,
            "    export NODE_PATH",
            `    exec ${shellQuote(node)} ${shellQuote(compiled.js)}${extra ? ` ${extra}` : ""} "$@"`,
            "fi",
        );
    }
    lines.push(
        `TSX_TSCONFIG_PATH=${shellQuote(path.join(REPOSITORY_ROOT, "tsconfig.json"))}`,
        "export TSX_TSCONFIG_PATH",
        `exec ${shellQuote(node)} --import ${shellQuote(tsxLoader)} ${shellQuote(entry)}${extra ? ` ${extra}` : ""} "$@"`,
        "",
    );
    return lines.join("\n");
}

export interface InstallOptions {
    /** node_modules to read the required plugins from. Default: the repository's. */
    readonly nodeModules?: string;
    /** Transpile for a faster start. Default true. */
    readonly compile?: boolean;
    /** Where the real providers' binaries are. Default TOOLS_BIN. */
    readonly toolsBin?: string;
}

/** Installs a stand-in for every required resource plugin into `pulumiHome`. */
export function installStandins(pulumiHome: string, options: InstallOptions = {}): InstalledPlugin[] {
    const home = path.resolve(pulumiHome);
    const nodeModules = options.nodeModules ?? path.join(REPOSITORY_ROOT, "node_modules");
    const plugins = requiredPlugins(nodeModules);
    const pluginsDir = path.join(home, "plugins");
    const compiledDir = path.join(home, "standins-js");
    fs.mkdirSync(pluginsDir, { recursive: true });
    let ts: TypeScript | undefined;
    const compiledEntries = new Map<string, { js: string; sources: string[] } | undefined>();
    const compiledFor = (entry: string) => {
        if (options.compile === false) return undefined;
        if (!compiledEntries.has(entry)) {
            const graph = localGraph(entry);
            if (graph) {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                ts ??= require("typescript") as TypeScript;
                transpile(ts, graph, compiledDir);
                compiledEntries.set(entry, { js: path.join(compiledDir, `${path.basename(entry, ".ts")}.js`), sources: graph });
            } else {
                compiledEntries.set(entry, undefined);
            }
        }
        return compiledEntries.get(entry);
    };

    const installed: InstalledPlugin[] = [];
    for (const plugin of plugins) {
        const directory = path.join(pluginsDir, `resource-${plugin.name}-v${plugin.version}`);
        const executable = path.join(directory, `pulumi-resource-${plugin.name}`);
        if (isReal(plugin, nodeModules)) {
            const binary = path.join(options.toolsBin ?? TOOLS_BIN, `pulumi-resource-${plugin.name}`);
            if (!fs.existsSync(binary)) throw new Error(`install-plugins: ${binary} (the real ${plugin.name} provider v${plugin.version}) is missing: run \`npm run e2e:tools\` first`);
            fs.rmSync(directory, { recursive: true, force: true });
            fs.rmSync(`${directory}.partial`, { force: true });
            fs.mkdirSync(directory, { recursive: true });
            fs.symlinkSync(fs.realpathSync(binary), executable);
            installed.push({ ...plugin, directory, executable, entry: fs.realpathSync(binary), args: [], real: true });
            continue;
        }
        const file = STANDIN_FILES[plugin.name];
        const entry = path.join(STANDINS, file ?? "inert.ts");
        const args = file ? [] : [plugin.name];
        if (!fs.existsSync(entry)) throw new Error(`install-plugins: ${path.relative(REPOSITORY_ROOT, entry)} (the stand-in for plugin ${plugin.name}) does not exist`);
        const compiled = compiledFor(entry);
        fs.rmSync(directory, { recursive: true, force: true });
        // A leftover `.partial` marks an unfinished install: the CLI would skip the plugin.
        fs.rmSync(`${directory}.partial`, { force: true });
        fs.mkdirSync(directory, { recursive: true });
        fs.writeFileSync(executable, launcher(plugin, entry, args, compiled), { mode: 0o755 });
        fs.chmodSync(executable, 0o755);
        fs.writeFileSync(
            path.join(directory, "standin.json"),
            `${JSON.stringify({ name: plugin.name, version: plugin.version, entry: path.relative(REPOSITORY_ROOT, entry), args, compiled: compiled?.js ?? null, requiredBy: plugin.packageJson }, null, 2)}\n`,
        );
        installed.push({ ...plugin, directory, executable, entry, args, ...(compiled ? { compiled: compiled.js } : {}) });
    }
    return installed;
}

/** Plugin executables of these names on $PATH would be run instead of the installed ones. */
export function ambientPlugins(names: readonly string[], searchPath = process.env.PATH ?? ""): string[] {
    const found: string[] = [];
    for (const directory of searchPath.split(path.delimiter).filter(Boolean)) {
        for (const name of names) {
            const candidate = path.join(directory, `pulumi-resource-${name}`);
            if (fs.existsSync(candidate)) found.push(candidate);
        }
    }
    return found;
}

if (require.main === module) {
    const [home, ...rest] = process.argv.slice(2);
    if (!home || rest.some((arg) => arg !== "--no-compile")) {
        process.stderr.write("usage: tsx e2e/lib/install-plugins.ts <PULUMI_HOME> [--no-compile]\n");
        process.exit(2);
    }
    const [major, minor] = process.versions.node.split(".").map(Number);
    if (major < 20 || (major === 20 && minor < 6)) {
        process.stderr.write(`install-plugins: node ${process.versions.node} cannot run the launchers (node --import needs 20.6 or later)\n`);
        process.exit(1);
    }
    const installed = installStandins(home, { compile: !rest.includes("--no-compile") });
    for (const plugin of installed) {
        const how = plugin.real ? " (real provider)" : plugin.compiled ? " (transpiled)" : " (tsx)";
        process.stdout.write(`${plugin.name} ${plugin.version}: ${path.relative(REPOSITORY_ROOT, plugin.entry)}${plugin.args.length ? ` ${plugin.args.join(" ")}` : ""}${how}\n`);
    }
    const ambient = process.env.PULUMI_IGNORE_AMBIENT_PLUGINS ? [] : ambientPlugins(installed.map((plugin) => plugin.name));
    for (const file of ambient) process.stderr.write(`install-plugins: warning: ${file} is on $PATH and would be run instead of the stand-in (set PULUMI_IGNORE_AMBIENT_PLUGINS=true)\n`);
}
