// A Relay list over `customers`: paged both ways with usePaginationFragment, which needs
// @connection (pageInfo with hasNextPage, hasPreviousPage, startCursor, endCursor) and
// @refetchable (Query.node).
import { graphql } from "relay-runtime";

export const customerListFragment = graphql`
  fragment CustomerList_query on Query
  @argumentDefinitions(
    first: { type: "Int" }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
  )
  @refetchable(queryName: "CustomerListPaginationQuery") {
    customers(first: $first, after: $after, last: $last, before: $before)
      @connection(key: "CustomerList_customers") {
      totalCount
      edges {
        node {
          id
          ...CustomerRow_customer
        }
      }
    }
  }
`;
