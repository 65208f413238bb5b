/**
 * What the components share: who a user id is (name, colour, avatar) from the people in the room,
 * initials for avatars without a picture, relative times, and the class-name joiner.
 */
import { createElement as h, useMemo, type ReactElement } from "react";
import { colorForUser, type User } from "../core/index.ts";
import { useOthers, useSelf } from "../react/index.ts";

export interface UserView {
  id: string;
  name: string;
  color: string;
  avatar?: string;
}

/** A user as shown: their token's name and colour when known, else the id and its hashed colour. */
export function toUserView(id: string, info?: { name?: string; color?: string; avatar?: string }): UserView {
  return { id, name: info?.name || id, color: info?.color || colorForUser(id), ...(info?.avatar ? { avatar: info.avatar } : {}) };
}

export type ResolveUser = (userId: string) => UserView;

/** Names and colours of everyone in the room (me included), for authors and mentions. */
export function useRoomUsers(): { resolve: ResolveUser; users: readonly UserView[] } {
  const self = useSelf();
  const others = useOthers();
  return useMemo(() => {
    const byId = new Map<string, UserView>();
    for (const u of [...(self ? [self] : []), ...others] as User[]) if (!byId.has(u.id)) byId.set(u.id, toUserView(u.id, u.info));
    return { resolve: (id: string) => byId.get(id) ?? toUserView(id), users: [...byId.values()] };
  }, [self, others]);
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0]![0]! + parts[parts.length - 1]![0]! : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

/** An avatar: the picture, or initials on the user's colour; named for screen readers by the caller. */
export function Avatar({ user, size = 28 }: { user: UserView; size?: number }): ReactElement {
  const style = { "--sf-user-color": user.color, width: size, height: size } as Record<string, string | number>;
  return user.avatar
    ? h("img", { className: "sf-avatar", src: user.avatar, alt: "", style })
    : h("span", { className: "sf-avatar", style, "aria-hidden": true }, initials(user.name));
}

/** "just now", "5 min ago", "3 h ago", else the date. */
export function formatTime(ms: number, now: number = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export function cx(...names: Array<string | false | null | undefined>): string {
  return names.filter(Boolean).join(" ");
}
