/**
 * Entry point: validate the environment, start the probe, and turn SIGTERM / SIGINT into a graceful
 * shutdown. Node runs as PID 1 in the image, where the kernel gives signals no default action, so the
 * handlers here are what makes the container stop.
 */
import { ProbeEnvError, loadProbeEnv } from "./env.ts";
import { createLogger } from "./logger.ts";
import { createProbe } from "./probe.ts";

const bootLog = createLogger("info", []);

function fail(err: unknown): never {
  if (err instanceof ProbeEnvError) bootLog.fatal({ code: err.code, issues: err.issues }, err.message);
  else bootLog.fatal({ err }, "probe failed to start");
  process.exit(1);
}

let env;
try {
  env = loadProbeEnv(process.env);
} catch (err) {
  fail(err);
}

const probe = await createProbe(env).catch(fail);
const SIGNAL_EXIT = { SIGTERM: 143, SIGINT: 130 } as const;
let stopping = false;

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) {
      probe.log.warn({ signal }, "second signal; exiting now");
      process.exit(SIGNAL_EXIT[signal]);
    }
    stopping = true;
    probe.log.info({ signal }, "shutting down");
    // close() finishes within the grace period by design; this is the guard if it somehow does not.
    setTimeout(() => {
      probe.log.error("shutdown overran SHUTDOWN_GRACE_MS; exiting");
      process.exit(1);
    }, env.shutdownGraceMs + 1000).unref();
    probe.close().then(
      () => process.exit(0),
      (err: unknown) => {
        probe.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}

process.on("unhandledRejection", (err) => {
  probe.log.fatal({ err }, "unhandled rejection");
  process.exit(1);
});
