// The API token lives in sessionStorage only (this browser tab, gone when it closes).
export const TOKEN_KEY = "cmdb.token";

// `#token=...` in the URL (what `cmdb demo` prints): kept in the session, then removed from
// the address bar so it is neither bookmarked nor shown. A fragment never reaches the server.
export function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  const token = decodeURIComponent(match[1]);
  sessionStorage.setItem(TOKEN_KEY, token);
  const rest = window.location.hash.replace(/(^#|&)token=[^&]+/, "$1").replace(/^#&/, "#");
  history.replaceState(null, "", window.location.pathname + window.location.search + (rest === "#" ? "" : rest));
  return token;
}
