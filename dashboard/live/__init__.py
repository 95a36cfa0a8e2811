"""Live updates: what changed reaches every open page, coalesced, computed once.

- `forward`: receives `operations.events` (in the thread that committed them) and
  passes the ids of the bulks that changed on: to the hub of this process at once,
  and through the Redis channel layer (when `REDIS_URL` is set) to the hubs of every
  other server process.
- `hub`: one per server process (per event loop). It knows every open page (a
  `Viewer`) and what it shows; it also looks at the stored counters once per
  `DASHBOARD["POLL_INTERVAL"]` for changes whose events could not reach it. At most
  once per `DASHBOARD["FLUSH_INTERVAL"]` it reads the changed bulks in one query (and
  the error groups and operation rows shown, one query each), renders each fragment
  once, and sends every page the fragments it shows and may see.
- `consumer`: the websocket of one page: authenticated by the session, it tells the
  hub what the page shows (after every swap), and whether the tab is visible.
"""
