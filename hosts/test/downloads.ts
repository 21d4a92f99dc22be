/**
 * What the test hosts download, made once per test bed: AWS's ECS Anywhere installer as released
 * (shared/vendor, checked against its sha256), stand-in `amazon-ecs-init` and `amazon-ssm-agent`
 * packages (fixtures/packages: their files as the real packages lay them out, their agents standing
 * in at their interfaces) signed with a test GPG key served where the installer fetches AWS's keys,
 * the exec feature's SSM binaries, and a Debian repository (signed with the same key) holding a
 * stand-in `docker.io`. The hosts reach them over HTTPS under the real names (`SERVED_NAMES`),
 * which their own /etc/hosts points at the test bed, with a certificate of a test CA that only
 * the hosts trust.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const FIXTURES = path.join(__dirname, "fixtures");
/** `shared/vendor` beside the project (a copy beside CI's clone too). */
export const VENDOR_DIR = path.resolve(__dirname, "..", "..", "..", "shared", "vendor");
/** The installer release the hosts run, and its sha256 as shared/vendor/README.md gives it. */
export const INSTALLER_VERSION = "v1.105.0";
export const INSTALLER_SHA256 = "92a118a8c15f377f9c0b30b4445b0cfc08385bfe5bd3107e2dfe8b4d1b1125c8";
export const INSTALLER_FILE = path.join(VENDOR_DIR, `ecs-anywhere-install-${INSTALLER_VERSION}.sh`);
/** The amazon-ecs-init package version the stand-in is built as (the installer's `--ecs-version`). */
export const ECS_INIT_VERSION = "1.105.0-1";
/** The exec feature's SSM binaries the installer fetches (its BINARY_VERSION). */
const EXEC_BINARIES_VERSION = "3.3.4108.0";
/** The Debian suite the hosts' stand-in apt source names. */
export const DEBIAN_SUITE = "bookworm";

/** Debian's name for this machine's architecture, as the installer's ARCH_ALT. */
export const DEB_ARCH = process.arch === "arm64" ? "arm64" : "amd64";

/**
 * Every name the test bed answers for the hosts (their /etc/hosts): where the installer and the
 * agents go. One table, so a proxy put in front later knows what the site may reach.
 */
export function servedNames(regions: readonly string[]): string[] {
    return [
        "amazon-ecs-agent.s3.amazonaws.com",
        "raw.githubusercontent.com",
        "deb.debian.org",
        ...regions.flatMap((region) => [`s3.${region}.amazonaws.com`, `ssm.${region}.amazonaws.com`, `ecs.${region}.amazonaws.com`]),
    ];
}

/** Names whose requests go to the stand-in AWS API rather than to the downloads. */
export function isApiName(name: string): boolean {
    return /^(ssm|ecs)\.[a-z0-9-]+\.amazonaws\.com$/.test(name);
}

/** Why the downloads cannot be made here, or undefined. */
export function downloadsUnavailable(): string | undefined {
    for (const tool of ["gpg", "openssl", "dpkg-deb", "jq", "apt-get"]) {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
        } catch {
            return `needs ${tool} (apt-get install gnupg openssl dpkg jq apt)`;
        }
    }
    if (!fs.existsSync(INSTALLER_FILE)) return `needs AWS's installer at ${INSTALLER_FILE} (shared/vendor beside the project)`;
    return undefined;
}

const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");

export interface Served {
    readonly body: Buffer;
    readonly type?: string;
}

export class Downloads {
    readonly dir: string;
    private readonly gnupg: string;
    /** The test CA's certificate (PEM), which the hosts add to their CA bundle. */
    readonly caCertificate: string;
    /** The HTTPS front's key and certificate for every served name. */
    readonly serverKey: string;
    readonly serverCertificate: string;
    /** The test signing key's public half: armored (as AWS serves theirs) and as an apt keyring. */
    readonly signingKeyArmored: string;
    readonly signingKeyring: Buffer;
    /** url path (`/<host><path>`) -> what is served there. */
    private readonly files = new Map<string, Served>();

