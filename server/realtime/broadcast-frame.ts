/**
 * One WebSocket frame per broadcast, written to every socket as it is.
 *
 * Hocuspocus broadcasts a document's update or awareness change by calling `send` on every
 * connection with the same Uint8Array (Document.broadcast encodes once per message address). `ws`
 * would then frame that payload again for each socket — a header buffer, an options object, and a
 * cork / write / write / uncork that ends in a two-buffer `writev` — which, for a room of 200, is
 * most of the server's CPU after the system call itself. Here the frame (header + payload in one
 * buffer) is built once for that payload and each socket gets a single `write` of it.
 *
 * The cache holds two frames, keyed by the identity of the payload's source array and the offset the
 * payload starts at: one for whole messages (/collab) and one for suffixes (the y-websocket edge
 * sends the message without its address), so a room with both kinds of client builds each frame
 * once per broadcast. A broadcast loop reuses them for every socket; the next different payload
 * replaces its slot.
 *
 * This writes to the socket beneath a `ws` WebSocket, which ws (8.x) allows only while its Sender
 * is idle: no compression negotiated, nothing queued (blob reads, deflate), not inside a fragmented
 * message. Otherwise the message goes through `ws.send`, in order behind what is queued. The
 * internals used (`_socket`, `_sender._state`, `_sender._queue`, `_sender._firstFragment`,
 * `_extensions`) are pinned by test/unit/realtime/broadcast-frame.test.ts against the installed ws.
 */
import type { WebSocket } from "ws";

const OPEN = 1;
const SENDER_IDLE = 0; // ws/lib/sender.js DEFAULT
const OPCODE_BINARY = 0x2;
const FIN = 0x80;

interface WsInternals {
  _socket: { write(chunk: Buffer): boolean } | null;
  _sender: { _state: number; _queue: unknown[]; _firstFragment: boolean } | null;
  _extensions: Record<string, unknown>;
}

interface CachedFrame {
  source: Uint8Array | null;
  start: number;
  frame: Buffer | null;
}
const wholeMessages: CachedFrame = { source: null, start: 0, frame: null };
const suffixes: CachedFrame = { source: null, start: -1, frame: null };

/** An unmasked, final, binary frame (RFC 6455 §5.2) carrying `payload`. */
export function binaryFrame(payload: Uint8Array): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN | OPCODE_BINARY;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** Whether a pre-built frame may be written to this socket directly (see the module comment). */
function writable(ws: WebSocket): WsInternals["_socket"] {
  const internals = ws as unknown as WsInternals;
  const sender = internals._sender;
  if (!sender || sender._state !== SENDER_IDLE || sender._queue.length !== 0 || !sender._firstFragment) return null;
  for (const _ in internals._extensions) return null;
  return internals._socket;
}

/**
 * Whether broadcasts may be written to `ws` with writeBroadcast: no extension negotiated (they are
 * negotiated in the handshake, before a socket is handed to us, and never change).
 */
export function framesDirectly(ws: WebSocket): boolean {
  return Object.keys((ws as unknown as WsInternals)._extensions).length === 0;
}

/**
 * Send `source.subarray(start)` to a socket framesDirectly accepted: the shared frame straight onto
 * the socket beneath while ws' Sender is idle, else through ws (sendBinary). Reads only the
 * WebSocket and its Sender: in a room's fan-out, each object read is a cache miss after the previous
 * socket's system call. The Sender's queue is not read: ws 8 queues only while its state is not idle
 * and drains the queue before it returns to idle (sender.js enqueue/dequeue; pinned by
 * test/unit/realtime/broadcast-frame.test.ts).
 */
export function writeBroadcast(ws: WebSocket, source: Uint8Array, start: number): void {
  const internals = ws as unknown as WsInternals;
  const sender = internals._sender;
  const socket = internals._socket;
  if (sender === null || socket === null || sender._state !== SENDER_IDLE || !sender._firstFragment || ws.readyState !== OPEN) {
    sendBinary(ws, source, start);
    return;
  }
  socket.write(frameOf(source, start));
}

/** The frame for `source.subarray(start)`, built once per broadcast (see the module comment). */
function frameOf(source: Uint8Array, start: number): Buffer {
  const cached = start === 0 ? wholeMessages : suffixes;
  if (source !== cached.source || start !== cached.start || cached.frame === null) {
    cached.frame = binaryFrame(start === 0 ? source : source.subarray(start));
    cached.source = source;
    cached.start = start;
  }
  return cached.frame;
}

/**
 * Send `source.subarray(start)` as one binary message. Consecutive calls with the same `source`
 * and `start` (a broadcast) share one frame. The payload must not change after it was sent.
 */
export function sendBinary(ws: WebSocket, source: Uint8Array, start = 0): void {
  if (ws.readyState !== OPEN) return;
  const socket = writable(ws);
  if (!socket) {
    ws.send(start === 0 ? source : source.subarray(start));
    return;
  }
  socket.write(frameOf(source, start));
}
