// Subscribes to customerChanged with the npm graphql-sse client (distinct connections mode,
// its default), prints "ready" once the stream is open, then the first change as one JSON
// line, and exits.
// Usage: node subscribe-sse.mjs http://127.0.0.1:PORT/graphql/stream [bearer-token]
import { createClient } from "graphql-sse";

const [url, token] = process.argv.slice(2);
const client = createClient({
  url,
  headers: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  // The gateway registers the subscriber before it answers: an open stream is listening.
  on: { connected: () => console.log("ready") },
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
    complete: () => {
      console.error("completed without a change");
      process.exit(3);
    },
  },
);
