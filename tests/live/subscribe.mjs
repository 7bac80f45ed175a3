// Subscribes to customerChanged with the npm graphql-ws client, prints "ready" once the
// subscription is sent, then the first change as one JSON line, and exits.
// Usage: node subscribe.mjs ws://127.0.0.1:PORT/graphql [bearer-token]
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  on: { connected: () => setTimeout(() => console.log("ready"), 300) },
});
const timer = setTimeout(() => {
  console.error("no change within 15 s");
  process.exit(2);
}, 15000);
client.subscribe(
  { query: "subscription { customerChanged { id provider kind } }" },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      clearTimeout(timer);
      client.dispose();
      process.exit(0);
    },
    error: (error) => {
      console.error(JSON.stringify(error, Object.getOwnPropertyNames(error)));
      process.exit(1);
    },
    complete: () => {},
  },
);
