/**
 * A real webhook receiver on 127.0.0.1 for tests, and the verification code of docs/webhooks.md,
 * loaded from the page itself so the documented snippet is what the tests run.
 */
import http from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./server.ts";

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  event: { type: string; data: Record<string, unknown>; test?: boolean };
  at: number;
}

type Verify = (secret: string, headers: Record<string, string>, rawBody: string, toleranceSeconds?: number) => { type: string; data: Record<string, unknown> };

let loaded: Promise<Verify> | null = null;

/** The `verifyWebhook` of docs/webhooks.md's code block, imported from a copy of it. */
export function documentedVerify(): Promise<Verify> {
  loaded ??= (async () => {
    const page = readFileSync(path.join(ROOT, "docs/webhooks.md"), "utf8");
    const match = /```js\n\/\/ verify-webhook\.mjs\n([\s\S]*?)```/.exec(page);
    if (!match) throw new Error("docs/webhooks.md has no verify-webhook.mjs block");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "sf-webhook-")), "verify-webhook.mjs");
    writeFileSync(file, match[1]!);
    return ((await import(pathToFileURL(file).href)) as { verifyWebhook: Verify }).verifyWebhook;
  })();
  return loaded;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** Requests started but not answered yet. */
  open(): number;
  /** How to answer each request (default 204 at once). */
  respond: (request: ReceivedWebhook, index: number) => Promise<number> | number;
  ofType(type: string): ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let open = 0;
  const receiver: Receiver = {
    url: "",
    received,
    open: () => open,
    respond: () => 204,
    ofType: (type) => received.filter((r) => r.event.type === type),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", async () => {
      open += 1;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const entry: ReceivedWebhook = { headers, body, event: JSON.parse(body), at: Date.now() };
      received.push(entry);
      try {
        const status = await receiver.respond(entry, received.length - 1);
        res.writeHead(status).end();
      } catch {
        res.destroy();
      } finally {
        open -= 1;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
  return receiver;
}
