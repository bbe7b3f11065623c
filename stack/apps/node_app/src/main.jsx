// The React frontend of the practical case: lists items that fastapi-app reads
// from PostgreSQL, through node-app's /api proxy.
import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

function Items() {
  const [state, setState] = useState({ status: "loading", items: [], requestId: null });
  useEffect(() => {
    fetch("/api/items")
      .then(async (response) => {
        const body = await response.json();
        setState({
          status: response.ok ? "loaded" : "error",
          items: body.items || [],
          requestId: response.headers.get("x-request-id"),
          error: body.error,
        });
      })
      .catch((err) => setState({ status: "error", items: [], error: String(err) }));
  }, []);
  return (
    <main>
      <h1>Items</h1>
      <p id="status" data-request-id={state.requestId || ""}>{state.status}</p>
      {state.error && <p id="error">{state.error}</p>}
      <table id="items">
        <tbody>
          {state.items.map((item) => (
            <tr key={item.id} className="item"><td>{item.id}</td><td>{item.name}</td></tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<Items />);
