/**
 * When an SSM activation expires. Time is cut into windows of (expiry - renew) days; the
 * activation made in a window expires `expiry` days after the window starts. So every `up`
 * sees an activation with at least `renew` days left, and the expiration date (which forces a
 * new activation when it changes) changes only when a new window begins.
 */
const DAY_MS = 24 * 3600 * 1000;

export interface ActivationWindow {
    /** Start of the current window. */
    readonly windowStart: Date;
    /** The activation's expiration date, RFC 3339 as SSM takes it. */
    readonly expirationDate: string;
}

export function activationWindow(now: Date, expiryDays: number, renewDays: number): ActivationWindow {
    if (!(expiryDays >= 1 && expiryDays <= 30)) throw new RangeError(`activation expiry must be 1 to 30 days, not ${expiryDays}`);
    if (!(renewDays >= 0 && renewDays < expiryDays)) throw new RangeError(`renewal must be 0 to ${expiryDays - 1} days before expiry, not ${renewDays}`);
    const periodMs = (expiryDays - renewDays) * DAY_MS;
    const windowStart = Math.floor(now.getTime() / periodMs) * periodMs;
    return { windowStart: new Date(windowStart), expirationDate: new Date(windowStart + expiryDays * DAY_MS).toISOString().replace(/\.\d{3}Z$/, "Z") };
}

/**
 * Registrations one activation allows: the configured hosts plus the spare ones asked for
 * (`activationHeadroom`, default none), at least 1 and at most SSM's 1000. Exact, so a leaked code
 * registers no machine once the hosts have used it; a change of the count makes a new activation,
 * which re-runs the (idempotent) install on every host.
 */
export function registrationLimit(hosts: number, spare: number): number {
    return Math.min(1000, Math.max(1, hosts + spare));
}