    constructor(
        dir: string,
        readonly regions: readonly string[],
    ) {
        this.dir = dir;
        fs.mkdirSync(dir, { recursive: true });
        this.gnupg = path.join(dir, "gnupg");
        fs.mkdirSync(this.gnupg, { mode: 0o700 });
        this.gpg(["--quick-generate-key", "ecs-anywhere test bed signing key <testbed@example.invalid>", "ed25519", "sign", "never"]);
        this.signingKeyArmored = this.gpg(["--armor", "--export"]).toString();
        this.signingKeyring = this.gpg(["--export"]);
        ({ caCertificate: this.caCertificate, serverKey: this.serverKey, serverCertificate: this.serverCertificate } = this.makeCertificates());

        const installer = fs.readFileSync(INSTALLER_FILE);
        if (sha256(installer) !== INSTALLER_SHA256) throw new Error(`${INSTALLER_FILE} is not AWS's installer ${INSTALLER_VERSION}: its sha256 is ${sha256(installer)}, expected ${INSTALLER_SHA256}`);
        // Where the project's default fetches it (the release tag on GitHub), and AWS's documented "latest".
        this.put("raw.githubusercontent.com", `/aws/amazon-ecs-agent/${INSTALLER_VERSION}/scripts/ecs-anywhere-install.sh`, installer, "text/x-sh");
        this.put("amazon-ecs-agent.s3.amazonaws.com", "/ecs-anywhere-install-latest.sh", installer, "text/x-sh");
        for (const name of ["amazon-ecs-agent.gpg", "amazon-ssm-agent.gpg"]) this.put("raw.githubusercontent.com", `/aws/amazon-ecs-agent/master/scripts/${name}`, Buffer.from(this.signingKeyArmored));

        const ecsInit = this.buildPackage("amazon-ecs-init", ECS_INIT_VERSION, {
            Depends: "systemd, docker-ce (>= 17.12.0) | docker-engine (>= 1.6.0) | docker-ee | docker.io",
            Description: "Starts the Amazon ECS Agent (test bed stand-in)",
        });
        const ssmAgent = this.buildPackage("amazon-ssm-agent", "3.3.0.0-1", { Description: "Amazon SSM Agent (test bed stand-in)" });
        const dockerIo = this.buildPackage("docker.io", "26.1.5+dfsg1-1", { Description: "Linux container runtime (test bed stand-in of the client)" });
        for (const region of regions) {
            const s3 = `s3.${region}.amazonaws.com`;
            for (const version of [ECS_INIT_VERSION, "latest"]) {
                const name = `/amazon-ecs-agent-${region}/amazon-ecs-init-${version}.${DEB_ARCH}.deb`;
                this.put(s3, name, ecsInit);
                this.put(s3, `${name}.asc`, this.gpg(["--armor", "--detach-sign"], ecsInit));
            }
            const ssm = `/amazon-ssm-${region}/latest/debian_${DEB_ARCH}/amazon-ssm-agent.deb`;
            this.put(s3, ssm, ssmAgent);
            this.put(s3, `${ssm}.sig`, this.gpg(["--detach-sign"], ssmAgent));
            this.put(s3, `/amazon-ssm-${region}/${EXEC_BINARIES_VERSION}/linux_${DEB_ARCH}/amazon-ssm-agent-binaries.tar.gz`, this.execBinaries());
        }
        this.putDebianRepository([dockerIo]);
    }

    /** What is served at `path` under `host`, if anything. */
    get(host: string, urlPath: string): Served | undefined {
        return this.files.get(`${host.toLowerCase()}${urlPath.split("?")[0]}`);
    }

    /** A copy of the amazon-ecs-init package whose content differs from what was signed: the signature no longer matches. */
    tamperEcsInit(region: string): void {
        const key = `s3.${region}.amazonaws.com/amazon-ecs-agent-${region}/amazon-ecs-init-${ECS_INIT_VERSION}.${DEB_ARCH}.deb`;
        const original = this.files.get(key);
        if (!original) throw new Error(`no amazon-ecs-init package is served for ${region}`);
        const tampered = Buffer.from(original.body);
        tampered[tampered.length - 1] ^= 0xff;
        this.files.set(key, { ...original, body: tampered });
        this.restore = () => this.files.set(key, original);
    }

    /** Serves the original package again after `tamperEcsInit`. */
    restore: () => void = () => undefined;

    private put(host: string, urlPath: string, body: Buffer, type = "application/octet-stream"): void {
        this.files.set(`${host}${urlPath}`, { body, type });
    }

