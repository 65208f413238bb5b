/**
 * The comment schema lives with the SDK (client/core/comment-schema.ts), which writes the same
 * document the server checks; one definition serves both.
 */
export * from "../../../client/core/comment-schema.ts";
