/**
 * What every Hocuspocus hook finds in `context` for an authenticated WebSocket connection: the
 * socket edge's part (collab-socket.ts, yws-socket.ts) and the end-user actor server/auth made
 * from the connection's access token (extensions/authenticate.ts spreads it in, and updates it in
 * place on a token refresh). Server-side direct connections carry neither.
 */
import type { EndUserActor } from "../auth/actor.ts";
import type { SocketContext } from "./socket-edge.ts";

export interface ConnectionContext extends SocketContext, EndUserActor {}
