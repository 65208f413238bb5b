/**
 * The connected UI components (client/ui) rendered in jsdom against the real server: AvatarStack
 * and TypingIndicator follow the room, CommentsPanel shows a reader no control the server would
 * refuse, and InboxNotifications receives a mention with no room open.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { createElement as h, type ReactNode } from "react";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { installDom, type Dom } from "../../helpers/dom.ts";
import { waitFor } from "../../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { createClient, type Client } from "../../../client/core/index.ts";
import { RoomProvider, SyncForgeProvider } from "../../../client/react/index.ts";
import { AvatarStack, CommentsPanel, InboxNotifications, TypingIndicator } from "../../../client/ui/index.ts";

describe("UI components against the real server (jsdom)", () => {
  let server: TestServer;
  let writers: AuthBackend;
  let readers: AuthBackend;
  let dom: Dom;
  const clients: Client[] = [];

  before(async () => {
    // Updates arrive from the network, outside act(); waitFor polls the DOM for them.
    dom = await installDom({ act: false });
    server = await startServer();
    // An organisation of its own: inboxes load their history, which other files' mentions would fill.
    const orgId = `org-ui-${randomUUID().slice(0, 8)}`;
    writers = await startAuthBackend({ orgId });
    readers = await startAuthBackend({ orgId, permissions: { "*": ["room:read", "comments:read"] } });
  });
  afterEach(() => {
    dom.rtl.cleanup();
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await readers.close();
    await writers.close();
    await server.close();
    dom.uninstall();
  });

  function client(userId: string, backend = writers): Client {
    const c = createClient({ url: server.httpUrl, authEndpoint: backend.url(userId), reconnect: FAST_RECONNECT });
    clients.push(c);
    return c;
  }

  function inRoom(c: Client, roomId: string, ...children: ReactNode[]) {
    const container = dom.window.document.createElement("div");
    dom.window.document.body.append(container);
    dom.rtl.render(h(SyncForgeProvider, { client: c }, h(RoomProvider, { id: roomId }, ...children)), { container });
    return container;
  }

  it("AvatarStack and TypingIndicator follow the room; CommentsPanel shows a reader no write control", async () => {
    const roomId = `ui-${randomUUID()}`;
    const alice = client("alice");
    const bob = client("bob", readers);
    const mine = inRoom(alice, roomId, h(AvatarStack, { showSelf: true }), h(TypingIndicator), h(CommentsPanel));
    const theirs = inRoom(bob, roomId, h(CommentsPanel));
    await waitFor(() => mine.querySelector('[aria-label="bob"]') !== null, 5000, "bob's avatar");
    expect(mine.querySelector(".sf-avatar-stack li")!.getAttribute("aria-label")).to.equal("alice (you)");

    bob.getRoom(roomId)!.setTyping(true);
    await waitFor(() => mine.querySelector(".sf-typing")!.textContent === "bob is typing…", 5000, "typing");

    // Alice may write: a composer and, on her thread, Resolve. Bob reads only: neither.
    await waitFor(() => mine.querySelector('textarea[aria-label="New comment"]') !== null, 5000, "alice's composer");
    await alice.getRoom(roomId)!.comments.createThread({ body: "Reviewed?" });
    await waitFor(() => theirs.querySelector(".sf-thread") !== null, 5000, "thread at bob");
    await waitFor(() => [...mine.querySelectorAll(".sf-thread button")].some((b) => b.textContent === "Resolve"), 5000, "alice's resolve");
    expect(theirs.querySelector("textarea")).to.equal(null);
    expect([...theirs.querySelectorAll("button")].map((b) => b.textContent)).to.not.include.members(["Resolve", "Edit", "Delete", "☺︎+"]);
  });

  it("InboxNotifications receives a mention with no room open and marks it read", async () => {
    const roomId = `ui-inbox-${randomUUID()}`;
    const carol = client("carol");
    const container = dom.window.document.createElement("div");
    dom.window.document.body.append(container);
    dom.rtl.render(h(SyncForgeProvider, { client: carol }, h(InboxNotifications)), { container });
    const alice = client("alice");
    const room = alice.enterRoom(roomId);
    await room.waitUntilSynced();
    await room.comments.createThread({ body: "for you @carol", mentions: ["carol"] });
    await waitFor(() => container.querySelector(".sf-unread") !== null, 5000, "mention in carol's inbox");
    expect(container.querySelector(".sf-inbox-text")!.textContent).to.include("alice mentioned you in " + roomId);
    dom.rtl.fireEvent.click(container.querySelector('button[aria-label^="Mark as read"]')!);
    await waitFor(() => container.querySelector(".sf-unread-count")!.textContent === "0", 5000, "read");
    room.leave();
  });
});
