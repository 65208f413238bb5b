/**
 * The UI components' states, rendered in jsdom with React Testing Library: what each shows, what
 * its controls are named, which controls the server's rules hide, and what the keyboard does.
 * (test/integration/client/react-ui.test.ts renders the connected components against a server.)
 */
import { expect } from "chai";
import { createElement as h } from "react";
import { installDom, type Dom } from "../../../helpers/dom.ts";
import { commentRulesFor, createClient, type ThreadData, type InboxNotification } from "../../../../client/core/index.ts";
import { SyncForgeProvider } from "../../../../client/react/index.ts";
import {
  AvatarStackView,
  Composer,
  CursorView,
  InboxNotificationsView,
  NotificationToastsView,
  NotificationToasts,
  ThreadView,
  TypingIndicatorView,
  mentionQueryAt,
  toUserView,
  typingSentence,
} from "../../../../client/ui/index.ts";

const users = ["alice", "bob", "carol", "dave", "erin", "frank"].map((id) => toUserView(id, { name: id[0]!.toUpperCase() + id.slice(1) }));

function thread(overrides: Partial<ThreadData> = {}): ThreadData {
  const comment = (id: string, authorId: string, body: string, extra = {}) => ({
    id, threadId: "th_1", parentId: null, authorId, body, mentions: [], createdAt: Date.now() - 60_000, editedAt: null, deletedAt: null, reactions: [], pending: false, ...extra,
  });
  return {
    id: "th_1", createdBy: "alice", createdAt: Date.now() - 60_000, anchor: null, resolved: false, resolvedBy: null, resolvedAt: null, metadata: {}, pending: false,
    comments: [
      comment("cm_1", "alice", "Look at this, @bob", { reactions: [{ emoji: "👍", userIds: ["bob"] }] }),
      comment("cm_2", "bob", "Done"),
      comment("cm_3", "bob", "", { deletedAt: Date.now() }),
    ],
    ...overrides,
  };
}

function recorder() {
  const calls: string[] = [];
  const record = (name: string) => async (...args: unknown[]) => void calls.push(`${name}(${args.map((a) => JSON.stringify(a)).join(",")})`);
  return {
    calls,
    actions: {
      createComment: record("createComment"),
      editComment: record("editComment"),
      deleteComment: record("deleteComment"),
      markThreadAsResolved: record("resolve"),
      markThreadAsUnresolved: record("reopen"),
      addReaction: record("addReaction"),
      removeReaction: record("removeReaction"),
    },
  };
}

