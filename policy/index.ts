/**
 * ecs-anywhere-residency: the residency promise as a CrossGuard policy pack. Run it with
 *   pulumi preview -s anywhere --policy-pack policy
 *   pulumi up -s anywhere --policy-pack policy
 * Every rule is mandatory: a violation stops the preview or the update before anything changes.
 * The rules live in policies.ts; docs/residency.md says what each protects.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, residencyPolicies } from "./policies";
import { currentStackKind } from "./stack";

new PolicyPack(PACK_NAME, {
    description: "Refuses a change that would move the files' data out of the site: what anywhere stacks may create, the host task's volumes, logs and references, the roles' reach, and encryption in the region.",
    enforcementLevel: "mandatory",
    policies: residencyPolicies(currentStackKind()),
});
