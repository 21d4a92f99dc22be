/** The pack's rules, all mandatory, in the order docs/residency.md lists them. */
import type { Policies } from "@pulumi/policy";
import { activationBounded } from "./activation";
import { anywhereAllowedResourceTypes, anywhereNoAwsDataStores } from "./anywhere";
import { externalTaskFileNamesHiddenInLogs, externalTaskHostVolumesOnly, externalTaskNoDataStoreReferences } from "./external-task";
import { efsEncryptedAtRest, efsEncryptedInTransit, logGroupsExpire, queuesEncryptedAtRest, securityGroupsClosedToNetworks } from "./region";
import { hostsRoleLeastPrivilege, hostsRoleNoParameterStore, hostsRoleTrustBound } from "./hosts-role";
import { workerRolesNoDataStoreAccess } from "./roles";
import type { StackKind } from "./stack";

export const PACK_NAME = "ecs-anywhere-residency";

/** Every rule, for a stack of this kind (rules that do not apply to it say so and pass). */
export function residencyPolicies(kind: StackKind | undefined): Policies {
    return [
        anywhereAllowedResourceTypes(kind),
        anywhereNoAwsDataStores(kind),
        externalTaskHostVolumesOnly(kind),
        externalTaskFileNamesHiddenInLogs(kind),
        externalTaskNoDataStoreReferences(kind),
        workerRolesNoDataStoreAccess(),
        hostsRoleLeastPrivilege(),
        hostsRoleNoParameterStore(),
        hostsRoleTrustBound(),
        activationBounded(),
        queuesEncryptedAtRest(),
        efsEncryptedAtRest(),
        efsEncryptedInTransit(),
        securityGroupsClosedToNetworks(),
        logGroupsExpire(),
    ];
}
