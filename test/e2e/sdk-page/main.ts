/**
 * A page built by Vite for test/e2e/sdk-browser.test.ts: the SDK and its React hooks in a real
 * browser. The server and room come from the query string; the auth endpoint is this page's origin
 * (the test's stand-in for the app's backend).
 */
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { createClient, type Room } from "../../../client/core/index.ts";
import { RoomProvider, SyncForgeProvider, shallow, useCursors, useOthers, useRoom, useStatus } from "../../../client/react/index.ts";

type Types = { Presence: { tool?: string }; UserInfo: { name?: string; color?: string }; ThreadMetadata: Record<string, never> };

const params = new URLSearchParams(location.search);
const client = createClient<Types>({
  url: params.get("server")!,
  authEndpoint: `/auth?user=${encodeURIComponent(params.get("user") ?? "browser")}`,
  throttle: 16,
  reconnect: { delay: 100, minDelay: 100, maxDelay: 500 },
});

function Expose() {
  (window as unknown as { room: Room<Types> }).room = useRoom<Types>();
  return null;
}

function Status() {
  return h("p", { id: "status" }, useStatus());
}

function Others() {
  const names = useOthers<Types, string[]>((others) => others.map((o) => `${o.info.name}:${o.presence.tool ?? ""}`), shallow);
  return h("p", { id: "others" }, names.join(","));
}

function Cursors() {
  const cursors = useCursors();
  return h(
    "div",
    { id: "cursors" },
    cursors.map((c) =>
      h("span", { key: c.connectionId, className: "cursor", "data-x": Math.round(c.x), "data-y": Math.round(c.y), style: { color: c.color } }, c.name),
    ),
  );
}

createRoot(document.getElementById("root")!).render(
  h(SyncForgeProvider<Types>, { client }, h(RoomProvider<Types>, { id: params.get("room")!, initialPresence: { tool: "pen" } }, h(Expose), h(Status), h(Others), h(Cursors))),
);
