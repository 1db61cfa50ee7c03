/**
 * The probe's structured logger: pino JSON lines, with every secret masked before it is written.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { redactText } from "./redact.ts";

export type { Logger };

/**
 * `secrets` are the passwords from the configured URLs. Error messages and stacks go through
 * {@link redactText} because drivers quote connection strings and server replies verbatim.
 */
export function createLogger(level: string, secrets: readonly string[], destination?: DestinationStream): Logger {
  const clean = (s: string): string => redactText(s, secrets);
  const serializeError = (value: unknown): unknown => {
    if (!(value instanceof Error)) return value;
    const code = (value as { code?: unknown }).code;
    return {
      type: value.name,
      message: clean(value.message),
      ...(typeof code === "string" ? { code } : {}),
      ...(value.stack !== undefined ? { stack: clean(value.stack) } : {}),
    };
  };
  return pino(
    {
      level,
      base: { service: "pooling-probe" },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError, error: serializeError },
      // Belt and braces for fields a future caller might log by name.
      redact: { paths: ["password", "*.password", "connectionString", "*.connectionString"], censor: "***" },
      hooks: {
        // Free-text messages may quote a URL too.
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === "string" ? clean(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
    },
    destination,
  );
}
