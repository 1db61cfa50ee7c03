/** The bench's command line, read without side effects so that it can be tested. */
import { parseCommandLine } from "../lib/cli.ts";
import { CliUsageError } from "../lib/errors.ts";

export const USAGE = `Usage: npm run bench -- [--quick] [--out DIR] [--json FILE] [--sweep section.key=v1,v2,… [--sweep-only]] [--tls-compare]

Measures connection pooling on the local stack: a new connection per request, app pools straight to
PostgreSQL, and the stack through PgBouncer, swept over concurrent clients, with pgbench, HTTP and
Redis references. Writes report.md, chart.svg and results.json to DIR (default bench/out/).
  --quick       fewer levels and shorter points (about two minutes)
  --json FILE   also write the results as JSON to FILE
  --sweep SPEC  also run the stack scenario once per value of one numeric stack key, each value on a
                stack of its own, at 100 and 1,000 clients (--quick: 100), e.g.
                --sweep pgbouncer.defaultPoolSize=2,4,8,16,25,50; the report gets a sweep section and
                sweep-chart.svg. Every value is checked by the stack config first: one it refuses
                (a pool past the connection budget) stops the run before anything starts.
  --sweep-only  run the sweep and nothing else
  --tls-compare also measure what TLS costs: two stacks alike but for pooling:tls.enabled, a new
                connection per request (1 client) and the stack scenario at 1,000 clients on each, back
                to back, in rounds; the report gets a TLS section (CPU per transaction with and without)`;

export interface BenchArgs {
  quick: boolean;
  out: string;
  json?: string;
  sweep?: string;
  sweepOnly: boolean;
  tlsCompare: boolean;
  help: boolean;
}

export function parseBenchArgs(argv: string[], defaultOut: string): BenchArgs {
  const { values } = parseCommandLine(
    {
      args: argv,
      options: {
        quick: { type: "boolean", default: false },
        out: { type: "string", default: defaultOut },
        json: { type: "string" },
        sweep: { type: "string" },
        "sweep-only": { type: "boolean", default: false },
        "tls-compare": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    },
    USAGE,
  );
  const sweepOnly = values["sweep-only"] ?? false;
  if (sweepOnly && values.sweep === undefined) throw new CliUsageError(`--sweep-only needs --sweep section.key=v1,v2,…\n\n${USAGE}`);
  const tlsCompare = values["tls-compare"] ?? false;
  if (sweepOnly && tlsCompare) throw new CliUsageError(`--sweep-only runs the sweep and nothing else: leave out --tls-compare, or --sweep-only\n\n${USAGE}`);
  return {
    quick: values.quick ?? false,
    out: values.out ?? defaultOut,
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(values.sweep !== undefined ? { sweep: values.sweep } : {}),
    sweepOnly,
    tlsCompare,
    help: values.help ?? false,
  };
}