describe("UI components (jsdom)", () => {
  let dom: Dom;
  before(async () => {
    dom = await installDom({ act: true });
  });
  afterEach(() => dom.rtl.cleanup());
  after(() => dom.uninstall());

  describe("AvatarStack", () => {
    it("shows at most `max` avatars, the rest as +N with their names, me first when asked", () => {
      const { container, getByLabelText } = dom.rtl.render(h(AvatarStackView, { users: users.slice(1), self: users[0]!, max: 3 }));
      const items = container.querySelectorAll("li");
      expect(items).to.have.length(4);
      expect(items[0]!.getAttribute("aria-label")).to.equal("Alice (you)");
      expect(items[1]!.getAttribute("title")).to.equal("Bob");
      expect(getByLabelText("and 3 more: Dave, Erin, Frank").textContent).to.equal("+3");
      expect(container.querySelector("ul")!.getAttribute("aria-label")).to.equal("6 people here");
      expect([...items].every((li) => li.tabIndex === 0)).to.equal(true);
    });

    it("shows initials on the user's colour and no overflow when all fit", () => {
      const { container } = dom.rtl.render(h(AvatarStackView, { users: [toUserView("u1", { name: "Ada Lovelace", color: "#123456" })] }));
      const avatar = container.querySelector(".sf-avatar") as HTMLElement;
      expect(avatar.textContent).to.equal("AL");
      expect(avatar.style.getPropertyValue("--sf-user-color")).to.equal("#123456");
      expect(container.querySelector(".sf-avatar-more")).to.equal(null);
    });
  });

  describe("TypingIndicator", () => {
    it("says who types, politely, and nothing when nobody does", () => {
      expect(typingSentence([])).to.equal("");
      expect(typingSentence(["Ann", "Ann"])).to.equal("Ann is typing…");
      expect(typingSentence(["Ann", "Bo", "Cy", "Di"])).to.equal("Ann, Bo and 2 more are typing…");
      const { getByRole } = dom.rtl.render(h(TypingIndicatorView, { names: ["Ann", "Bo"] }));
      expect(getByRole("status").textContent).to.equal("Ann and Bo are typing…");
      expect(getByRole("status").getAttribute("aria-live")).to.equal("polite");
    });
  });

  describe("Cursors", () => {
    it("draws a cursor at its position with the name in the user's colour, faded when idle", () => {
      const cursor = { connectionId: 1, userId: "bob", name: "Bob", color: "#E57373", x: 10, y: 20 };
      const { container, rerender } = dom.rtl.render(h(CursorView, { cursor, idle: false }));
      const el = container.querySelector(".sf-cursor") as HTMLElement;
      expect(el.style.transform).to.equal("translate(10px, 20px)");
      expect(el.style.getPropertyValue("--sf-user-color")).to.equal("#E57373");
      expect(el.querySelector(".sf-cursor-label")!.textContent).to.equal("Bob");
      rerender(h(CursorView, { cursor, idle: true }));
      expect(container.querySelector(".sf-cursor")!.classList.contains("sf-cursor-idle")).to.equal(true);
    });
  });

  describe("Composer", () => {
    it("suggests room users after @, inserts with the keyboard, and sends the mentions", async () => {
      const sent: Array<[string, string[]]> = [];
      const { getByRole, queryByRole } = dom.rtl.render(h(Composer, { users, onSubmit: (body: string, mentions: string[]) => void sent.push([body, mentions]) }));
      const box = getByRole("textbox", { name: "Write a comment" }) as HTMLTextAreaElement;
      dom.rtl.fireEvent.change(box, { target: { value: "hi @", selectionStart: 4 } });
      expect(getByRole("listbox").querySelectorAll("[role=option]")).to.have.length(6);
      dom.rtl.fireEvent.change(box, { target: { value: "hi @c", selectionStart: 5 } });
      const options = getByRole("listbox").querySelectorAll("[role=option]");
      expect([...options].map((o) => o.textContent)).to.deep.equal(["Carol (@carol)"]);
      expect(box.getAttribute("aria-activedescendant")).to.match(/-0$/);
      dom.rtl.fireEvent.keyDown(box, { key: "Enter" });
      expect(box.value).to.equal("hi @carol ");
      expect(queryByRole("listbox")).to.equal(null); // hidden once inserted
      dom.rtl.fireEvent.keyDown(box, { key: "Enter" });
      await dom.rtl.waitFor(() => expect(sent).to.deep.equal([["hi @carol", ["carol"]]]));
      // Emptied once the submission has resolved (a render later than onSubmit's call).
      await dom.rtl.waitFor(() => expect(box.value).to.equal(""));
    });

    it("Escape closes the suggestions; Shift+Enter does not send; an empty body cannot be sent", () => {
      const sent: string[] = [];
      const { getByRole, queryByRole } = dom.rtl.render(h(Composer, { users, onSubmit: (body: string) => void sent.push(body) }));
      const box = getByRole("textbox");
      dom.rtl.fireEvent.change(box, { target: { value: "@b", selectionStart: 2 } });
      expect(getByRole("listbox")).to.exist;
      dom.rtl.fireEvent.keyDown(box, { key: "Escape" });
      expect(queryByRole("listbox")).to.equal(null);
      dom.rtl.fireEvent.keyDown(box, { key: "Enter", shiftKey: true });
      expect(sent).to.deep.equal([]);
      dom.rtl.fireEvent.change(box, { target: { value: "  ", selectionStart: 2 } });
      expect((getByRole("button", { name: "Send" }) as HTMLButtonElement).disabled).to.equal(true);
      expect(mentionQueryAt("mail a@b", 8)).to.equal(null);
    });
  });

  describe("Thread", () => {
    it("for a commenter: edit/delete only on their own comments, reactions toggle, picker by keyboard, resolve", async () => {
      const { calls, actions } = recorder();
      const rules = commentRulesFor({ userId: "bob", canWrite: false, canWriteComments: true });
      const { getByRole, getAllByRole, queryByRole, getByText } = dom.rtl.render(h(ThreadView, { thread: thread({ createdBy: "bob" }), me: "bob", rules, actions, users }));
      expect(queryByRole("button", { name: "Edit comment by alice" })).to.equal(null);
      expect(getByRole("button", { name: "Edit comment by bob" })).to.exist;
      expect(getByText("This comment was deleted.")).to.exist;
      expect(getByText("@bob").className).to.equal("sf-mention");

      const mine = getByRole("button", { name: "👍 1: bob" });
      expect(mine.getAttribute("aria-pressed")).to.equal("true");
      dom.rtl.fireEvent.click(mine);
      const pickers = getAllByRole("button", { name: "Add reaction" });
      expect(pickers).to.have.length(2); // not on the deleted comment
      dom.rtl.fireEvent.click(pickers[1]!);
      const dialog = getByRole("dialog", { name: "Pick an emoji" });
      expect(dom.window.document.activeElement?.getAttribute("aria-label")).to.equal("thumbs up");
      dom.rtl.fireEvent.keyDown(dom.window.document.activeElement!, { key: "ArrowRight" });
      expect(dom.window.document.activeElement?.getAttribute("aria-label")).to.equal("thumbs down");
      dom.rtl.fireEvent.click(dom.window.document.activeElement!);
      expect(dialog.isConnected).to.equal(false);

      dom.rtl.fireEvent.click(getByRole("button", { name: "Resolve" }));
      dom.rtl.fireEvent.click(getByRole("button", { name: "Delete comment by bob" }));
      dom.rtl.fireEvent.click(getByRole("button", { name: "Edit comment by bob" }));
      const editor = getByRole("textbox", { name: "Edit comment" }) as HTMLTextAreaElement;
      expect(editor.value).to.equal("Done");
      dom.rtl.fireEvent.change(editor, { target: { value: "Done!", selectionStart: 5 } });
      dom.rtl.fireEvent.keyDown(editor, { key: "Enter" });
      const reply = getByRole("textbox", { name: "Reply" });
      dom.rtl.fireEvent.change(reply, { target: { value: "ok @alice", selectionStart: 9 } });
      dom.rtl.fireEvent.keyDown(reply, { key: "Escape" });
      dom.rtl.fireEvent.keyDown(reply, { key: "Enter" });
      await dom.rtl.waitFor(() => expect(calls).to.have.length(6));
      expect(calls).to.deep.equal([
        'removeReaction("cm_1","👍")',
        'addReaction("cm_2","👎")',
        'resolve("th_1")',
        'deleteComment("cm_2")',
        'editComment("cm_2","Done!",[])',
        'createComment("th_1","ok @alice",{"mentions":["alice"]})',
      ]);
    });

    it("for a reader: no composer, no picker, no resolve, no edit; reactions shown but disabled", () => {
      const { actions } = recorder();
      const rules = commentRulesFor({ userId: "dave", canWrite: false, canWriteComments: false });
      const { queryByRole, getByRole } = dom.rtl.render(h(ThreadView, { thread: thread({ resolved: true }), me: "dave", rules, actions, users }));
      expect(queryByRole("textbox")).to.equal(null);
      expect(queryByRole("button", { name: "Add reaction" })).to.equal(null);
      expect(queryByRole("button", { name: "Reopen" })).to.equal(null);
      expect(queryByRole("button", { name: /Edit|Delete/ })).to.equal(null);
      expect((getByRole("button", { name: "👍 1: bob" }) as HTMLButtonElement).disabled).to.equal(true);
    });

    it("the emoji picker closes on a click elsewhere", () => {
      const { actions } = recorder();
      const rules = commentRulesFor({ userId: "bob", canWrite: false, canWriteComments: true });
      const { getAllByRole, queryByRole } = dom.rtl.render(h(ThreadView, { thread: thread(), me: "bob", rules, actions }));
      dom.rtl.fireEvent.click(getAllByRole("button", { name: "Add reaction" })[0]!);
      expect(queryByRole("dialog", { name: "Pick an emoji" })).to.not.equal(null);
      dom.rtl.fireEvent.pointerDown(dom.window.document.body);
      expect(queryByRole("dialog", { name: "Pick an emoji" })).to.equal(null);
    });

    it("a room writer reopens someone else's thread; a commenter who did not start it cannot", () => {
      const { actions } = recorder();
      const writer = dom.rtl.render(h(ThreadView, { thread: thread({ resolved: true }), me: "erin", rules: commentRulesFor({ userId: "erin", canWrite: true, canWriteComments: true }), actions }));
      expect(writer.getByRole("button", { name: "Reopen" }).getAttribute("aria-pressed")).to.equal("true");
      writer.unmount();
      const commenter = dom.rtl.render(h(ThreadView, { thread: thread(), me: "erin", rules: commentRulesFor({ userId: "erin", canWrite: false, canWriteComments: true }), actions }));
      expect(commenter.queryByRole("button", { name: "Resolve" })).to.equal(null);
    });
  });

  describe("InboxNotifications and NotificationToasts", () => {
    const note = (id: string, kind: string, readAt: string | null): InboxNotification => ({
      id, kind, userId: "bob", roomId: "doc-1", threadId: "th_1", commentId: "cm_1", actorId: "alice", data: { excerpt: "see @bob" }, readAt, createdAt: new Date().toISOString(),
    });

    it("lists with the unread count, links to the thread, marks one or all read", () => {
      const calls: string[] = [];
      const { getByRole, getByText, getAllByRole } = dom.rtl.render(
        h(InboxNotificationsView, {
          notifications: [note("in_2", "mention", null), note("in_1", "$deploy", "2026-01-01T00:00:00Z")],
          unreadCount: 1,
          markRead: (id: string) => calls.push(`read ${id}`),
          markAllRead: () => calls.push("all"),
          hrefFor: (n: InboxNotification) => `#thread-${n.threadId}`,
          nameOf: (id: string) => id.toUpperCase(),
        }),
      );
      expect(getByText("1", { selector: ".sf-unread-count" }).getAttribute("aria-label")).to.equal("1 unread");
      const link = getByRole("link", { name: "ALICE mentioned you in doc-1" });
      expect(link.getAttribute("href")).to.equal("#thread-th_1");
      expect(getByRole("link", { name: "deploy in doc-1" })).to.exist;
      expect(getAllByRole("button", { name: /^Mark as read/ })).to.have.length(1);
      dom.rtl.fireEvent.click(getByRole("button", { name: "Mark as read: ALICE mentioned you in doc-1" }));
      dom.rtl.fireEvent.click(getByRole("button", { name: "Mark all as read" }));
      dom.rtl.fireEvent.click(link);
      expect(calls).to.deep.equal(["read in_2", "all", "read in_2"]);
    });

    it("NotificationToasts shows what is pushed live, not the history it loads, and hides it after its time", async () => {
      let push: (n: InboxNotification) => void = () => {};
      const client = createClient({
        url: "http://127.0.0.1:9",
        token: "unused",
        inbox: { list: async () => ({ data: [note("in_old", "mention", null)] }), stream: (cb) => ((push = cb), () => {}) },
      });
      try {
        const { container } = dom.rtl.render(h(SyncForgeProvider, { client }, h(NotificationToasts, { durationMs: 200 })));
        await dom.rtl.waitFor(() => expect(client.inbox.get().notifications).to.have.length(1));
        expect(container.querySelectorAll(".sf-toast")).to.have.length(0);
        dom.rtl.act(() => push(note("in_new", "reply", null)));
        expect([...container.querySelectorAll(".sf-toast")].map((t) => t.getAttribute("data-notification-id"))).to.deep.equal(["in_new"]);
        await dom.rtl.waitFor(() => expect(container.querySelectorAll(".sf-toast")).to.have.length(0), { timeout: 2000 });
      } finally {
        client.destroy();
      }
    });

    it("an empty inbox says so; toasts announce and dismiss", () => {
      const empty = dom.rtl.render(h(InboxNotificationsView, { notifications: [], unreadCount: 0, markRead: () => {}, markAllRead: () => {} }));
      expect(empty.getByText("You're all caught up.")).to.exist;
      expect(empty.queryByRole("button", { name: "Mark all as read" })).to.equal(null);
      empty.unmount();
      const dismissed: string[] = [];
      const toasts = dom.rtl.render(h(NotificationToastsView, { toasts: [note("in_9", "reply", null)], onDismiss: (id: string) => void dismissed.push(id) }));
      expect(toasts.getByRole("status").textContent).to.contain("alice replied in doc-1");
      dom.rtl.fireEvent.click(toasts.getByRole("button", { name: "Dismiss: alice replied in doc-1" }));
      expect(dismissed).to.deep.equal(["in_9"]);
    });
  });
});
