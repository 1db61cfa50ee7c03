/** The control plane's PKI: who each certificate says its holder is, what it may be used for, and when it is made again. */
import { X509Certificate, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensurePki } from "../../cluster/pki.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-cluster-pki-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cert = (file: string) => new X509Certificate(readFileSync(file));

describe("the cluster's PKI", () => {
  it("makes a CA that signed the serving and client certificates, each with the subject the API server maps to a user", async () => {
    const { files, made } = await ensurePki(join(dir, "a"));
    expect(made).toBe(true);
    const ca = cert(files.ca.cert);
    expect(ca.ca).toBe(true);
    for (const pair of [files.serving, files.admin, files.controllerManager, files.scheduler]) {
      const c = cert(pair.cert);
      expect(c.checkIssued(ca) && c.verify(ca.publicKey)).toBe(true);
      expect(c.ca).toBe(false);
      // The key file holds the private half of the certificate's public key.
      expect(createPublicKey(readFileSync(pair.key)).export({ format: "der", type: "spki" })).toEqual(c.publicKey.export({ format: "der", type: "spki" }));
    }
    expect(cert(files.admin.cert).subject.split("\n").sort()).toEqual(["CN=admin", "O=system:masters"]);
    expect(cert(files.controllerManager.cert).subject).toBe("CN=system:kube-controller-manager");
    expect(cert(files.scheduler.cert).subject).toBe("CN=system:kube-scheduler");
  });

  it("serves 127.0.0.1 and localhost only, and keeps server and client certificates to their use", async () => {
    const { files } = await ensurePki(join(dir, "b"));
    const serving = cert(files.serving.cert);
    expect(serving.subjectAltName).toBe("IP Address:127.0.0.1, DNS:localhost");
    expect(serving.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(serving.checkIP("10.0.0.1")).toBeUndefined();
    expect(serving.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]); // serverAuth
    expect(cert(files.admin.cert).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // clientAuth
  });

  it("writes every key and certificate mode 0600 in a 0700 folder", async () => {
    const pkiDir = join(dir, "c");
    const { files } = await ensurePki(pkiDir);
    expect(statSync(pkiDir).mode & 0o777).toBe(0o700);
    const all = [files.ca, files.serving, files.admin, files.controllerManager, files.scheduler].flatMap((p) => [p.cert, p.key]);
    for (const f of [...all, files.serviceAccountKey, files.serviceAccountPub]) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
  });

  it("keeps the PKI across starts, so a kubeconfig handed out stays valid", async () => {
    const pkiDir = join(dir, "d");
    const first = await ensurePki(pkiDir);
    const before = readFileSync(first.files.ca.cert, "utf8");
    const again = await ensurePki(pkiDir);
    expect(again.made).toBe(false);
    expect(readFileSync(again.files.ca.cert, "utf8")).toBe(before);
  });

  it("makes the certificates again when one nears its end, and keeps the service-account key so issued tokens stay valid", async () => {
    const pkiDir = join(dir, "e");
    const { files } = await ensurePki(pkiDir);
    const ca = readFileSync(files.ca.cert, "utf8");
    const saKey = readFileSync(files.serviceAccountKey, "utf8");
    const renewed = await ensurePki(pkiDir, new Date(Date.now() + 340 * 86_400_000));
    expect(renewed.made).toBe(true);
    expect(readFileSync(files.ca.cert, "utf8")).not.toBe(ca);
    expect(readFileSync(files.serviceAccountKey, "utf8")).toBe(saKey);
  });
});
