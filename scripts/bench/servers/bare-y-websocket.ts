/**
 * The y-websocket baseline: the reference server of the y-websocket protocol
 * (@y/websocket-server's setupWSConnection), in memory, no authentication, no persistence — as
 * `npx y-websocket` runs it. Room = URL path. Prints `{"port":N}` once it listens; stops on
 * SIGTERM/SIGINT.
 */
import http from "node:http";
import { WebSocketServer } from "ws";
import { setupWSConnection } from "@y/websocket-server/utils";

const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("ok");
});
const wss = new WebSocketServer({ noServer: true });
wss.on("connection", (ws, req) => setupWSConnection(ws, req));
server.on("upgrade", (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`bare-y-websocket listening ${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`);
});
const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
