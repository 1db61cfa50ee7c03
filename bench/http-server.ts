/**
 * The HTTP scenario's server when the probe app cannot be started: a node:http server in its own
 * process answering GET /upstream like the probe does, with the probe's server keep-alive timeout.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const keepAliveTimeout = Number(process.env.SERVER_KEEPALIVE_TIMEOUT_MS ?? 5000);
const server = createServer((req, res) => {
  const body = req.url === "/upstream" ? '{"ok":true}' : '{"error":"not_found"}';
  res.writeHead(req.url === "/upstream" ? 200 : 404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = keepAliveTimeout;
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
