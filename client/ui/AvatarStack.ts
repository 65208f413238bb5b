/**
 * The others in the room as overlapping avatars (Liveblocks' AvatarStack): at most `max` shown, the
 * rest as "+N"; each avatar names its user in a tooltip and to screen readers; my own avatar first
 * when `showSelf`. One avatar per user, however many tabs they have open.
 */
import { createElement as h, type ReactElement } from "react";
import { useOthers, useSelf } from "../react/index.ts";
import type { User } from "../core/index.ts";
import { Avatar, toUserView, type UserView } from "./shared.ts";

export interface AvatarStackViewProps {
  users: readonly UserView[];
  self?: UserView | null;
  max?: number;
  size?: number;
  className?: string;
}

/** The stack for given users (no room needed): what AvatarStack renders. */
export function AvatarStackView({ users, self = null, max = 4, size = 28, className }: AvatarStackViewProps): ReactElement {
  const all = self ? [self, ...users.filter((u) => u.id !== self.id)] : users;
  const shown = all.slice(0, Math.max(1, max));
  const hidden = all.slice(shown.length);
  return h(
    "ul",
    { className: ["sf-avatar-stack", className].filter(Boolean).join(" "), "aria-label": `${all.length} ${all.length === 1 ? "person" : "people"} here` },
    ...shown.map((user) => {
      const label = self && user.id === self.id ? `${user.name} (you)` : user.name;
      return h("li", { key: user.id, className: "sf-avatar-stack-item", title: label, "aria-label": label, tabIndex: 0 }, h(Avatar, { user, size }));
    }),
    hidden.length > 0 &&
      h(
        "li",
        { key: "+", className: "sf-avatar-stack-item sf-avatar-more", title: hidden.map((u) => u.name).join(", "), "aria-label": `and ${hidden.length} more: ${hidden.map((u) => u.name).join(", ")}`, tabIndex: 0 },
        h("span", { className: "sf-avatar", style: { width: size, height: size }, "aria-hidden": true }, `+${hidden.length}`),
      ),
  );
}

export interface AvatarStackProps {
  max?: number;
  size?: number;
  /** Show my own avatar first (default false). */
  showSelf?: boolean;
  className?: string;
}

/** The room's others (inside a RoomProvider). */
export function AvatarStack({ showSelf = false, ...rest }: AvatarStackProps): ReactElement {
  const others = useOthers();
  const me = useSelf();
  return h(AvatarStackView, { users: uniqueUsers(others), self: showSelf && me ? toUserView(me.id, me.info) : null, ...rest });
}

/** One entry per user id, in the order they appear. */
export function uniqueUsers(users: readonly User[]): UserView[] {
  const seen = new Map<string, UserView>();
  for (const u of users) if (!seen.has(u.id)) seen.set(u.id, toUserView(u.id, u.info));
  return [...seen.values()];
}
