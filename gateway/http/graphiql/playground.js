// Starts GraphiQL with the page's config (the JSON block in index.html). Queries and mutations
// go over HTTP to the endpoint; a subscription goes over graphql-transport-ws to the same path
// on this host (the vendored graphql-ws client). A browser cannot set headers on a WebSocket
// upgrade, so the headers from GraphiQL's header editor travel in the connection_init payload,
// where the gateway reads `Authorization` (gateway/http/websocket.py).
"use strict";

const config = JSON.parse(document.getElementById("gateway-config").textContent);
const endpoint = new URL(config.endpoint, window.location.href);
const subscriptionUrl =
  (endpoint.protocol === "https:" ? "wss://" : "ws://") + endpoint.host + endpoint.pathname;

function fetcher(params, options) {
  // A client per run, with that run's headers. It is lazy: it opens a socket only if the run
  // is a subscription, and closes it when the subscription ends (or GraphiQL stops it).
  const wsClient = graphqlWs.createClient({
    url: subscriptionUrl,
    connectionParams: (options && options.headers) || {},
    // A refused key or a closed socket shows as the run's error instead of being retried.
    retryAttempts: 0,
  });
  return GraphiQL.createFetcher({ url: config.endpoint, wsClient })(params, options);
}

const explorer = GraphiQLPluginExplorer.explorerPlugin();
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.query,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: config.headers ? "headers" : false,
    plugins: [explorer],
  })
);
