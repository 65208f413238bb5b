/**
 * Rooms: a page at a time in room-id order (the API's cursor pagination), searched as you type
 * (the list endpoint's `search`: id or name, over every room), a room opened by its exact id from any page, and creating
 * one (Owners, Admins, Members).
 */
import { useEffect, useState } from "react";
import { get, post, type Room } from "../api.ts";
import { can } from "../policy.ts";
import { Link, navigate } from "../router.tsx";
import { ErrorNotice, Field, Form, formatDate, LoadState, PageTitle, useAction, useLoad } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;

export function RoomsPage() {
  const { org } = useOrg();
  const base = `/organizations/${org.id}/rooms`;
  // The cursors of the pages before this one, so "Previous" can go back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [query, setQuery] = useState("");
  // The server searches every room (id or name); asked a moment after typing stops, from the first page.
  const [search, setSearch] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(query.trim());
      setCursors([]);
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query]);
  const page = useLoad(() => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) params.set("cursor", cursor);
    if (search) params.set("search", search);
    return get<{ data: Room[]; nextCursor: string | null }>(`${base}?${params}`);
  }, [org.id, cursor, search]);
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [maxParticipants, setMaxParticipants] = useState("");
  const create = useAction(async () => {
    const body: Record<string, unknown> = {};
    if (id.trim()) body.id = id.trim();
    if (name.trim()) body.name = name.trim();
    if (maxParticipants) body.maxParticipants = Number(maxParticipants);
    const { room } = await post<{ room: Room }>(base, body);
    navigate(`/organizations/${org.id}/rooms/${encodeURIComponent(room.id)}`);
  });
  const needle = query.trim().toLowerCase();
  return (
    <>
      <PageTitle>Rooms</PageTitle>
      {can(org.role, "rooms:write") && (
        <section className="card">
          <h2>Create a room</h2>
          <Form onSubmit={create.run} className="inline-form">
            <Field label="Room id" maxLength={128} placeholder="design-review" hint="Left empty, a UUID is generated." value={id} onChange={(e) => setId(e.target.value)} />
            <Field label="Name" maxLength={256} value={name} onChange={(e) => setName(e.target.value)} />
            <Field label="Max participants" type="number" min={1} value={maxParticipants} onChange={(e) => setMaxParticipants(e.target.value)} />
            <button type="submit" disabled={create.busy}>
              Create room
            </button>
          </Form>
          <ErrorNotice error={create.error} />
        </section>
      )}
      <Form onSubmit={() => (query.trim() ? navigate(`/organizations/${org.id}/rooms/${encodeURIComponent(query.trim())}`) : undefined)} className="inline-form">
        <Field
          label="Search rooms"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Room id or name"
          hint="Searches room ids and names as you type; Enter opens the room with exactly this id."
        />
        <button type="submit" className="secondary">
          Open room
        </button>
      </Form>
      <LoadState loaded={page}>
        {({ data, nextCursor }) => {
          const rooms = data.filter((r) => !needle || r.id.toLowerCase().includes(needle) || (r.name ?? "").toLowerCase().includes(needle));
          return (
            <>
              {rooms.length === 0 ? (
                <p>{data.length === 0 ? "No rooms yet. Rooms are also created when a user first connects with a token that may write." : "No room on this page matches."}</p>
              ) : (
                <div className="table-wrap">
                  <table>
                    <caption className="visually-hidden">Rooms</caption>
                    <thead>
                      <tr>
                        <th scope="col">Room</th>
                        <th scope="col">Name</th>
                        <th scope="col">Max participants</th>
                        <th scope="col">Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rooms.map((room) => (
                        <tr key={room.id}>
                          <td>
                            <Link to={`/organizations/${org.id}/rooms/${encodeURIComponent(room.id)}`}>{room.id}</Link>
                          </td>
                          <td>{room.name ?? "—"}</td>
                          <td>{room.maxParticipants ?? "no limit"}</td>
                          <td>{formatDate(room.createdAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              <nav className="row pager" aria-label="Pages of rooms">
                <button type="button" className="secondary" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                  Previous page
                </button>
                <button type="button" className="secondary" disabled={!nextCursor} onClick={() => nextCursor && setCursors([...cursors, nextCursor])}>
                  Next page
                </button>
              </nav>
            </>
          );
        }}
      </LoadState>
    </>
  );
}
