import { hostCommands, installInput, parseSealKey } from "../../infra/anywhere/host-commands";
import { DEFAULT_ECS_VERSION, DEFAULT_INSTALLER_SHA256, DEFAULT_INSTALLER_URL } from "../../infra/anywhere/config";
import { sealActivationCode } from "../../infra/anywhere/seal";
import { TestBed } from "./testbed";
async function main() {
    const bed = new TestBed();
    bed.addActivation("0f3c2b1a-1111-2222-3333-444455556666", "Secret+Code/1234567890abcdefghij");
    bed.addCluster("c1");
    const host = await bed.addHost("dbg", { docker: process.env.NODOCKER ? false : true, os: (process.env.OS as "debian13") ?? "debian12" });
    const c = hostCommands({ hostName: "dbg", region: "eu-west-1", cluster: "c1", dataDir: host.dataDir, installerUrl: DEFAULT_INSTALLER_URL, installerSha256: DEFAULT_INSTALLER_SHA256, ecsVersion: DEFAULT_ECS_VERSION, reregister: false, verifyTimeoutSeconds: 10 });
    const t0 = Date.now();
    const seal = await host.ssh(c.seal); console.log("seal", seal.status, seal.stderr);
    const r = await host.ssh(c.install, { stdin: installInput(sealActivationCode(parseSealKey("dbg", seal.stdout), "Secret+Code/1234567890abcdefghij"), "0f3c2b1a-1111-2222-3333-444455556666"), timeoutMs: 200_000 });
    console.log("status", r.status, (Date.now() - t0) / 1000, "s");
    console.log(r.stdout);
    console.log(r.stderr);
    console.log(host.fetched.join("\n"));
    for (let i = 0; i < 3; i++) { const t = Date.now(); const e = await host.ssh("echo hi", { timeoutMs: 8000 }); console.log("ECHO", e.status, e.stdout.trim(), e.stderr.trim(), Date.now() - t); } console.log(require("fs").readFileSync(host.dir + "/sshd.log", "utf8").slice(-800)); const v = await host.ssh(c.verify, { timeoutMs: 20000 }); const ps = await host.ssh("ps -eo pid,args | grep -v grep | grep -E \"amazon|sleep inf|node\" | head; ss -ltnp | head", { timeoutMs: 10000 }); console.log("PS", ps.stdout, ps.stderr);
    console.log("VERIFY", v.status, v.stdout, v.stderr.slice(-1500));
    if (process.env.KEEP) { console.log(host.dir); await new Promise((r) => setTimeout(r, 1e9)); }
    await bed.cleanUp();
}
void main();
