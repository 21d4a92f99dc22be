/** Placeholder until the anywhere program lands. */
export function anywhereProgram(): Record<string, unknown> {
    throw new Error("the anywhere program is not built yet");
}
