/**
 * A Server-Sent Events client over fetch for tests: the events a stream sends (id, event, data as
 * JSON), its comment lines, and a way to wait for them. It sends the headers given (a session
 * cookie, a bearer key, Last-Event-ID) as a browser's EventSource would send its own.
 */
import { waitFor } from "./clients.ts";

export interface SseEvent<T = any> {
  id: string | null;
  event: string;
  data: T;
}

export interface SseStream<T = any> {
  status: number;
  headers: Headers;
  events: SseEvent<T>[];
  comments: string[];
  /** The body of a non-200 answer (JSON), null otherwise. */
  error: any;
  /** Resolves once the server has ended the stream. */
  ended: Promise<void>;
  waitForEvents(count: number, timeoutMs?: number): Promise<SseEvent<T>[]>;
  close(): void;
}

export async function openSse<T = any>(url: string, headers: Record<string, string> = {}): Promise<SseStream<T>> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  const stream: SseStream<T> = {
    status: response.status,
    headers: response.headers,
    events: [],
    comments: [],
    error: null,
    ended: Promise.resolve(),
    async waitForEvents(count, timeoutMs = 5000) {
      await waitFor(() => stream.events.length >= count, timeoutMs, `${count} stream events (have ${stream.events.length})`);
      return stream.events;
    },
    close: () => abort.abort(),
  };
  if (response.status !== 200 || !response.body) {
    stream.error = await response.json().catch(() => null);
    return stream;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  stream.ended = (async () => {
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let split: number;
        while ((split = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const event: { id: string | null; event: string; data: string[] } = { id: null, event: "message", data: [] };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) stream.comments.push(line.slice(1).trim());
            else if (line.startsWith("id: ")) event.id = line.slice(4);
            else if (line.startsWith("event: ")) event.event = line.slice(7);
            else if (line.startsWith("data: ")) event.data.push(line.slice(6));
          }
          if (event.data.length > 0) stream.events.push({ id: event.id, event: event.event, data: JSON.parse(event.data.join("\n")) as T });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}
