/**
 * The program as it is passes every rule, and a config change that would log plain file names from
 * the hosts does not: both stacks run under the infra tests' Pulumi mocks, and each resource they
 * register is checked as the engine would show it to the pack.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as assert from "node:assert/strict";
import { buildAnywhere } from "../../infra/anywhere/index";
import { regionProgram } from "../../infra/region/index";
import { exampleConfig } from "../../infra/test/support/example-config";
import { promiseOf, recorded, REGION_STACK_OUTPUTS, settle, setupMocks, TEST_SSH_KEY as TEST_KEY } from "../../infra/test/support/mocks";
import { PACK_NAME, residencyPolicies } from "../policies";
import { kindOf } from "../stack";
import { runResourcePolicy, runStackPolicy, type TestResource } from "./run";


/** What the program registered: its inputs (what a resource rule sees), and its id (which a stack rule also sees). */
function registered(): Registered[] {
    return recorded.map((r) => ({ type: r.type, name: r.name, props: r.inputs, id: r.id }));
}

interface Registered extends TestResource {
    readonly id: string;
}

async function regionResources(): Promise<Registered[]> {
    await setupMocks({ stack: "region", config: exampleConfig("region") });
    const outputs = regionProgram();
    await Promise.all(Object.values(outputs).map((output) => promiseOf(output)));
    await settle();
    return registered();
}

async function anywhereResources(extra: Record<string, unknown> = {}): Promise<Registered[]> {
    await setupMocks({
        stack: "anywhere",
        config: { ...exampleConfig("anywhere"), "ecs-anywhere:sshPrivateKey": TEST_KEY, ...extra },
        secretKeys: ["ecs-anywhere:sshPrivateKey"],
        stackOutputs: REGION_STACK_OUTPUTS,
    });
    const deployment = buildAnywhere({ context: { organization: "organization", project: "ecs-anywhere" } });
    await Promise.all(Object.values(deployment.outputs).map((output) => promiseOf(output)));
    await settle();
    return registered();
}

/** Every violation of every rule for `resources` in a stack of this name, as `rule: message (resource)`. */
async function violations(stack: string, resources: readonly Registered[]): Promise<string[]> {
    const found: string[] = [];
    for (const policy of residencyPolicies(kindOf(stack))) {
        if ("validateStack" in policy) {
            const outcome = await runStackPolicy(policy as StackValidationPolicy, resources.map((r) => ({ ...r, props: { ...r.props, id: r.id } })));
            found.push(...outcome.violations.map((message) => `${policy.name}: ${message}`));
        } else {
            for (const resource of resources) {
                const outcome = await runResourcePolicy(policy as ResourceValidationPolicy, resource);
                found.push(...outcome.violations.map((message) => `${policy.name}: ${message} (${resource.type} ${resource.name})`));
            }
        }
    }
    return found;
}

describe(`the program under ${PACK_NAME}`, function () {
    this.timeout(60_000);

    it("has fifteen mandatory rules, each described", () => {
        const policies = residencyPolicies("anywhere");
        assert.equal(policies.length, 15);
        for (const policy of policies) {
            assert.equal(policy.enforcementLevel, "mandatory", policy.name);
            assert.ok(policy.description.length > 40, policy.name);
        }
        assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
    });

    it("the region stack as it is passes every rule", async () => {
        const resources = await regionResources();
        assert.ok(resources.some((r) => r.type === "aws:efs/fileSystem:FileSystem"), "the region program made no file system");
        assert.deepEqual(await violations("region", resources), []);
    });

    it("the anywhere stack as it is passes every rule", async () => {
        const resources = await anywhereResources();
        assert.ok(resources.some((r) => r.type === "pulumi-nodejs:dynamic/ecs-anywhere:HostRegistration"), "the anywhere program made no host registration");
        assert.deepEqual(await violations("anywhere", resources), []);
    });

    it("an anywhere stack configured to log plain file names is refused", async () => {
        const found = await violations("anywhere-berlin", await anywhereResources({ "ecs-anywhere:logFileNames": "plain" }));
        assert.equal(found.length, 1, found.join("\n"));
        assert.match(found[0], /^external-task-file-names-hidden-in-logs: container `worker` sets LOG_FILE_NAMES=plain/);
    });

    it("the region's resources in an anywhere stack are refused", async () => {
        const found = await violations("anywhere", await regionResources());
        assert.ok(found.some((v) => /^anywhere-no-aws-data-stores: .*aws:efs\/fileSystem:FileSystem/.test(v)), found.join("\n"));
        assert.ok(found.some((v) => /^anywhere-allowed-resource-types: `aws:sqs\/queue:Queue`/.test(v)), found.join("\n"));
    });
});
