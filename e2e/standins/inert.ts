/**
 * `tsx e2e/standins/inert.ts <name> <engine address>`: the stand-in for a plugin the SDKs require
 * but the program never uses for resources (`awsx`, `docker`). It serves the provider protocol,
 * accepts any configuration, and fails every resource or function call, naming the plugin.
 *
 * It also holds what every stand-in shares: `serve`, which runs a provider on
 * `@pulumi/pulumi/provider`'s `main` and adds the three configuration calls that `main` leaves
 * out (CheckConfig and DiffConfig answer "unimplemented" there, Configure ignores the config),
 * and the helpers for the wire format of secrets and unknowns.
 */
import * as grpc from "@grpc/grpc-js";
import * as pulumiProvider from "@pulumi/pulumi/provider";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as fs from "node:fs";
import { logCall, nameOfUrn } from "./call-log";

/** Pulumi's marker of a secret value on the wire: `{[SECRET_SIG_KEY]: SECRET_SIG, value}`. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The engine's stand-in for a value not known yet (previews). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type PropertyMap = Record<string, unknown>;

export function isSecret(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as PropertyMap)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** `value` marked secret, as a provider returns it. */
export function secret(value: unknown): PropertyMap {
    return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** `value` with every secret wrapper removed (for computing and comparing, never for returning). */
export function plain(value: unknown): unknown {
    if (isSecret(value)) return plain(value.value);
    if (Array.isArray(value)) return value.map(plain);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

export function plainMap(value: unknown): PropertyMap {
    const result = plain(value);
    return typeof result === "object" && result !== null && !Array.isArray(result) ? (result as PropertyMap) : {};
}

export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}

/** `value` without undefined members: protobuf's Struct refuses them. */
export function clean(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : clean(item)));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, clean(v)]),
        );
    }
    return value;
}

/** The type token in a URN (`urn:pulumi:stack::project::parent$type::name` -> `type`). */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    const qualified = parts[2] ?? "";
    return qualified.split("$").pop() ?? "";
}

/** A stand-in provider: Pulumi's provider interface plus the configuration calls. */
export interface StandinProvider extends pulumiProvider.Provider {
    /** The stand-in's name in the call log and in its records (`aws`, `docker-build`...). */
    readonly logName: string;
    checkConfig?(urn: string, olds: PropertyMap, news: PropertyMap): Promise<pulumiProvider.CheckResult>;
    configure?(args: PropertyMap): Promise<void>;
}

/** Runs `call`, logs it with its outcome ("ok", `outcome`'s text, or the error), and rethrows a failure. */
export async function logged<T>(
    provider: string,
    operation: Parameters<typeof logCall>[0]["operation"],
    details: { type: string; urn?: string; id?: string; inputs: unknown },
    call: () => Promise<T>,
    options: { idOf?: (result: T) => string | undefined; outcome?: (result: T) => string } = {},
): Promise<T> {
    const base = { provider, operation, type: details.type, name: nameOfUrn(details.urn), inputs: details.inputs };
    try {
        const result = await call();
        const id = options.idOf?.(result) ?? details.id;
        logCall({ ...base, ...(id ? { id } : {}), result: options.outcome?.(result) ?? "ok" });
        return result;
    } catch (error) {
        logCall({ ...base, ...(details.id ? { id: details.id } : {}), result: error instanceof Error ? error.message : String(error) });
        throw error;
    }
}

/** The outcome of a check for the call log: "ok" or its failures. */
export function checkOutcome(result: pulumiProvider.CheckResult): string {
    return result.failures?.length ? result.failures.map((f) => `${f.property}: ${f.reason}`).join("; ") : "ok";
}

function structOf(value: unknown): structproto.Struct {
    return structproto.Struct.fromJavaScript(clean(value ?? {}) as Record<string, structproto.JavaScriptValue>);
}

function plainEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(plain(a)) === JSON.stringify(plain(b));
}

