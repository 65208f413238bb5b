/** The dashboard's entry: session, then the routes (App.tsx). */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { SessionProvider } from "./session.tsx";
import { App } from "./App.tsx";
import "./styles.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider>
      <App />
    </SessionProvider>
  </StrictMode>,
);
