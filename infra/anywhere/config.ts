/** Placeholder until the anywhere config lands (keeps infra/config.ts compiling). */
export {};
