/** The project's error base and CLI error printing live in lib/errors.ts, shared by every layer. */
export * from "../lib/errors.ts";
