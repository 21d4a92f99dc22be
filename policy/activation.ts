/**
 * The SSM activation's reach: whoever holds its code registers machines that get the hosts' role,
 * join the cluster and can be given the worker's task (its task role reads the queue). So it allows
 * no more registrations than the stack's hosts plus the spare ones the pack's config allows, and
 * lives no longer than the pack's config allows.
 */
import * as aws from "@pulumi/aws";
import type { ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { DYNAMIC_RESOURCES } from "./anywhere";
import { known } from "./stack";

/** The hosts' registration, one per host the stack registers (infra/anywhere/deregister.ts). */
const REGISTRATION_TYPE = Object.keys(DYNAMIC_RESOURCES).find((type) => type.endsWith(":HostRegistration")) as string;
/** SSM's own default when a registration limit is not given. */
const SSM_DEFAULT_LIMIT = 1;

export interface ActivationBounds {
    /** Registrations allowed beyond the stack's hosts. Default 0. */
    readonly maxSpareRegistrations: number;
    /** Days from now an activation may expire. Default 14: a ceiling against drift (SSM allows 30; the program's default is 2). */
    readonly maxActivationDays: number;
}

export const DEFAULT_ACTIVATION_BOUNDS: ActivationBounds = { maxSpareRegistrations: 0, maxActivationDays: 14 };

export function activationBounded(now: () => number = Date.now): StackValidationPolicy {
    return {
        name: "activation-bounded",
        description:
            "The SSM activation allows no more registrations than the stack's hosts plus `maxSpareRegistrations` (pack " +
            "config, default 0) and expires within `maxActivationDays` (default 14): a leaked code registers machines that " +
            "get the hosts' role, join the cluster and can be given the worker's task, until the limit is used or it expires.",
        enforcementLevel: "mandatory",
        configSchema: {
            properties: {
                maxSpareRegistrations: { type: "integer", minimum: 0, maximum: 1000, default: DEFAULT_ACTIVATION_BOUNDS.maxSpareRegistrations },
                maxActivationDays: { type: "integer", minimum: 1, maximum: 30, default: DEFAULT_ACTIVATION_BOUNDS.maxActivationDays },
            },
        },
        validateStack: (args, reportViolation: ReportViolation) => {
            const activations = args.resources.filter((r) => r.isType(aws.ssm.Activation));
            if (activations.length === 0) args.notApplicable("no SSM activation");
            const config = { ...DEFAULT_ACTIVATION_BOUNDS, ...args.getConfig<Partial<ActivationBounds>>() };
            const hosts = args.resources.filter((r) => r.type === REGISTRATION_TYPE).length;
            for (const activation of activations) {
                const limit = known(() => activation.props.registrationLimit as unknown) ?? SSM_DEFAULT_LIMIT;
                if (typeof limit === "number" && limit > hosts + config.maxSpareRegistrations) {
                    reportViolation(
                        `activation \`${activation.name}\` allows ${limit} registrations for the stack's ${hosts} host${hosts === 1 ? "" : "s"}: ` +
                            `${limit - hosts} spare, where the pack allows ${config.maxSpareRegistrations}. Ask for spares only when registering hosts by hand ` +
                            "(`ecs-anywhere:activationHeadroom`), and allow them in the pack's config (maxSpareRegistrations)",
                        activation.urn,
                    );
                }
                const expires = known(() => activation.props.expirationDate as unknown);
                const latest = now() + config.maxActivationDays * 86_400_000;
                if (typeof expires === "string" && Date.parse(expires) > latest) {
                    reportViolation(
                        `activation \`${activation.name}\` expires ${expires}, more than ${config.maxActivationDays} days from now: lower \`ecs-anywhere:activationExpiryDays\` ` +
                            "(by default the activation lives one day more than activationRenewDays)",
                        activation.urn,
                    );
                }
            }
        },
    };
}
