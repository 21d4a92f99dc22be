/**
 * Typed, validated configuration of both kinds of stack. Each program's settings live beside
 * it (`region/config.ts`, `anywhere/config.ts`); this module is the one place to import them from.
 */
export { ConfigError } from "./validate";
export * from "./region/config";
export * from "./anywhere/config";
export { stackKind, StackKind } from "./stack-kind";
