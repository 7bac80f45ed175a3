// The browser side of tests/browser/test_apq_browser.py: Apollo Client, unchanged, with its
// persisted-query link. Rebuild ../static/apq-client.js with `npm install && npm run build`.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { sha256 } from "crypto-hash";

const QUERY = gql`
  query ApqCustomers {
    customers(first: 3) {
      edges {
        node {
          provider
          displayName
        }
      }
    }
  }
`;

window.runApq = async (uri) => {
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri })
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const first = await client.query({ query: QUERY, fetchPolicy: "network-only" });
  const second = await client.query({ query: QUERY, fetchPolicy: "network-only" });
  return { first: first.data, second: second.data };
};
