/**
 * The SyncForge editor demo: "pick a name" sign-in (POST /demo/token), then a Tiptap document with
 * avatars, live pointer cursors, carets and selections, typing, comments anchored to text with
 * @mentions, reactions and resolve, the inbox and toasts — all from @syncforge/react-ui.
 * Open it in two windows with two names. The room is the URL's ?room= (default "welcome").
 */
import { createElement as h, StrictMode, useEffect, useRef, useState, type ReactElement } from "react";
import { createRoot } from "react-dom/client";
import type { Editor } from "@tiptap/core";
import { createClient, type Client } from "../../client/core/index.ts";
import { RoomProvider, SyncForgeProvider, useMyAccess, useRoom, useSetTyping } from "../../client/react/index.ts";
import { AvatarStack, CommentsPanel, Cursors, InboxNotifications, NotificationToasts, TypingIndicator, useRoomUsers } from "../../client/ui/index.ts";
import { createEditor, selectionAnchor, showAnchor } from "./editor.ts";

type Role = "editor" | "commenter";
interface Session {
  name: string;
  role: Role;
}

const params = new URLSearchParams(location.search);
const ROOM = params.get("room") || "welcome";

function SignIn({ onSignIn }: { onSignIn(session: Session): void }): ReactElement {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("editor");
  return h(
    "main",
    { className: "demo-card demo-signin" },
    h("h1", null, "SyncForge editor demo"),
    h("p", null, "Pick a name, then open this page in another window with another name."),
    h(
      "form",
      {
        className: "demo-signin",
        style: { margin: 0 },
        onSubmit: (e: { preventDefault(): void }) => {
          e.preventDefault();
          if (name.trim()) onSignIn({ name: name.trim(), role });
        },
      },
      h("label", null, "Your name", h("input", { name: "name", value: name, autoFocus: true, autoComplete: "off", onChange: (e: { target: HTMLInputElement }) => setName(e.target.value) })),
      h(
        "label",
        null,
        "You may",
        h(
          "select",
          { name: "role", value: role, onChange: (e: { target: HTMLSelectElement }) => setRole(e.target.value as Role) },
          h("option", { value: "editor" }, "edit and comment"),
          h("option", { value: "commenter" }, "comment only"),
        ),
      ),
      h("button", { type: "submit", className: "sf-button sf-button-primary" }, "Join"),
    ),
  );
}

function Document({ editorRef }: { editorRef: { current: Editor | null } }): ReactElement {
  const room = useRoom();
  const access = useMyAccess();
  const setTyping = useSetTyping();
  const host = useRef<HTMLDivElement>(null);
  const canWrite = access?.canWrite ?? false;

  useEffect(() => {
    if (!host.current || !access) return;
    const editor = createEditor(host.current, room, canWrite);
    editor.on("update", ({ transaction }) => {
      if (transaction.getMeta("y-sync$") === undefined) setTyping(true);
    });
    editorRef.current = editor;
    return () => {
      editorRef.current = null;
      editor.destroy();
    };
  }, [room, access?.userId, canWrite]);

  return h(
    Cursors,
    { className: "demo-editor" },
    h("div", { className: "demo-toolbar" }, h(TypingIndicator, null), !canWrite && access && h("span", { className: "demo-role" }, "Comment only: select text and comment; the document is read-only for you.")),
    h("div", { ref: host, "data-testid": "editor" }),
  );
}

function App({ session, onSignOut }: { session: Session; onSignOut(): void }): ReactElement {
  const editorRef = useRef<Editor | null>(null);
  const [dark, setDark] = useState(false);
  useEffect(() => {
    document.documentElement.dataset.theme = dark ? "dark" : "light";
  }, [dark]);
  return h(
    RoomProvider,
    { id: ROOM, initialPresence: {} },
    h(
      "header",
      { className: "demo-header" },
      h("h1", null, `SyncForge · ${ROOM}`),
      h(AvatarStack, { showSelf: true, max: 5 }),
      h("div", { className: "demo-spacer" }),
      h("span", { className: "demo-role" }, `${session.name} (${session.role === "editor" ? "editor" : "commenter"})`),
      h("button", { type: "button", className: "sf-button", "aria-pressed": dark, onClick: () => setDark(!dark) }, dark ? "Light theme" : "Dark theme"),
      h("button", { type: "button", className: "sf-button", onClick: onSignOut }, "Sign out"),
    ),
    h(
      "main",
      { className: "demo-main" },
      h(Document, { editorRef }),
      h(
        "aside",
        { className: "demo-side" },
        h(
          "div",
          { className: "demo-card" },
          h(CommentsPanel, {
            newThreadAnchor: () => (editorRef.current ? selectionAnchor(editorRef.current) : null),
            onThreadSelect: (thread) => editorRef.current && showAnchor(editorRef.current, thread),
          }),
        ),
        h("div", { className: "demo-card" }, h(Inbox)),
      ),
    ),
    h(Toasts),
  );
}

/** The inbox and toasts, with names from the people in the room. */
function Inbox(): ReactElement {
  const { resolve } = useRoomUsers();
  return h(InboxNotifications, { hrefFor: (n) => (n.threadId ? `#${n.threadId}` : null), nameOf: (id) => resolve(id).name });
}

function Toasts(): ReactElement {
  const { resolve } = useRoomUsers();
  return h(NotificationToasts, { nameOf: (id) => resolve(id).name });
}

function Root(): ReactElement {
  const [session, setSession] = useState<Session | null>(() => JSON.parse(sessionStorage.getItem("sf-demo") ?? "null") as Session | null);
  const [client, setClient] = useState<Client | null>(null);

  useEffect(() => {
    if (!session) return;
    sessionStorage.setItem("sf-demo", JSON.stringify(session));
    const c = createClient({
      url: location.origin,
      authEndpoint: async (room?: string) => {
        const response = await fetch("/demo/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...session, ...(room ? { room } : {}) }) });
        if (!response.ok) throw new Error(`sign-in failed: ${response.status}`);
        return ((await response.json()) as { token: string }).token;
      },
    });
    setClient(c);
    return () => {
      c.destroy();
      setClient(null);
    };
  }, [session?.name, session?.role]);

  if (!session) return h(SignIn, { onSignIn: setSession });
  if (!client) return h("p", null, "Connecting…");
  return h(SyncForgeProvider, { client }, h(App, {
    session,
    onSignOut: () => {
      sessionStorage.removeItem("sf-demo");
      setSession(null);
    },
  }));
}

createRoot(document.getElementById("root")!).render(h(StrictMode, null, h(Root)));
