/**
 * @syncforge/react-ui — ready-made components over @syncforge/react: AvatarStack, Cursors,
 * TypingIndicator, Thread, Composer, CommentsPanel, InboxNotifications, NotificationToasts.
 * Styles: import "@syncforge/react-ui/styles.css" (plain CSS, themed with --sf-* variables; light
 * and dark). See docs/ui.md.
 */
export { AvatarStack, AvatarStackView, uniqueUsers } from "./AvatarStack.ts";
export type { AvatarStackProps, AvatarStackViewProps } from "./AvatarStack.ts";
export { Cursors, CursorView, IDLE_AFTER_MS } from "./Cursors.ts";
export type { CursorsProps } from "./Cursors.ts";
export { TypingIndicator, TypingIndicatorView, typingSentence } from "./TypingIndicator.ts";
export { Composer, mentionQueryAt, mentionsIn } from "./Composer.ts";
export type { ComposerProps } from "./Composer.ts";
export { EmojiPicker, DEFAULT_EMOJIS } from "./EmojiPicker.ts";
export { Thread, ThreadView, renderBody } from "./Thread.ts";
export type { ThreadViewProps, ThreadActionsLike } from "./Thread.ts";
export { CommentsPanel, scrollToAnchor } from "./CommentsPanel.ts";
export type { CommentsPanelProps } from "./CommentsPanel.ts";
export { InboxNotifications, InboxNotificationsView, describeNotification } from "./InboxNotifications.ts";
export type { InboxNotificationsProps, InboxNotificationsViewProps } from "./InboxNotifications.ts";
export { NotificationToasts, NotificationToastsView } from "./NotificationToasts.ts";
export { Avatar, toUserView, useRoomUsers, initials, formatTime } from "./shared.ts";
export type { UserView, ResolveUser } from "./shared.ts";
