/**
 * Test hosts for the sandbox by hand (`bash e2e/sandbox.sh hosts up 2`, then `... hosts down`):
 * N SSH hosts in network namespaces running AWS's installer, as `npm run e2e` uses, kept
 * running in the background between commands. `up` prints the stack settings (each host's entry
 * with its pinned key, the site's installer and endpoints) and the SSH key to set; `config <stack>`
 * sets them on a stack; `down` stops the hosts and removes everything they made. State lives in
 * `$E2E_STATE/hosts`.
 *
 *   tsx e2e/test-hosts.ts up <N> | config <stack> | down | serve <N>     (serve: the background process itself)
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestBed, testBedUnavailable, MAX_HOSTS_PER_PROCESS } from "../hosts/test/testbed";
import { hostEntry, hostSettings, setAllArgs, siteSettings, standinState } from "./lib/sandbox";

/** What `serve` writes once its hosts answer; `up` prints it. */
interface TestHostsReady {
    readonly pid: number;
    readonly clientKey: string;
    readonly hosts: ReturnType<typeof hostEntry>[];
    readonly settings: [string, string][];
}

function usage(): never {
    process.stderr.write("usage: bash e2e/sandbox.sh hosts up <N> | hosts config <stack> | hosts down   (E2E_STATE set: the hosts live in $E2E_STATE/hosts)\n");
    process.exit(2);
}

function fail(message: string): never {
    process.stderr.write(`hosts: ${message}\n`);
    process.exit(1);
}

function hostCount(text: string | undefined): number {
    const count = Number(text);
    if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS_PER_PROCESS - 1) fail(`the number of hosts is ${JSON.stringify(text)}: give a whole number from 1 to ${MAX_HOSTS_PER_PROCESS - 1}, e.g. hosts up 2`);
    return count;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** The settings as YAML to paste under `config:`, and how to set them and the key instead. */
function pasteText(ready: TestHostsReady, stack = "anywhere"): string {
    const quote = (value: string) => JSON.stringify(value);
    const lines = [
        `The settings of a stack on these hosts (to paste under config: in Pulumi.${stack}.yaml, replacing its ecs-anywhere:hosts):`,
        "",
        "  ecs-anywhere:hosts:",
        ...ready.hosts.flatMap((host) => [`    - name: ${host.name}`, `      address: ${host.address}`, `      user: ${host.user}`, `      hostKey: ${quote(host.hostKey)}`]),
        ...ready.settings.map(([key, value]) => `  ${key}: ${quote(value)}`),
        "",
        "and the SSH key the hosts accept:",
        "",
        `  bash e2e/sandbox.sh pulumi config set -s ${stack} --secret ecs-anywhere:sshPrivateKey < ${ready.clientKey}`,
        "",
        `Or set all of it on a stack made with \`bash e2e/sandbox.sh pulumi stack init ${stack}\`: bash e2e/sandbox.sh hosts config ${stack}`,
        "Stop the hosts with: bash e2e/sandbox.sh hosts down",
    ];
    return `${lines.join("\n")}\n`;
}

/** Sets the running hosts' settings and the SSH key on `stack`, through the sandbox. */
function configure(dir: string, stack: string): void {
    const readyFile = path.join(dir, "ready.json");
    if (!fs.existsSync(readyFile)) fail("no test hosts run here: start them with bash e2e/sandbox.sh hosts up <N>");
    const ready = JSON.parse(fs.readFileSync(readyFile, "utf8")) as TestHostsReady;
    if (!/^anywhere(-[a-z0-9][a-z0-9-]*)?$/.test(stack)) fail(`${JSON.stringify(stack)} is no anywhere stack: name it anywhere or anywhere-<site>`);
    const sandbox = (args: string[], input?: string) => {
        const run = spawnSync("bash", [path.join(__dirname, "sandbox.sh"), "pulumi", ...args], { input, stdio: ["pipe", "inherit", "inherit"] });
        if (run.status !== 0) fail(`pulumi ${args.slice(0, 3).join(" ")} ... failed (exit ${run.status}); is the stack made? bash e2e/sandbox.sh pulumi stack init ${stack}`);
    };
    sandbox(["config", "rm", "-s", stack, "ecs-anywhere:hosts"]);
    sandbox(setAllArgs(stack, [...hostSettings(ready.hosts), ...ready.settings]));
    sandbox(["config", "set", "-s", stack, "--secret", "ecs-anywhere:sshPrivateKey"], fs.readFileSync(ready.clientKey, "utf8"));
    process.stdout.write(`hosts: stack ${stack} now lists ${ready.hosts.map((host) => host.name).join(", ")} with their keys, the site's settings and the SSH key\n`);
}

