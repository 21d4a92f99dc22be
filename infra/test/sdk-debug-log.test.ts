/** The SDK's debug messages keep engine responses (and the secrets in them) out. */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { keepResponsesOutOfDebugLog, RESPONSE_NOT_LOGGED, withoutResponse } from "../sdk-debug-log";

const CODE = "H83WVSXsiP8DGKYJtfps";
/** As runtime/resource.js writes it: the response's fields joined, the secret's value among them. */
const REGISTERED = `RegisterResource RPC finished: resource:ecs-anywhere-anywhere-activation[aws:ssm/activation:Activation]; err: null, resp: urn:pulumi:anywhere::ecs-anywhere::aws:ssm/activation:Activation::a,id,activationCode,,,,,4dabf18193072939515e22adb298388d,,,1b47061264138c4ac30d75fd1eb44270,value,,,${CODE},description`;

describe("the SDK's debug log", () => {
    it("leaves out the response of every kind of engine call, keeping what was called and the error", () => {
        for (const message of [REGISTERED, `Invoke RPC finished: tok=aws:ecr/getAuthorizationToken:getAuthorizationToken; err: null, resp: password,${CODE}`, `ReadResource RPC finished: x; err: null, resp: ${CODE}`, `RegisterResourceOutputs RPC finished: urn=u; err: null, resp: ${CODE}\nmore`]) {
            const logged = withoutResponse(message);
            assert.ok(!logged.includes(CODE), logged);
            assert.ok(logged.endsWith(`resp: ${RESPONSE_NOT_LOGGED}`), logged);
            assert.equal(logged.split("resp: ")[0], message.split("resp: ")[0], "what was called and the error stay");
        }
        for (const message of ["Registering resource: t=aws:ssm/activation:Activation, name=a", "RegisterResource RPC prepared: t=x, name=y"]) assert.equal(withoutResponse(message), message);
    });

    it("is what the SDK's runtime calls once the program starts (infra/index.ts), installed once however often asked", () => {
        const log = pulumi.log as unknown as { debug: typeof pulumi.log.debug };
        const original = log.debug;
        const seen: string[] = [];
        try {
            log.debug = (message: string) => (seen.push(message), Promise.resolve());
            keepResponsesOutOfDebugLog();
            keepResponsesOutOfDebugLog();
            void log.debug(REGISTERED);
            assert.deepEqual(seen, [withoutResponse(REGISTERED)], "the runtime's log module says the response once, without it");
        } finally {
            log.debug = original;
        }
    });
});
