/**
 * Who is signed in: GET /api/me once at start (401 means nobody), updated by the sign-in and
 * sign-out pages. Pages read it with `useSession()`.
 */
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiError, get, post, type User } from "./api.ts";

interface SessionValue {
  /** undefined while loading, null when signed out. */
  user: User | null | undefined;
  error: unknown;
  setUser(user: User | null): void;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ user: User }>("/me").then(
      (body) => setUser(body.user),
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setUser(null);
        else setError(e);
      },
    );
  }, []);
  const signOut = async () => {
    await post("/auth/logout");
    setUser(null);
  };
  return <SessionContext.Provider value={{ user, error, setUser, signOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
