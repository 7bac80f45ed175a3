// One customer, refetchable on its own through Query.node (Relay's Node interface).
import { graphql } from "relay-runtime";

export const customerRowFragment = graphql`
  fragment CustomerRow_customer on Customer
  @refetchable(queryName: "CustomerRowRefetchQuery") {
    id
    displayName
    provider
    createdAt
    updatedAt
  }
`;
