/**
 * The React hooks rendered in jsdom against the real server, with render counters: selector-based
 * hooks re-render only when what they select changes.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { createElement as h, type ReactNode } from "react";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { installDom, type Dom } from "../../helpers/dom.ts";
import { waitFor } from "../../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { createClient, type Client, type Room } from "../../../client/core/index.ts";
import {
  RoomProvider,
  SyncForgeProvider,
  shallow,
  useComments,
  useErrorListener,
  useMyPresence,
  useNotifications,
  useOthers,
  useRoom,
  useSelections,
  useSelf,
  useStatus,
  useThreads,
  useBroadcastEvent,
  useEventListener,
} from "../../../client/react/index.ts";

type Types = {
  Presence: { tool?: string; selectedId?: string };
  UserInfo: { name?: string };
  ThreadMetadata: { x?: number };
};

describe("React hooks against the real server (jsdom)", () => {
  let server: TestServer;
  let backend: AuthBackend;
  let dom: Dom;
  let rtl: Dom["rtl"];
  const clients: Client<Types>[] = [];

  before(async () => {
    // Updates arrive from the network, outside act(); waitFor polls the DOM for them instead.
    dom = await installDom({ act: false });
    rtl = dom.rtl;
    server = await startServer();
    // An organisation of its own: the inbox loads its history, which other files' mentions would fill.
    backend = await startAuthBackend({ orgId: `org-hooks-${randomUUID().slice(0, 8)}` });
  });
  afterEach(() => {
    rtl.cleanup();
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await backend.close();
    await server.close();
    dom.uninstall();
  });

  function client(userId: string): Client<Types> {
    const c = createClient<Types>({ url: server.httpUrl, authEndpoint: backend.url(userId), reconnect: FAST_RECONNECT, throttle: 16 });
    clients.push(c);
    return c;
  }

  async function coreUser(userId: string, roomId: string): Promise<Room<Types>> {
    const room = client(userId).enterRoom(roomId, { initialPresence: { tool: "pen" } });
    await room.waitUntilSynced();
    return room;
  }

  function app(c: Client<Types>, roomId: string, ...children: ReactNode[]) {
    return h(SyncForgeProvider<Types>, { client: c }, h(RoomProvider<Types>, { id: roomId, initialPresence: { tool: "pen" } }, ...children));
  }

  const text = (id: string) => dom.window.document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;

  it("useOthers with a selector re-renders only when the selected data changes", async () => {
    const roomId = `react-others-${randomUUID()}`;
    const renders = { count: 0, tools: 0, all: 0 };
    function CountOthers() {
      renders.count++;
      const n = useOthers<Types, number>((others) => others.length);
      return h("span", { "data-testid": "count" }, String(n));
    }
    function OthersTools() {
      renders.tools++;
      const tools = useOthers<Types, string[]>((others) => others.map((o) => o.presence.tool ?? ""), shallow);
      return h("span", { "data-testid": "tools" }, tools.join(","));
    }
    function AllOthers() {
      renders.all++;
      const others = useOthers<Types>();
      return h("span", { "data-testid": "all" }, others.map((o) => `${o.id}:${o.presence.selectedId ?? ""}`).join(","));
    }
    function Status() {
      return h("span", { "data-testid": "status" }, useStatus());
    }
    rtl.render(app(client("alice"), roomId, h(CountOthers), h(OthersTools), h(AllOthers), h(Status)));
    await waitFor(() => text("status") === "connected", 5000, "connected");

    const bob = await coreUser("bob", roomId);
    await waitFor(() => text("count") === "1" && text("tools") === "pen", 5000, "bob appears");
    const before = { ...renders };

    // A change no selector reads: only the component that reads everything re-renders.
    bob.updatePresence({ selectedId: "shape-1" });
    await waitFor(() => text("all") === "bob:shape-1", 5000, "selection seen");
    expect(renders.count).to.equal(before.count);
    expect(renders.tools).to.equal(before.tools);
    expect(renders.all).to.be.greaterThan(before.all);

    // The tool changes: the tools selector re-renders, the count still does not.
    const mid = { ...renders };
    bob.updatePresence({ tool: "brush" });
    await waitFor(() => text("tools") === "brush", 5000, "tool seen");
    expect(renders.count).to.equal(mid.count);
    expect(renders.tools).to.be.greaterThan(mid.tools);
  });

  it("useBroadcastEvent sends to the others; useEventListener hears theirs, never its own", async () => {
    const roomId = `react-events-${randomUUID()}`;
    const heard: string[] = [];
    let send: ((event: { says: string }) => void) | null = null;
    function Events() {
      const broadcast = useBroadcastEvent();
      send = broadcast;
      useEventListener(({ user, event }) => heard.push(`${user?.id}:${(event as { says: string }).says}`));
      return h("span", { "data-testid": "status" }, useStatus());
    }
    rtl.render(app(client("alice"), roomId, h(Events)));
    await waitFor(() => text("status") === "connected", 5000, "connected");
    const bob = await coreUser("bob", roomId);
    const atBob: string[] = [];
    bob.events.customEvent.subscribe(({ user, event }) => atBob.push(`${user?.id}:${(event as { says: string }).says}`));
    bob.broadcast({ says: "hi alice" });
    await waitFor(() => heard.length === 1, 5000, "Bob's event in the component");
    send!({ says: "hi bob" });
    await waitFor(() => atBob.length === 1, 5000, "the component's event at Bob");
    expect(atBob).to.deep.equal(["alice:hi bob"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).to.deep.equal(["bob:hi alice"]);
  });

  it("useMyPresence is [value, setter] shared with the room; useSelf names me", async () => {
    const roomId = `react-presence-${randomUUID()}`;
    function Me() {
      const [presence, update] = useMyPresence<Types>();
      const name = useSelf<Types, string>((self) => self.id);
      return h("button", { "data-testid": "me", onClick: () => update({ tool: "eraser" }) }, `${name ?? ""}:${presence.tool ?? ""}`);
    }
    rtl.render(app(client("alice"), roomId, h(Me)));
    await waitFor(() => text("me") === "alice:pen", 5000, "rendered");
    const bob = await coreUser("bob", roomId);
    rtl.fireEvent.click(dom.window.document.querySelector('[data-testid="me"]')!);
    expect(text("me")).to.equal("alice:eraser");
    await waitFor(() => bob.getOthers()[0]?.presence.tool === "eraser", 5000, "bob sees the new tool");
  });

  it("useSelections follows the text and ignores presence changes that do not move a selection", async () => {
    const roomId = `react-selections-${randomUUID()}`;
    const alice = await coreUser("alice", roomId);
    const aliceText = alice.doc.getText("content");
    aliceText.insert(0, "hello world");
    alice.setSelection(aliceText, 6, 11);
    const bob = client("bob");
    let renders = 0;
    function Highlights() {
      renders++;
      const room = useRoom<Types>();
      const selections = useSelections<Types>(room.doc.getText("content"));
      return h("span", { "data-testid": "sel" }, selections.map((s) => `${s.user.id}:${s.from}-${s.to}`).join(","));
    }
    rtl.render(app(bob, roomId, h(Highlights)));
    await waitFor(() => text("sel") === "alice:6-11", 5000, "selection drawn");

    const before = renders;
    alice.updatePresence({ tool: "marker" });
    await waitFor(() => bob.getRoom(roomId)?.getOthers()[0]?.presence.tool === "marker", 5000, "presence arrives");
    expect(renders).to.equal(before);

    bob.getRoom(roomId)!.doc.getText("content").insert(0, "Oh, ");
    await waitFor(() => text("sel") === "alice:10-15", 5000, "selection follows the text");
  });

  it("useThreads and useNotifications follow the server; useComments ignores other threads", async () => {
    const roomId = `react-comments-${randomUUID()}`;
    const bob = await coreUser("bob", roomId);
    const first = await bob.comments.createThread({ body: "first", metadata: { x: 1 } });
    let threadRenders = 0;
    let actions: ReturnType<typeof useThreads<Types>> | null = null;
    function Threads() {
      const t = useThreads<Types>();
      actions = t;
      return h("span", { "data-testid": "threads" }, t.threads.map((x) => x.comments.map((c) => c.body).join("+")).join("|"));
    }
    function FirstThread() {
      threadRenders++;
      const { comments } = useComments<Types>(first.id);
      return h("span", { "data-testid": "first" }, String(comments.length));
    }
    function Inbox() {
      const { unreadCount } = useNotifications();
      return h("span", { "data-testid": "unread" }, String(unreadCount));
    }
    rtl.render(app(client("alice"), roomId, h(Threads), h(FirstThread), h(Inbox)));
    await waitFor(() => text("threads") === "first" && text("first") === "1", 5000, "thread loaded");
    const before = threadRenders;

    await bob.comments.createThread({ body: "hey @alice", metadata: { x: 2 } });
    await waitFor(() => text("threads") === "first|hey @alice", 5000, "second thread");
    await waitFor(() => text("unread") === "1", 5000, "mention in the inbox");
    expect(threadRenders).to.equal(before);

    await rtl.act(async () => {
      await actions!.createComment(first.id, "reply from alice");
    });
    await waitFor(() => text("first") === "2", 5000, "reply rendered");
    await waitFor(() => bob.comments.getThread(first.id)?.comments.length === 2, 5000, "bob sees the reply");
  });

  it("a hook outside its provider throws a message that says how to fix it; a refused write reaches useErrorListener and RoomProvider re-enters", async () => {
    function Lost() {
      useRoom();
      return null;
    }
    const original = console.error;
    console.error = () => undefined;
    try {
      expect(() => rtl.render(h(Lost))).to.throw(/useRoom must be used inside <RoomProvider>.*<RoomProvider id=/);
    } finally {
      console.error = original;
    }
    rtl.cleanup();

    const roomId = `react-errors-${randomUUID()}`;
    const seen: string[] = [];
    const rooms = new Set<unknown>();
    function Listener() {
      useErrorListener((error) => seen.push(error.code));
      const room = useRoom<Types>();
      rooms.add(room);
      const status = useStatus();
      return h("button", {
        "data-testid": "forge",
        "data-status": status,
        "data-forged": String(room.doc.getMap("sf:comments").has("cm_x")),
        onClick: () => room.doc.getMap("sf:comments").set("cm_x", { id: "cm_x", threadId: "nope", authorId: "eve" }),
      });
    }
    const alice = client("alice");
    rtl.render(app(alice, roomId, h(Listener)));
    await waitFor(() => alice.getRoom(roomId)?.getStatus() === "connected" && text("forge") !== null, 5000, "rendered and connected");
    rtl.fireEvent.click(dom.window.document.querySelector('[data-testid="forge"]')!);
    await waitFor(() => seen.length > 0, 5000, "error reported");
    expect(seen[0]).to.match(/^comment_/);
    // RoomProvider re-entered the room: a fresh document without the refused write, connected.
    const button = () => dom.window.document.querySelector('[data-testid="forge"]')!;
    await waitFor(() => rooms.size === 2 && button().getAttribute("data-status") === "connected", 5000, "re-entered");
    expect(button().getAttribute("data-forged")).to.equal("false");
  });
});
