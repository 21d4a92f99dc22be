/**
 * The e2e as pulumi/pulumi's ProgramTest lays a program's life out (pkg/testing/integration):
 * the lifecycle as data, a list of steps in the order a user lives them, each what the user does
 * with the checks of it beside it, and after each the stacks it left that a
 * `pulumi preview --expect-no-changes` must find settled. A failed step is reported and the story
 * goes on; the closing lines count them.
 */
import { indent, type Sandbox } from "./sandbox";

export interface Step<World> {
    /** What the user does and what must then hold, as one line. */
    readonly title: string;
    /** The step: its commands through the sandbox, and its checks. */
    readonly run: (world: World) => Promise<void>;
    /** Stacks a preview must find unchanged once the step is done. */
    readonly settles: readonly string[];
}

/** A step of the story; `settles` lists the stacks it must leave with nothing to change. */
export function step<World>(title: string, run: (world: World) => Promise<void>, settles: readonly string[] = []): Step<World> {
    return { title, run, settles };
}

export interface StoryResult {
    readonly passed: number;
    readonly failed: number;
}

/** Plays `steps` in order against `world`, through `sandbox`; prints each step and what failed. */
export async function playStory<World>(sandbox: Sandbox, world: World, steps: readonly Step<World>[]): Promise<StoryResult> {
    let passed = 0;
    let failed = 0;
    for (const { title, run, settles } of steps) {
        process.stdout.write(`\n- ${title}\n`);
        try {
            await run(world);
            for (const stack of settles) await sandbox.pulumi(["preview", "-s", stack, "--expect-no-changes"]);
            passed++;
            process.stdout.write(`  ok: ${title}\n`);
        } catch (error) {
            failed++;
            process.stdout.write(`  FAILED: ${title}\n${indent(error instanceof Error ? error.message : String(error))}\n`);
        }
    }
    return { passed, failed };
}
