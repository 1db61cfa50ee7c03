/** Health and version probes of the control plane's servers, all on loopback. */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { CertFiles } from "./pki.ts";

export interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

export function tlsClient(ca: CertFiles, client: CertFiles): TlsClient {
  return { ca: readFileSync(ca.cert, "utf8"), cert: readFileSync(client.cert, "utf8"), key: readFileSync(client.key, "utf8") };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One GET with a short timeout; a refused connection or a timeout rejects. */
export function get(url: string, tls?: TlsClient, signal?: AbortSignal, timeoutMs = 2_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(url, { method: "GET", timeout: timeoutMs, signal, ...(tls ?? {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves when GET url answers 200; rejects (for `until` to retry) otherwise. */
export async function expectOk(url: string, tls?: TlsClient, signal?: AbortSignal): Promise<void> {
  const { status, body } = await get(url, tls, signal);
  if (status !== 200) throw new Error(`${url} answered ${status}: ${body.slice(0, 200)}`);
}

/** The API server's /version gitVersion ("v1.34.3"), read with the admin client certificate. */
export async function apiserverVersion(server: string, tls: TlsClient): Promise<string> {
  const { status, body } = await get(`${server}/version`, tls);
  if (status !== 200) throw new Error(`${server}/version answered ${status}`);
  return (JSON.parse(body) as { gitVersion: string }).gitVersion;
}