type Implementation = Record<string, unknown>;
type Handler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** The configuration handlers `main` lacks, answered by `provider`. */
function configHandlers(provider: StandinProvider): Implementation {
    const checkConfig: Handler<provproto.CheckRequest, provproto.CheckResponse> = (call, callback) => {
        const urn = call.request.getUrn();
        const olds = (call.request.getOlds()?.toJavaScript() ?? {}) as PropertyMap;
        const news = (call.request.getNews()?.toJavaScript() ?? {}) as PropertyMap;
        const answer = async (): Promise<provproto.CheckResponse> => {
            const result = provider.checkConfig ? await provider.checkConfig(urn, olds, news) : { inputs: news };
            const failures = result.failures ?? [];
            logCall({
                provider: provider.logName,
                operation: "checkConfig",
                type: typeOfUrn(urn),
                name: nameOfUrn(urn),
                inputs: news,
                result: checkOutcome(result),
            });
            const response = new provproto.CheckResponse();
            response.setInputs(structOf(result.inputs ?? news));
            response.setFailuresList(
                failures.map((f) => {
                    const failure = new provproto.CheckFailure();
                    failure.setProperty(f.property);
                    failure.setReason(f.reason);
                    return failure;
                }),
            );
            return response;
        };
        answer().then(
            (response) => callback(null, response),
            (error: Error) => callback(error, null),
        );
    };
    const diffConfig: Handler<provproto.DiffRequest, provproto.DiffResponse> = (call, callback) => {
        const olds = (call.request.getOldInputs()?.toJavaScript() ?? call.request.getOlds()?.toJavaScript() ?? {}) as PropertyMap;
        const news = (call.request.getNews()?.toJavaScript() ?? {}) as PropertyMap;
        const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => k !== "version");
        const diffs = keys.filter((k) => !plainEqual(olds[k], news[k]));
        const response = new provproto.DiffResponse();
        response.setChanges(diffs.length > 0 ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
        response.setDiffsList(diffs);
        callback(null, response);
    };
    const configure: Handler<provproto.ConfigureRequest, provproto.ConfigureResponse> = (call, callback) => {
        const args = (call.request.getArgs()?.toJavaScript() ?? {}) as PropertyMap;
        // Older engines send only the flat `<pkg>:config:<key>` variables.
        call.request.getVariablesMap().forEach((value, key) => {
            const short = key.split(":").pop() ?? key;
            if (!(short in args)) args[short] = value;
        });
        const urn = call.request.getUrn() ?? "";
        logged(provider.logName, "configure", { type: typeOfUrn(urn), urn, inputs: args }, async () => {
            await provider.configure?.(args);
        }).then(
            () => {
                const response = new provproto.ConfigureResponse();
                response.setAcceptsecrets(true);
                // Plain ids and URNs instead of resource references or output values: simpler to read.
                response.setAcceptresources(false);
                response.setAcceptoutputs(false);
                // Previews never call create or update: the engine shows the inputs, outputs unknown.
                response.setSupportspreview(false);
                callback(null, response);
            },
            (error: Error) => callback(error, null),
        );
    };
    return { checkConfig, diffConfig, configure };
}

let patched = false;

/**
 * Serves `provider` over gRPC for the engine and prints the port (the only line on stdout).
 * `args` are the plugin's command-line arguments, the engine's address among them.
 */
export async function serve(provider: StandinProvider, args: string[]): Promise<void> {
    if (!patched) {
        patched = true;
        // `main` builds its own service object; give it the configuration calls as it is added.
        const addService = grpc.Server.prototype.addService;
        grpc.Server.prototype.addService = function (this: grpc.Server, service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) {
            const isProvider = typeof implementation.checkConfig === "function" && typeof implementation.create === "function";
            const extended = isProvider ? Object.assign(Object.create(implementation) as grpc.UntypedServiceImplementation, configHandlers(provider)) : implementation;
            return addService.call(this, service, extended);
        };
    }
    await pulumiProvider.main(provider, args);
}

/** The inert provider for plugin `name`: configuration is accepted, everything else fails. */
export function inertProvider(name: string, version: string): StandinProvider {
    const refuse = (what: string): never => {
        throw new Error(`stand-in ${name} provider is inert: this program is not expected to use ${what} from plugin ${name}; add a stand-in for it under e2e/standins/`);
    };
    return {
        logName: name,
        version,
        async checkConfig(_urn, _olds, news) {
            return { inputs: news };
        },
        async check(urn, _olds, news) {
            return logged(name, "check", { type: typeOfUrn(urn), urn, inputs: news }, async () => refuse(typeOfUrn(urn)));
        },
        async diff(id, urn, _olds, news) {
            return logged(name, "diff", { type: typeOfUrn(urn), urn, id, inputs: news }, async () => refuse(typeOfUrn(urn)));
        },
        async create(urn, inputs) {
            return logged(name, "create", { type: typeOfUrn(urn), urn, inputs }, async () => refuse(typeOfUrn(urn)));
        },
        async read(id, urn, props) {
            return logged(name, "read", { type: typeOfUrn(urn), urn, id, inputs: props }, async () => refuse(typeOfUrn(urn)));
        },
        async update(id, urn, _olds, news) {
            return logged(name, "update", { type: typeOfUrn(urn), urn, id, inputs: news }, async () => refuse(typeOfUrn(urn)));
        },
        async delete(id, urn, props) {
            await logged(name, "delete", { type: typeOfUrn(urn), urn, id, inputs: props }, async () => refuse(typeOfUrn(urn)));
        },
        async invoke(token, inputs) {
            return logged(name, "invoke", { type: token, inputs }, async () => refuse(`function ${token}`));
        },
    };
}

/** The version this plugin was installed as (set by the launcher), else the SDK package's. */
export function pluginVersion(packageName: string): string {
    const fromLauncher = process.env.E2E_STANDIN_PLUGIN_VERSION;
    if (fromLauncher) return fromLauncher;
    try {
        const manifest = JSON.parse(fs.readFileSync(require.resolve(`@pulumi/${packageName}/package.json`), "utf8")) as { version?: string };
        return manifest.version ?? "0.0.0";
    } catch {
        return "0.0.0";
    }
}

if (require.main === module) {
    const [name, ...rest] = process.argv.slice(2);
    if (!name) {
        process.stderr.write("usage: inert.ts <plugin name> <engine address>\n");
        process.exit(2);
    }
    void serve(inertProvider(name, pluginVersion(name)), rest);
}
