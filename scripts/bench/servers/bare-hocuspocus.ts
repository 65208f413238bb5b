/**
 * The baseline: a bare, in-memory @hocuspocus/server with no extensions (no authentication, no
 * persistence, no logging), as `new Server()` gives it. Prints `{"port":N}` once it listens;
 * stops on SIGTERM/SIGINT.
 */
import { Server } from "@hocuspocus/server";

const server = new Server({ port: 0, address: "127.0.0.1", quiet: true, stopOnSignals: true });
await server.listen();
process.stdout.write(`bare-hocuspocus listening ${JSON.stringify({ port: server.address.port })}\n`);
