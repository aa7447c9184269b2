// The one way the interface reads anything: the public GraphQL API with the user's token.
import { TOKEN_KEY } from "./token.js";

export class Unauthenticated extends Error {}
export class ApiError extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// Called when the server refuses the token (revoked mid-session): main.js brings the sign-in back.
let unauthenticated = () => {};
export function onUnauthenticated(handler) {
  unauthenticated = handler;
}

export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token() || ""}` },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    const err = new Unauthenticated("The server refused this token.");
    unauthenticated(err);
    throw err;
  }
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(`HTTP ${response.status}`);
  if (body.errors && body.errors.length) throw new ApiError(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

// Mutations answer a union: a payload or a typed error ({message}).
export function failure(result) {
  return result && typeof result.message === "string" && result.__typename && result.__typename.endsWith("Error")
    ? result.message : null;
}
