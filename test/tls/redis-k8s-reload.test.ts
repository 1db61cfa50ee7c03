/**
 * The Redis TLS reloader of the Kubernetes pods (infra/k8s/manifests/tls-reload.ts) against a real
 * redis-server 7.0: the kubelet swaps new files in under the same paths, and the reloader's command,
 * alternating two spellings of those paths so the value always changes, makes Redis serve them, every
 * time. Measured here too: Debian's 7.0.15 reloads on a CONFIG SET of the very same paths as well, so the
 * alternation is a guard for releases that skip unchanged values (docs/tls.md), not needed on this one.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTlsReloadCommand, TLS_DIRS } from "../../infra/k8s/manifests/index.ts";
import { freePort } from "../../local/system.ts";
import { createCaPem, issueLeaf, loadCa, type PemPair } from "../../lib/pki.ts";
import { waitFor } from "../../lib/wait.ts";
import { devConfig } from "../k8s/fixtures.ts";
import { skipReason } from "../skip.ts";
import { redisPeerCertificate } from "./helpers.ts";

const PASSWORD = "reload-test-password";
const missing = skipReason("test/tls/redis-k8s-reload.test.ts", spawnSync("redis-server", ["--version"]).status === 0 ? undefined : "no redis-server (apt-get install redis-server)");

describe.skipIf(missing !== undefined)("the Kubernetes Redis TLS reloader against redis-server", () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-redis-reload-"));
  const tlsDir = join(dir, "tls");
  let port: number;
  let server: ChildProcess | undefined;
  let ca: PemPair;
  let signer: Awaited<ReturnType<typeof loadCa>>;

  const newLeaf = () => issueLeaf(signer, { subject: [{ CN: ["redis"] }], usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], lifetimeMs: 3_600_000 });
  const install = (leaf: PemPair) => {
    writeFileSync(join(tlsDir, "tls.crt"), leaf.cert);
    writeFileSync(join(tlsDir, "tls.key"), leaf.key, { mode: 0o600 });
  };
  const served = async () => (await redisPeerCertificate(port, join(tlsDir, "ca.crt"))).serialNumber;
  const serialOf = (leaf: PemPair) => new X509Certificate(leaf.cert).serialNumber;
  /** The reloader's own command, pointed at this test's folder and port. */
  const reload = () => {
    const cmd = redisTlsReloadCommand(devConfig({ redis: { port } })).replaceAll(TLS_DIRS.redis, tlsDir);
    return spawnSync("sh", ["-c", cmd], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, encoding: "utf8" });
  };
  const cli = (...args: string[]) =>
    spawnSync("redis-cli", ["--tls", "--cacert", join(tlsDir, "ca.crt"), "-h", "127.0.0.1", "-p", String(port), "--raw", ...args], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, encoding: "utf8" });

  beforeAll(async () => {
    ca = await createCaPem({ subject: [{ CN: ["reload test CA"] }], lifetimeMs: 86_400_000 });
    signer = await loadCa(ca);
    mkdirSync(tlsDir);
    writeFileSync(join(tlsDir, "ca.crt"), ca.cert);
    install(await newLeaf());
    port = await freePort();
    const f = (n: string) => join(tlsDir, n);
    server = spawn("redis-server", ["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--tls-cert-file", f("tls.crt"), "--tls-key-file", f("tls.key"), "--tls-ca-cert-file", f("ca.crt"), "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
    await waitFor("redis-server serving TLS", async () => (await served().catch(() => undefined)) ?? undefined);
  }, 60_000);

  afterAll(() => {
    server?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves new files after a CONFIG SET of the same paths on this redis-server (what docs/tls.md reports)", async () => {
    const leaf = await newLeaf();
    install(leaf);
    const same = cli("CONFIG", "SET", "tls-cert-file", join(tlsDir, "tls.crt"), "tls-key-file", join(tlsDir, "tls.key"), "tls-ca-cert-file", join(tlsDir, "ca.crt"));
    expect(same.stdout.trim()).toBe("OK");
    expect(await served()).toBe(serialOf(leaf));
  });

  it("serves each new leaf once the reloader's command has run, alternating the spelling", async () => {
    for (let round = 0; round < 3; round++) {
      const leaf = await newLeaf();
      install(leaf);
      const r = reload();
      expect(r.status, r.stderr).toBe(0);
      expect(await served(), `round ${round}`).toBe(serialOf(leaf));
    }
    expect([join(tlsDir, "tls.crt"), join(tlsDir, ".", "tls.crt"), `${tlsDir}/./tls.crt`]).toContain(cli("CONFIG", "GET", "tls-cert-file").stdout.split("\n")[1]);
  });
});
