/**
 * A test bed of SSH hosts on this machine: each host is a network namespace with its own veth
 * link, its own sshd and host key, and its own view of /etc, /usr and /var (overlays whose
 * changes land in the host's temporary folder) and /run (a tmpfs). What the scripts write on a
 * "host" never reaches the real machine: its own apt and dpkg install packages into its overlays.
 * The hosts run AWS's ECS Anywhere installer as released; what lies outside a host is stood in
 * (downloads.ts): the names it fetches from (`servedNames`) resolve, in the host's own /etc/hosts,
 * to the test bed's HTTPS front on the host's link, whose certificate only the hosts trust (a test
 * CA added to their CA bundle); SSM and ECS there are the stand-in AWS API (e2e/standins/aws-api.ts),
 * which records what the agents register. The service manager is a stand-in (fixtures/systemctl).
 * A host has no route but its link, so no other address is reached. Traffic stays on these links.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import type * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as crypto from "node:crypto";
import { awsApiHandler } from "../../e2e/standins/aws-api";
import { RecordStore } from "../../e2e/standins/records";
import { DEBIAN_SUITE, Downloads, downloadsUnavailable, FIXTURES, isApiName, servedNames } from "./downloads";

/** Why the test bed cannot run here, or undefined if it can. */
export function testBedUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return "needs root (network namespaces, mounts)";
    for (const tool of ["ip", "unshare", "ssh", "ssh-keygen", "curl", "setsid"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `needs ${tool} (apt-get install iproute2 openssh-client curl util-linux)`;
    }
    if (!fs.existsSync("/usr/sbin/sshd")) return "needs /usr/sbin/sshd (apt-get install openssh-server)";
    if (!fs.readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "needs overlayfs in the kernel";
    const downloads = downloadsUnavailable();
    if (downloads !== undefined) return downloads;
    const probe = spawnSync("ip", ["netns", "add", `eaprobe${process.pid}`]);
    if (probe.status !== 0) return `cannot create network namespaces: ${probe.stderr.toString().trim()}`;
    spawnSync("ip", ["netns", "del", `eaprobe${process.pid}`]);
    return undefined;
}

/** Test hosts one process runs at once at most (each takes a /30 of 10.213.0.0/16; other processes' beside them). */
export const MAX_HOSTS_PER_PROCESS = 64;

/** The /30 link of host slot `index` (0 to 63) of this process: its gateway (`.1` of the /30) and address (`.2`). */
export function linkAddresses(index: number, pid = process.pid): { gateway: string; address: string } {
    if (!Number.isInteger(index) || index < 0 || index >= MAX_HOSTS_PER_PROCESS) throw new Error(`host slots are 0 to ${MAX_HOSTS_PER_PROCESS - 1}, not ${index}`);
    // Processes take different blocks of slots (256 blocks of 64 /30s), by pid.
    const base = ((pid % 256) * MAX_HOSTS_PER_PROCESS + index) * 4;
    const octets = (last: number) => `10.213.${base >> 8}.${(base & 255) + last}`;
    return { gateway: octets(1), address: octets(2) };
}

export interface HostOptions {
    /** Whether the host runs "systemd" (has /run/systemd/system). Default true. */
    readonly systemd?: boolean;
    /** Start sshd under the i686 personality, so the host reports a 32-bit CPU. Default false. */
    readonly arch32?: boolean;
    /** Create the data folder. Default true. */
    readonly dataDir?: boolean;
    /** The host keys its sshd serves, the first one being `publicHostKey`. Default ["ed25519"]. */
    readonly hostKeyTypes?: readonly HostKeyType[];
    /**
     * A host reached only through this one (a bastion): a private link joins the two, and the
     * host's `privateAddress` answers on it alone.
     */
    readonly behind?: TestHost;
    /** `docker` on PATH (this machine's client). false hides it, as on a host without Docker. Default true. */
    readonly docker?: boolean;
    /**
     * The system the host says it is (/etc/os-release): this machine's Debian 12 (default);
     * `debian13` without `apt-key` and `add-apt-repository` (gone in Debian 13, on which current
     * Raspberry Pi OS is based); `rhel9` (Red Hat Enterprise Linux 9 as the installer reads it).
     */
    readonly os?: "debian12" | "debian13" | "rhel9";
}

/** /etc/os-release of the systems a host can say it is. */
const OS_RELEASE: Record<string, string> = {
    debian13: 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n',
    rhel9: 'NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n',
};

/** Host key types a test host can serve: `ecdsa` is nistp256, `ecdsa384` and `ecdsa521` the larger curves. */
export type HostKeyType = "ed25519" | "ecdsa" | "ecdsa384" | "ecdsa521" | "rsa";

/** `ssh-keygen` arguments that make a key of `type`. */
function keygenArguments(type: HostKeyType): string[] {
    switch (type) {
        case "ecdsa384":
            return ["-t", "ecdsa", "-b", "384"];
        case "ecdsa521":
            return ["-t", "ecdsa", "-b", "521"];
        case "rsa":
            return ["-t", "rsa", "-b", "2048"];
        default:
            return ["-t", type];
    }
}

export interface RunResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export class TestHost {
    readonly namespace: string;
    readonly address: string;
    readonly gateway: string;
    readonly dir: string;
    readonly dataDir: string;
    /** With `behind`: the address the host answers on over its private link to the bastion (and nowhere else). */
    readonly privateAddress?: string;
    private sshd?: ChildProcess;

    constructor(
        readonly bed: TestBed,
        readonly name: string,
        readonly index: number,
        readonly options: HostOptions,
    ) {
        this.namespace = `eatest${process.pid % 100000}h${index}`;
        ({ address: this.address, gateway: this.gateway } = linkAddresses(index));
        // The private link reuses the host's /30 in 10.214.0.0/16, which nothing else routes.
        if (options.behind) this.privateAddress = this.address.replace(/^10\.213\./, "10.214.");
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ecs-anywhere-host-${name}-`));
        this.dataDir = path.join(this.dir, "data");
    }

    /** The host key types its sshd serves. */
    get hostKeyTypes(): readonly HostKeyType[] {
        return this.options.hostKeyTypes ?? ["ed25519"];
    }

    /** `ssh-ed25519 AAAA...`: the host's (first) public key, as a user pins it. */
    get publicHostKey(): string {
        return this.publicKeyOf(this.hostKeyTypes[0]);
    }

    /** The host's public key file of `type`, as `/etc/ssh/ssh_host_<type>_key.pub` is on a real host. */
    hostKeyFile(type: HostKeyType): string {
        return path.join(this.dir, `ssh_host_${type}_key.pub`);
    }

    /** `<type> AAAA...`: the host's public key of `type`, without its comment. */
    publicKeyOf(type: HostKeyType): string {
        return fs.readFileSync(this.hostKeyFile(type), "utf8").trim().split(" ").slice(0, 2).join(" ");
    }

    /** What the host fetched from the test bed's HTTPS front (`https://<name><path>`), in order. */
    readonly fetched: string[] = [];

    /** Where the host's own writes to `/etc`, `/usr`, `/var` land (the overlay's upper folder). */
    hostPath(absolute: string): string {
        const [top, ...rest] = absolute.split("/").filter(Boolean);
        return path.join(this.dir, top, "upper", ...rest);
    }

    async start(): Promise<void> {
        const veth = `eav${process.pid % 10000}h${this.index}`;
        const sh = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
        sh("ip", "netns", "add", this.namespace);
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", this.namespace);
        sh("ip", "addr", "add", `${this.gateway}/30`, "dev", veth);
        sh("ip", "link", "set", veth, "up");
        sh("ip", "netns", "exec", this.namespace, "ip", "addr", "add", `${this.address}/30`, "dev", "eth0");
        sh("ip", "netns", "exec", this.namespace, "ip", "link", "set", "eth0", "up");
        sh("ip", "netns", "exec", this.namespace, "ip", "link", "set", "lo", "up");
        const bastion = this.options.behind;
        if (bastion && this.privateAddress) {
            // A veth pair between the two namespaces: the bastion reaches the host, nobody else does.
            const bastionSide = this.privateAddress.replace(/\.(\d+)$/, (_, last: string) => `.${Number(last) - 1}`);
            sh("ip", "link", "add", `eab${process.pid % 10000}h${this.index}`, "netns", this.namespace, "type", "veth", "peer", "name", `to${this.index}`, "netns", bastion.namespace);
            sh("ip", "netns", "exec", this.namespace, "ip", "link", "set", `eab${process.pid % 10000}h${this.index}`, "name", "bastion0");
            sh("ip", "netns", "exec", this.namespace, "ip", "addr", "add", `${this.privateAddress}/30`, "dev", "bastion0");
            sh("ip", "netns", "exec", this.namespace, "ip", "link", "set", "bastion0", "up");
            sh("ip", "netns", "exec", bastion.namespace, "ip", "addr", "add", `${bastionSide}/30`, "dev", `to${this.index}`);
            sh("ip", "netns", "exec", bastion.namespace, "ip", "link", "set", `to${this.index}`, "up");
        }

        for (const top of OVERLAID) {
            fs.mkdirSync(path.join(this.dir, top, "upper"), { recursive: true });
            fs.mkdirSync(path.join(this.dir, top, "work"), { recursive: true });
        }
        this.prepareSystem();
        if (this.options.dataDir !== false) fs.mkdirSync(this.dataDir);

        for (const type of this.hostKeyTypes) {
            execFileSync("ssh-keygen", ["-q", ...keygenArguments(type), "-N", "", "-f", path.join(this.dir, `ssh_host_${type}_key`)]);
        }
        fs.writeFileSync(path.join(this.dir, "authorized_keys"), fs.readFileSync(`${this.bed.clientKey}.pub`));
        fs.writeFileSync(
            path.join(this.dir, "sshd_config"),
            [
                `ListenAddress ${this.address}`,
                ...(this.privateAddress ? [`ListenAddress ${this.privateAddress}`] : []),
                "Port 22",
                ...this.hostKeyTypes.map((type) => `HostKey ${path.join(this.dir, `ssh_host_${type}_key`)}`),
                `PidFile ${path.join(this.dir, "sshd.pid")}`,
                `AuthorizedKeysFile ${path.join(this.dir, "authorized_keys")}`,
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "",
            ].join("\n"),
        );
        const overlay = (top: string) => `mount -t overlay overlay -o lowerdir=/${top},upperdir=${this.dir}/${top}/upper,workdir=${this.dir}/${top}/work /${top}`;
        const boot = [
            "set -e",
            ...OVERLAID.map(overlay),
            "mount -t tmpfs tmpfs /run",
            "mkdir -p /run/sshd",
            ...(this.options.systemd === false ? [] : ["mkdir -p /run/systemd/system"]),
            `exec /usr/sbin/sshd -D -f ${this.dir}/sshd_config -E ${this.dir}/sshd.log`,
        ].join("\n");
        const personality = this.options.arch32 ? ["setarch", "i686"] : [];
        this.sshd = spawn("ip", ["netns", "exec", this.namespace, "unshare", "--mount", "--propagation", "private", ...personality, "bash", "-c", boot], { stdio: "ignore" });
        const log = path.join(this.dir, "sshd.log");
        const start = Date.now();
        while (!(fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("Server listening"))) {
            if (this.sshd.exitCode !== null || Date.now() - start > 10_000) {
                throw new Error(`sshd of ${this.name} did not start: ${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "no log"}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    }

    /** Runs `command` over real SSH as root with `stdin`, pinning `knownHostKey` (default: the host's own). */
    ssh(command: string, options: { stdin?: string; knownHostKey?: string; address?: string; timeoutMs?: number } = {}): Promise<RunResult> {
        const knownHosts = path.join(this.bed.dir, `known_hosts_${this.index}_${Date.now()}_${Math.random().toString(16).slice(2)}`);
        fs.writeFileSync(knownHosts, `${options.address ?? this.address} ${options.knownHostKey ?? this.publicHostKey}\n`);
        const args = [
            "-i", this.bed.clientKey,
            "-o", `UserKnownHostsFile=${knownHosts}`,
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=3",
            "-o", "LogLevel=ERROR",
            `root@${options.address ?? this.address}`,
            command,
        ];
        return new Promise((resolve) => {
            const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
            child.on("close", (status) => {
                clearTimeout(timer);
                fs.rmSync(knownHosts, { force: true });
                resolve({ status, stdout, stderr });
            });
            child.stdin.end(options.stdin ?? "");
        });
    }

    /** The times this host fetched AWS's installer (each a run of it, as install fetches it anew every time). */
    installerRuns(): string[] {
        return this.fetched.filter((url) => /\/ecs-anywhere-install(-latest)?\.sh$/.test(url));
    }

    /** Writes `content` at `absolute` in the host's own view (its overlay's upper folder). */
    writeFile(absolute: string, content: string | Buffer, mode = 0o644): void {
        fs.mkdirSync(path.dirname(this.hostPath(absolute)), { recursive: true });
        fs.rmSync(this.hostPath(absolute), { force: true });
        fs.writeFileSync(this.hostPath(absolute), content, { mode });
    }

    /** Hides `absolute` in the host's view (an overlayfs whiteout: a 0/0 character device in the upper folder). */
    private hide(absolute: string): void {
        fs.mkdirSync(path.dirname(this.hostPath(absolute)), { recursive: true });
        execFileSync("mknod", [this.hostPath(absolute), "c", "0", "0"]);
    }

    /**
     * The host's system as the test needs it, before its overlays are mounted: the names the
     * installer fetches from at the test bed, its CA bundle with the test CA, apt pointed at the
     * stand-in Debian repository only, the stand-in service manager, and its OS and Docker.
     */
    private prepareSystem(): void {
        const downloads = this.bed.downloads;
        this.writeFile("/etc/hosts", `127.0.0.1 localhost\n127.0.1.1 ${os.hostname()}\n::1 localhost\n${servedNames(downloads.regions).map((name) => `${this.gateway} ${name}`).join("\n")}\n`);
        const bundle = "/etc/ssl/certs/ca-certificates.crt";
        this.writeFile(bundle, `${fs.existsSync(bundle) ? fs.readFileSync(bundle, "utf8") : ""}${downloads.caCertificate}`);
        // apt: the stand-in Debian repository, and no other source.
        for (const file of fs.existsSync("/etc/apt/sources.list.d") ? fs.readdirSync("/etc/apt/sources.list.d") : []) this.hide(`/etc/apt/sources.list.d/${file}`);
        this.writeFile("/etc/apt/sources.list", "");
        // And none of this machine's package lists or caches: the host knows only what its sources serve.
        for (const dir of ["/var/lib/apt/lists", "/var/cache/apt"]) {
            for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (entry !== "partial" && entry !== "archives" && entry !== "lock") this.hide(`${dir}/${entry}`);
        }
        this.writeFile("/etc/apt/keyrings/ecs-anywhere-testbed.gpg", downloads.signingKeyring);
        this.writeFile("/etc/apt/sources.list.d/debian.sources", `Types: deb\nURIs: https://deb.debian.org/debian\nSuites: ${DEBIAN_SUITE}\nComponents: main\nSigned-By: /etc/apt/keyrings/ecs-anywhere-testbed.gpg\n`);
        this.writeFile("/usr/bin/systemctl", fs.readFileSync(path.join(FIXTURES, "systemctl")), 0o755);
        if (this.options.docker === false) for (const docker of ["/usr/local/bin/docker", "/usr/bin/docker"]) if (fs.existsSync(docker)) this.hide(docker);
        const system = this.options.os ?? "debian12";
        if (system !== "debian12") {
            this.writeFile("/etc/os-release", OS_RELEASE[system]);
            this.writeFile("/usr/lib/os-release", OS_RELEASE[system]);
        }
        if (system === "debian13") {
            // Debian 13's apt checks signatures without an apt-key command; this machine's apt (12's)
            // needs one, so it gets a copy where only apt looks (Dir::Bin::apt-key).
            if (fs.existsSync("/usr/bin/apt-key")) {
                this.writeFile("/usr/lib/apt/testbed-apt-key", fs.readFileSync("/usr/bin/apt-key"), 0o755);
                this.writeFile("/etc/apt/apt.conf.d/00testbed-apt-key", 'Dir::Bin::apt-key "/usr/lib/apt/testbed-apt-key";\n');
            }
            for (const tool of ["/usr/bin/apt-key", "/usr/bin/add-apt-repository"]) if (fs.existsSync(tool)) this.hide(tool);
        }
    }

    stopSshd(): void {
        this.sshd?.kill("SIGTERM");
    }

    /** Lets the holder of `publicKey` (`ssh-ed25519 AAAA...`) log in as root too. */
    authorize(publicKey: string): void {
        fs.appendFileSync(path.join(this.dir, "authorized_keys"), `${publicKey.trim()}\n`);
    }

    /**
     * Takes the host's own link down, as a powered-off or rebooting machine: nothing answers its
     * address (a dial waits for the neighbour lookup to give up), unlike `disconnect`, which fails at once.
     */
    powerOff(): void {
        execFileSync("ip", ["netns", "exec", this.namespace, "ip", "link", "set", "eth0", "down"], { stdio: ["ignore", "ignore", "pipe"] });
    }

    /** Brings the link back after `powerOff` (the routes that used it too). */
    powerOn(): void {
        execFileSync("ip", ["netns", "exec", this.namespace, "ip", "link", "set", "eth0", "up"], { stdio: ["ignore", "ignore", "pipe"] });
        if (this !== this.bed.hosts[0]) spawnSync("ip", ["netns", "exec", this.namespace, "ip", "route", "replace", `${this.bed.sharedGateway}/32`, "via", this.gateway]);
    }

    private unreachable = false;

    /** Takes the host off the network as seen from here (connections fail at once: no route to host), its sshd still running. */
    disconnect(): void {
        execFileSync("ip", ["route", "add", "unreachable", `${this.address}/32`], { stdio: ["ignore", "ignore", "pipe"] });
        this.unreachable = true;
    }

    /** Puts the host back after `disconnect`. */
    reconnect(): void {
        if (!this.unreachable) return;
        execFileSync("ip", ["route", "del", "unreachable", `${this.address}/32`], { stdio: ["ignore", "ignore", "pipe"] });
        this.unreachable = false;
    }

    cleanUp(): void {
        // The route is the root namespace's: it outlives the host's namespace unless removed.
        if (this.unreachable) spawnSync("ip", ["route", "del", "unreachable", `${this.address}/32`]);
        this.stopSshd();
        // Anything the scripts left running on the host (the stand-in agent) lives in its namespace.
        const pids = spawnSync("ip", ["netns", "pids", this.namespace]).stdout?.toString().split(/\s+/).filter(Boolean) ?? [];
        for (const pid of pids) spawnSync("kill", ["-9", pid]);
        spawnSync("ip", ["netns", "del", this.namespace]);
        fs.rmSync(this.dir, { recursive: true, force: true });
        slotsInUse.delete(this.index);
    }
}

/** The folders each host sees through an overlay of this machine's. */
const OVERLAID = ["etc", "usr", "var"];

/** Host slots (addresses, namespace names) taken by this process's hosts, of any bed. */
const slotsInUse = new Set<number>();

export interface TestBedOptions {
    /** Where the stand-in AWS API keeps its records (the e2e's stand-in state). Default: a folder of the bed's own. */
    readonly stateDir?: string;
    /** The regions whose S3, SSM and ECS names the hosts reach. Default eu-west-1. */
    readonly regions?: readonly string[];
}

/** What the hosts reach, on each host's link address only: the downloads and the stand-in AWS API, over HTTPS. */
export class TestBed {
    readonly dir: string;
    readonly clientKey: string;
    readonly hosts: TestHost[] = [];
    readonly downloads: Downloads;
    /** Where the stand-in AWS API keeps its records (activations, registrations). */
    readonly stateDir: string;
    private readonly servers: https.Server[] = [];
    private readonly api = new Map<string, http.RequestListener>();
    /** Seconds the stand-in endpoints' clock is ahead of ours (to test the clock check). */
    clockSkewSeconds = 0;

    constructor(options: TestBedOptions = {}) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecs-anywhere-testbed-"));
        this.clientKey = path.join(this.dir, "client_key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", this.clientKey]);
        this.stateDir = options.stateDir ?? path.join(this.dir, "standins");
        this.downloads = new Downloads(path.join(this.dir, "downloads"), options.regions ?? ["eu-west-1"]);
    }

    async addHost(name: string, options: HostOptions = {}): Promise<TestHost> {
        if (options.behind && !this.hosts.includes(options.behind)) throw new Error(`${name}: its bastion ${options.behind.name} is not a host of this bed`);
        const slot = [...Array(MAX_HOSTS_PER_PROCESS).keys()].find((i) => !slotsInUse.has(i));
        if (slot === undefined) throw new Error(`this process already runs ${MAX_HOSTS_PER_PROCESS} test hosts, the most it can`);
        slotsInUse.add(slot);
        const host = new TestHost(this, name, slot, options);
        this.hosts.push(host);
        await host.start();
        await this.serve(host.gateway);
        if (host !== this.hosts[0]) {
            execFileSync("ip", ["netns", "exec", host.namespace, "ip", "route", "add", `${this.sharedGateway}/32`, "via", host.gateway], { stdio: ["ignore", "ignore", "pipe"] });
        }
        return host;
    }

    /**
     * One address every host reaches (the first host's gateway, routed from the others' links), so
     * that one stack-wide setting serves all hosts, as on a real site.
     */
    get sharedGateway(): string {
        if (this.hosts.length === 0) throw new Error("add a host first");
        return this.hosts[0].gateway;
    }

    /**
     * An SSM activation the stand-in SSM knows (as the aws stand-in records the ones it creates):
     * hosts register with its id and code, up to `registrationLimit` times.
     */
    addActivation(id: string, code: string, registrationLimit = 10): void {
        new RecordStore("aws", this.stateDir).add(`activation#${id}`, {
            type: "aws:ssm/activation:Activation",
            name: "test-activation",
            id,
            urn: "",
            outputs: { registrationLimit, expirationDate: new Date(Date.now() + 24 * 3600 * 1000).toISOString(), activationCode: "[secret]", activationCodeSha256: crypto.createHash("sha256").update(code).digest("hex") },
        });
    }

    /** A cluster the stand-in ECS knows. */
    addCluster(name: string, region = "eu-west-1"): void {
        new RecordStore("aws", this.stateDir).add(`cluster#${name}`, { type: "aws:ecs/cluster:Cluster", name, id: `arn:aws:ecs:${region}:123456789012:cluster/${name}`, urn: "", outputs: { name, region, arn: `arn:aws:ecs:${region}:123456789012:cluster/${name}` } });
    }

    /** The managed instances the stand-in SSM holds registered (what DescribeInstanceInformation would list). */
    managedInstances(): { id: string; activationId: string }[] {
        return new RecordStore("ssm-api", this.stateDir).all().map((r) => ({ id: r.id, activationId: String(r.outputs?.activationId ?? "") }));
    }

    /** The container instances the stand-in ECS holds registered (what DescribeContainerInstances would list). */
    containerInstances(): { arn: string; cluster: string; managedInstanceId: string }[] {
        return new RecordStore("ecs-api", this.stateDir).all().map((r) => ({ arn: r.id, cluster: String(r.outputs?.cluster ?? ""), managedInstanceId: String(r.outputs?.ec2InstanceId ?? "") }));
    }

    /** The stand-in AWS API for `name` (`ssm.<region>.amazonaws.com`). */
    private apiFor(name: string): http.RequestListener {
        const region = name.split(".")[1];
        let handler = this.api.get(region);
        if (!handler) {
            handler = awsApiHandler({ stateDir: this.stateDir, region });
            this.api.set(region, handler);
        }
        return handler;
    }

    private async serve(address: string): Promise<void> {
        const server = https.createServer({ key: this.downloads.serverKey, cert: this.downloads.serverCertificate }, (request, response) => {
            const name = String(request.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
            const host = this.hosts.find((h) => h.address === request.socket.remoteAddress) ?? this.hosts.find((h) => h.gateway === address);
            host?.fetched.push(`https://${name}${request.url ?? "/"}`);
            response.sendDate = false;
            response.setHeader("date", new Date(Date.now() + this.clockSkewSeconds * 1000).toUTCString());
            if (isApiName(name)) {
                this.apiFor(name)(request, response);
                return;
            }
            const served = request.method === "GET" || request.method === "HEAD" ? this.downloads.get(name, request.url ?? "/") : undefined;
            if (!served) {
                response.statusCode = 404;
                response.end("Not Found\n");
                return;
            }
            response.setHeader("content-type", served.type ?? "application/octet-stream");
            response.setHeader("content-length", served.body.length);
            response.end(request.method === "HEAD" ? undefined : served.body);
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(443, address, () => resolve());
        });
        this.servers.push(server);
    }

    async cleanUp(): Promise<void> {
        for (const host of this.hosts) host.cleanUp();
        await Promise.all(
            this.servers.map((server) => {
                server.closeAllConnections();
                return new Promise((resolve) => server.close(resolve));
            }),
        );
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
