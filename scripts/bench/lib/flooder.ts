/**
 * A flooding client, in its own process so its own cost does not slow the measured clients down:
 * opens one Hocuspocus-protocol socket to `url`, authenticates for `room`, and sends awareness
 * updates for one client id at `rate` per second (in 2 ms steps, to keep the flooder's own CPU low) until SIGTERM, then
 * prints `{"sent":N,"seconds":S}`.
 *
 *   node scripts/bench/lib/flooder.ts <url> <room> <token> <rate>
 */
import WebSocket from "ws";
import * as encoding from "lib0/encoding";

const [url, room, token, rateArg] = process.argv.slice(2);
if (!url || !room || token === undefined || !rateArg) {
  process.stderr.write("usage: flooder.ts <url> <room> <token> <rate>\n");
  process.exit(2);
}
const rate = Number(rateArg);
const clientId = 1 + Math.floor(Math.random() * 2 ** 30);

function frame(type: number, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, room!);
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
}

const ws = new WebSocket(url);
let sent = 0;
let started = 0;
let timer: NodeJS.Timeout | null = null;
ws.on("open", () => {
  ws.send(frame(2, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, token!);
  }));
  started = performance.now();
  const tick = () => {
    const due = Math.floor(((performance.now() - started) * rate) / 1000);
    while (sent < due) {
      sent += 1;
      const state = JSON.stringify({ pointer: { x: sent % 800, y: sent % 600 }, s: sent, t: Date.now() });
      const update = encoding.createEncoder();
      encoding.writeVarUint(update, 1);
      encoding.writeVarUint(update, clientId);
      encoding.writeVarUint(update, sent);
      encoding.writeVarString(update, state);
      ws.send(frame(1, (e) => encoding.writeVarUint8Array(e, encoding.toUint8Array(update))));
    }
    timer = setTimeout(tick, 2);
  };
  tick();
});
ws.on("error", (error) => process.stderr.write(`flooder: ${error.message}\n`));
ws.on("close", (code) => process.stderr.write(`flooder: closed ${code}\n`));
process.on("SIGTERM", () => {
  if (timer) clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - started) / 1000 })}\n`);
  ws.terminate();
  process.exit(0);
});
