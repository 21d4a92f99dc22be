/** The host steps' settings a test bed host gets: the program's own, pointed at the bed's stand-in installer and endpoints. */
import type { HostStepSettings } from "../../infra/anywhere/host-commands";
import type { TestBed, TestHost } from "./testbed";

export function testBedSettings(bed: TestBed, host: TestHost, extra: Partial<HostStepSettings> = {}): HostStepSettings {
    return {
        hostName: host.name,
        region: "eu-west-1",
        cluster: "ecs-anywhere-anywhere",
        dataDir: host.dataDir,
        installerUrl: bed.installerUrl(host),
        reregister: false,
        verifyTimeoutSeconds: 10,
        ssmEndpoint: bed.endpointUrl(host, "ssm"),
        ecsEndpoint: bed.endpointUrl(host, "ecs"),
        ...extra,
    };
}
