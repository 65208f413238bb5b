/**
 * A typed app on the SDK: app-defined Presence, UserInfo and ThreadMetadata flow through the core
 * client, the room, comments and the React hooks. `npx tsc --noEmit` checks this file; each
 * `@ts-expect-error` line is a mistake the types must catch (tsc fails if one stops being an error).
 */
import { createElement as h } from "react";
import { createClient, type Room, type ThreadData, type User } from "../core/index.ts";
import { createRoomContext, shallow } from "../react/index.ts";

// ── The app's own types ──────────────────────────────────────────────────────────────────────
type Presence = {
  tool: "select" | "pen" | "eraser";
  selectedShapeIds: string[];
};
type UserInfo = { name: string; avatar?: string; color: string; role: "designer" | "reviewer" };
type ThreadMetadata = { x: number; y: number; shapeId: string; priority?: "low" | "high" };

type AppTypes = { Presence: Presence; UserInfo: UserInfo; ThreadMetadata: ThreadMetadata };

// ── Core ─────────────────────────────────────────────────────────────────────────────────────
export const client = createClient<AppTypes>({ url: "https://collab.example.com", authEndpoint: "/api/syncforge-auth" });

export async function useTheCore(): Promise<void> {
  const room: Room<AppTypes> = client.enterRoom("design-review", { initialPresence: { tool: "select", selectedShapeIds: [] } });
  room.updatePresence({ tool: "pen" });
  // @ts-expect-error — not one of the app's tools
  room.updatePresence({ tool: "laser" });

  const others: readonly User<AppTypes>[] = room.getOthers();
  const reviewers: string[] = others.filter((o) => o.info.role === "reviewer").map((o) => o.info.name);
  // @ts-expect-error — UserInfo has no "email"
  others.map((o) => o.info.email);
  void reviewers;

  room.updateCursor({ x: 10, y: 20 });
  room.setSelection(room.doc.getText("content"), 0, 5);

  const thread: ThreadData<ThreadMetadata> = await room.comments.createThread({
    body: "Can we align these, @bob?",
    metadata: { x: 120, y: 80, shapeId: "rect-1" },
  });
  // @ts-expect-error — shapeId must be a string
  await room.comments.createThread({ body: "x", metadata: { x: 1, y: 2, shapeId: 3 } });
  await room.comments.updateThreadMetadata(thread.id, { priority: "high" });
  // @ts-expect-error — not a priority
  await room.comments.updateThreadMetadata(thread.id, { priority: "urgent" });
  const shapeId: string = thread.metadata.shapeId;
  void shapeId;

  room.events.others.subscribe((list) => list.forEach((u) => u.presence.tool));
  room.leave();
}

// ── React ────────────────────────────────────────────────────────────────────────────────────
const { SyncForgeProvider, RoomProvider, useOthers, useMyPresence, useSelf, useThreads, useNotifications, useCursors } =
  createRoomContext<AppTypes>();

function Toolbar() {
  const [presence, updatePresence] = useMyPresence();
  const tool: Presence["tool"] | undefined = presence.tool;
  // @ts-expect-error — not a tool
  const wrong = () => updatePresence({ tool: "laser" });
  void wrong;
  return h("button", { onClick: () => updatePresence({ tool: "eraser" }) }, tool ?? "none");
}

function Avatars() {
  const names = useOthers((others) => others.map((o) => o.info.name), shallow);
  const myRole = useSelf((me) => me.info.role);
  return h("div", null, `${names.join(", ")} (${myRole ?? "?"})`);
}

function Pins() {
  const { threads, markThreadAsResolved } = useThreads();
  const cursors = useCursors();
  return h(
    "div",
    null,
    threads.map((t) => h("button", { key: t.id, style: { left: t.metadata.x, top: t.metadata.y }, onClick: () => markThreadAsResolved(t.id) }, t.comments.length)),
    cursors.map((c) => h("span", { key: c.connectionId, style: { color: c.color, left: c.x, top: c.y } }, c.name)),
  );
}

function Bell() {
  const { unreadCount, markAllRead } = useNotifications();
  return h("button", { onClick: () => markAllRead() }, String(unreadCount));
}

export function App() {
  return h(
    SyncForgeProvider,
    { client },
    h(RoomProvider, { id: "design-review", initialPresence: { tool: "select", selectedShapeIds: [] } }, h(Toolbar), h(Avatars), h(Pins), h(Bell)),
  );
}