    private gpg(args: string[], input?: Buffer): Buffer {
        return execFileSync("gpg", ["--homedir", this.gnupg, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { input, stdio: ["pipe", "pipe", "pipe"] });
    }

    private makeCertificates(): { caCertificate: string; serverKey: string; serverCertificate: string } {
        const dir = path.join(this.dir, "ca");
        fs.mkdirSync(dir);
        const file = (name: string) => path.join(dir, name);
        const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=ecs-anywhere test bed CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        fs.writeFileSync(file("server.ext"), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${servedNames(this.regions).map((name) => `DNS:${name}`).join(",")}\n`);
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=ecs-anywhere test bed");
        openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("server.pem"), "-days", "2", "-extfile", file("server.ext"));
        return { caCertificate: fs.readFileSync(file("ca.pem"), "utf8"), serverKey: fs.readFileSync(file("server.key"), "utf8"), serverCertificate: fs.readFileSync(file("server.pem"), "utf8") };
    }

    /** A .deb of fixtures/packages/<name> (folders the real package makes included), built with the host's own dpkg-deb. */
    private buildPackage(name: string, version: string, fields: Record<string, string>): Buffer {
        const root = path.join(this.dir, "build", name);
        fs.cpSync(path.join(FIXTURES, "packages", name), root, { recursive: true });
        // Empty folders git does not keep: amazon-ecs-init makes its settings, state, log and cache folders.
        const folders: Record<string, string[]> = { "amazon-ecs-init": ["etc/ecs", "var/lib/ecs/data", "var/log/ecs", "var/cache/ecs"], "amazon-ssm-agent": ["etc/amazon/ssm", "var/lib/amazon/ssm"] };
        for (const folder of folders[name] ?? []) fs.mkdirSync(path.join(root, folder), { recursive: true });
        for (const file of fs.readdirSync(root, { recursive: true, encoding: "utf8" })) {
            const full = path.join(root, file);
            if (fs.statSync(full).isFile()) fs.writeFileSync(full, fs.readFileSync(full, "utf8").replaceAll("@NODE@", process.execPath));
        }
        fs.mkdirSync(path.join(root, "DEBIAN"));
        const control = { Package: name, Version: version, Architecture: DEB_ARCH, Maintainer: "ecs-anywhere test bed <testbed@example.invalid>", Section: "misc", Priority: "optional", ...fields };
        fs.writeFileSync(path.join(root, "DEBIAN", "control"), `${Object.entries(control).map(([k, v]) => `${k}: ${v}`).join("\n")}\n`);
        const deb = path.join(this.dir, "build", `${name}_${version}_${DEB_ARCH}.deb`);
        execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, deb], { stdio: ["ignore", "ignore", "pipe"] });
        return fs.readFileSync(deb);
    }

    /** The exec feature's tarball: the three programs the installer copies out of it. */
    private execBinaries(): Buffer {
        const dir = path.join(this.dir, "build", "exec-binaries");
        fs.mkdirSync(dir, { recursive: true });
        for (const name of ["amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker"]) {
            fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name}: test bed stand-in of the ECS exec feature's SSM binary"\n`, { mode: 0o755 });
        }
        return execFileSync("tar", ["-czf", "-", "-C", dir, "amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker"]);
    }

    /** deb.debian.org/debian: one suite, `main`, the given packages, its InRelease signed with the test key. */
    private putDebianRepository(packages: readonly Buffer[]): void {
        const base = "/debian";
        const stanzas = packages.map((deb, i) => {
            const file = path.join(this.dir, "build", `repo-${i}.deb`);
            fs.writeFileSync(file, deb);
            const control = execFileSync("dpkg-deb", ["-f", file]).toString().trimEnd();
            const name = /^Package: (.+)$/m.exec(control)?.[1] ?? `package-${i}`;
            const filename = `pool/main/${name[0]}/${name}/${path.basename(file)}`;
            this.put("deb.debian.org", `${base}/${filename}`, deb);
            return `${control}\nFilename: ${filename}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\n`;
        });
        const packagesFile = Buffer.from(stanzas.join("\n"));
        const index = `main/binary-${DEB_ARCH}/Packages`;
        this.put("deb.debian.org", `${base}/dists/${DEBIAN_SUITE}/${index}`, packagesFile);
        const release = [
            "Origin: Debian",
            "Label: Debian",
            "Suite: stable",
            `Codename: ${DEBIAN_SUITE}`,
            `Date: ${new Date().toUTCString()}`,
            `Architectures: ${DEB_ARCH}`,
            "Components: main",
            "SHA256:",
            ` ${sha256(packagesFile)} ${packagesFile.length} ${index}`,
            "",
        ].join("\n");
        this.put("deb.debian.org", `${base}/dists/${DEBIAN_SUITE}/InRelease`, this.gpg(["--clearsign"], Buffer.from(release)));
    }
}
