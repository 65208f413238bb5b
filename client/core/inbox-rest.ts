/**
 * The inbox straight from the browser, with the user's own access token (no app backend to
 * proxy): the REST inbox (`/api/organizations/{org}/users/{user}/inbox-notifications…`, which accept
 * an end user's token for that user only) and its Server-Sent Events stream, which carries the same
 * `sf:notification` messages as a room's socket, so notifications arrive with no room open.
 * The organisation and user come from the token's claims; the token from the app's auth endpoint,
 * called with no room (as Liveblocks does for its inbox).
 */
import type { InboxNotification } from "../../protocol/notifications.ts";
import { parseServerMessage } from "../../protocol/notifications.ts";
import { readTokenClaims } from "./token.ts";
import type { InboxBackend } from "./notifications.ts";

export interface TokenInboxOptions {
  /** The server's HTTP origin, e.g. https://collab.example.com. */
  httpUrl: string;
  /** A valid access token of the signed-in user (cached and refreshed by the caller). */
  getToken: () => Promise<string>;
  /** Forget the token after the server refused it. */
  invalidateToken?: () => void;
  fetch?: typeof fetch;
}

/** The HTTP origin of a collaboration URL: ws(s)://host/collab → http(s)://host. */
export function toHttpUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === "ws:") u.protocol = "http:";
  if (u.protocol === "wss:") u.protocol = "https:";
  return u.origin;
}

/** An InboxBackend (list, mark read) and a live stream, both with the user's access token. */
export function createTokenInbox(options: TokenInboxOptions): InboxBackend & { stream: (onNotification: (n: InboxNotification) => void) => () => void } {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  async function call(method: string, path: string, signal?: AbortSignal): Promise<Response> {
    const token = await options.getToken();
    const claims = readTokenClaims(token);
    if (!claims?.orgId || !claims.userId) throw new Error("The access token names no organisation or user");
    const url = `${options.httpUrl}/api/organizations/${encodeURIComponent(claims.orgId)}/users/${encodeURIComponent(claims.userId)}${path}`;
    const response = await doFetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
      body: method === "POST" ? "{}" : undefined,
      signal,
    });
    if (response.status === 401) options.invalidateToken?.();
    if (!response.ok) throw new Error(`The inbox answered ${response.status}`);
    return response;
  }

  return {
    async list() {
      return (await (await call("GET", "/inbox-notifications?limit=50")).json()) as { data: InboxNotification[] };
    },
    async markRead(id) {
      await call("POST", `/inbox-notifications/${encodeURIComponent(id)}/read`);
    },
    async markAllRead() {
      await call("POST", "/inbox-notifications/read-all");
    },
    stream(onNotification) {
      const controller = new AbortController();
      let failures = 0;
      void (async () => {
        // Reconnect until stopped: the server ends the stream when the token expires, and the next
        // round fetches a fresh one. Backoff 1 s, 2 s, … 30 s after failures.
        while (!controller.signal.aborted) {
          try {
            const response = await call("GET", "/inbox-notifications/events", controller.signal);
            failures = 0;
            await readEvents(response, (data) => {
              const message = parseServerMessage(data);
              if (message?.type === "sf:notification") onNotification(message.notification);
            });
          } catch {
            failures++;
          }
          if (controller.signal.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1))));
        }
      })();
      return () => controller.abort();
    },
  };
}

/** Read an event stream's `data:` payloads until it ends (text/event-stream framing). */
export async function readEvents(response: Response, onData: (data: string) => void): Promise<void> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) onData(data);
    }
  }
}