async function serve(dir: string, count: number): Promise<void> {
    // The sandbox's stand-in records (`$E2E_STATE/standins`): the activations its stand-in aws provider makes.
    const bed = new TestBed({ stateDir: standinState(path.dirname(dir)) });
    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        await bed.cleanUp();
        fs.rmSync(path.join(dir, "ready.json"), { force: true });
        process.exit(0);
    };
    process.on("SIGTERM", () => void stop());
    process.on("SIGINT", () => void stop());
    try {
        const hosts = [];
        for (let i = 0; i < count; i++) hosts.push(await bed.addHost(`host-${i + 1}`));
        const dataDir = path.join(dir, "data");
        fs.mkdirSync(dataDir, { recursive: true });
        // The key moves beside the state: the bed's own folder goes with the bed.
        const clientKey = path.join(dir, "client_key");
        fs.copyFileSync(bed.clientKey, clientKey);
        fs.chmodSync(clientKey, 0o600);
        const ready: TestHostsReady = { pid: process.pid, clientKey, hosts: hosts.map((host) => hostEntry(host)), settings: siteSettings(dataDir) };
        fs.writeFileSync(path.join(dir, "ready.json.tmp"), JSON.stringify(ready, null, 2));
        fs.renameSync(path.join(dir, "ready.json.tmp"), path.join(dir, "ready.json"));
    } catch (error) {
        fs.writeFileSync(path.join(dir, "failed"), error instanceof Error ? error.message : String(error));
        await stop();
    }
    // Held open until told to stop.
    setInterval(() => undefined, 1 << 30);
}

async function up(dir: string, count: number): Promise<void> {
    const readyFile = path.join(dir, "ready.json");
    if (fs.existsSync(readyFile)) {
        const ready = JSON.parse(fs.readFileSync(readyFile, "utf8")) as TestHostsReady;
        if (alive(ready.pid)) fail(`${ready.hosts.length} test host(s) already run (process ${ready.pid}): stop them first with bash e2e/sandbox.sh hosts down`);
        fs.rmSync(readyFile);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(path.join(dir, "failed"), { force: true });
    const log = fs.openSync(path.join(dir, "hosts.log"), "a");
    const child = spawn(process.execPath, [...process.execArgv, __filename, "serve", String(count)], { detached: true, stdio: ["ignore", log, log], env: process.env });
    child.unref();
    process.stdout.write(`hosts: starting ${count} test host(s) (network namespaces with sshd, running AWS's installer)...\n`);
    const deadline = Date.now() + 30_000 + count * 5_000;
    while (!fs.existsSync(readyFile)) {
        if (fs.existsSync(path.join(dir, "failed"))) fail(`the hosts did not start: ${fs.readFileSync(path.join(dir, "failed"), "utf8")} (log: ${path.join(dir, "hosts.log")})`);
        if (child.pid === undefined || !alive(child.pid)) fail(`the hosts' process ended before they answered: see ${path.join(dir, "hosts.log")}`);
        if (Date.now() > deadline) fail(`the hosts did not answer in time: see ${path.join(dir, "hosts.log")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ready = JSON.parse(fs.readFileSync(readyFile, "utf8")) as TestHostsReady;
    process.stdout.write(`hosts: ${ready.hosts.map((host) => `${host.name} at ${host.address}`).join(", ")} are up (process ${ready.pid}).\n\n${pasteText(ready)}`);
}

async function down(dir: string): Promise<void> {
    const readyFile = path.join(dir, "ready.json");
    if (!fs.existsSync(readyFile)) {
        process.stdout.write("hosts: no test hosts run here\n");
        return;
    }
    const ready = JSON.parse(fs.readFileSync(readyFile, "utf8")) as TestHostsReady;
    if (alive(ready.pid)) {
        process.kill(ready.pid, "SIGTERM");
        const deadline = Date.now() + 30_000;
        while (alive(ready.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        if (alive(ready.pid)) fail(`process ${ready.pid} did not stop within 30 s`);
    }
    fs.rmSync(readyFile, { force: true });
    process.stdout.write(`hosts: stopped ${ready.hosts.map((host) => host.name).join(", ")}; their namespaces and files are gone\n`);
}

async function main(): Promise<void> {
    // `count` is the stack's name for `config`.
    const [command, count] = process.argv.slice(2);
    const state = process.env.E2E_STATE;
    if (!state) fail("set E2E_STATE to the sandbox's folder first (export E2E_STATE=/tmp/my-sandbox): the hosts outlive this command and are found there");
    const dir = path.join(path.resolve(state), "hosts");
    if (command === "up" || command === "serve") {
        const unavailable = testBedUnavailable();
        if (unavailable !== undefined) fail(`test hosts cannot run here: this ${unavailable}`);
        if (command === "up") await up(dir, hostCount(count));
        else await serve(dir, hostCount(count));
    } else if (command === "config" && count !== undefined) {
        configure(dir, count);
    } else if (command === "down") {
        await down(dir);
    } else {
        usage();
    }
}

if (require.main === module) void main();
