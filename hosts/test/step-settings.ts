/**
 * The host steps' settings a test bed host gets: the program's own defaults (AWS's pinned installer
 * and the region's endpoints, which the test bed serves under their real names).
 */
import { DEFAULT_ECS_VERSION, DEFAULT_INSTALLER_SHA256, DEFAULT_INSTALLER_URL } from "../../infra/anywhere/config";
import type { HostStepSettings } from "../../infra/anywhere/host-commands";
import type { TestHost } from "./testbed";

export const TEST_REGION = "eu-west-1";
export const TEST_CLUSTER = "ecs-anywhere-anywhere";

export function testBedSettings(host: TestHost, extra: Partial<HostStepSettings> = {}): HostStepSettings {
    return {
        hostName: host.name,
        region: TEST_REGION,
        cluster: TEST_CLUSTER,
        dataDir: host.dataDir,
        installerUrl: DEFAULT_INSTALLER_URL,
        installerSha256: DEFAULT_INSTALLER_SHA256,
        ecsVersion: DEFAULT_ECS_VERSION,
        reregister: false,
        verifyTimeoutSeconds: 10,
        ...extra,
    };
}
