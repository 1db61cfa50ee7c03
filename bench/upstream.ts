/** Where the HTTP scenario sends its requests: the probe's /upstream, or a stand-in server process. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Upstream {
  url: string;
  pid: number;
  /** What answers: named in the report. */
  what: string;
  close(): Promise<void>;
}

export function probeUpstream(probeUrl: string, pid: number): Upstream {
  return { url: `${probeUrl}/upstream`, pid, what: "the probe app's /upstream (node:http server of app-probe)", close: async () => undefined };
}

export async function standInUpstream(keepAliveTimeoutMs: number): Promise<Upstream> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./http-server.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    env: { PATH: process.env.PATH, SERVER_KEEPALIVE_TIMEOUT_MS: String(keepAliveTimeoutMs) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`the stand-in HTTP server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/upstream`,
    pid: child.pid ?? 0,
    what: "a node:http server in its own process (bench/http-server.ts), the probe could not be used",
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill("SIGKILL");
    },
  };
}
