"""Every GraphQL document the client sends. Tests validate each against ``schema.graphql``."""

from __future__ import annotations

PROPERTY_PAGE_SIZE = 100  # keep equal to the first: in COMPONENT_FIELDS

COMPONENT_FIELDS = """
fragment ComponentFields on Service {
  id
  name
  description
  framework
  language
  product
  aliases
  managedAliases
  type { id aliases }
  owner { id alias }
  lifecycle { alias }
  tier { alias }
  tags(first: 100) { nodes { id key value } pageInfo { hasNextPage endCursor } }
  properties(first: 100) {
    nodes { definition { id aliases } value locked }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COMPONENT_GET = (
    """
query ComponentGet($alias: String!) {
  account { service(alias: $alias) { ...ComponentFields } }
}
"""
    + COMPONENT_FIELDS
)

COMPONENT_PROPERTIES_PAGE = """
query ComponentPropertiesPage($id: ID!, $after: String!, $first: Int!) {
  account {
    service(id: $id) {
      properties(after: $after, first: $first) {
        nodes { definition { id aliases } value locked }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

COMPONENT_CREATE = (
    """
mutation ComponentCreate($input: ServiceCreateInput!) {
  serviceCreate(input: $input) { service { ...ComponentFields } errors { message path } }
}
"""
    + COMPONENT_FIELDS
)

COMPONENT_UPDATE = (
    """
mutation ComponentUpdate($input: ServiceUpdateInput!) {
  serviceUpdate(input: $input) { service { ...ComponentFields } errors { message path } }
}
"""
    + COMPONENT_FIELDS
)

ALIAS_CREATE = """
mutation AliasCreate($input: AliasCreateInput!) {
  aliasCreate(input: $input) { aliases ownerId errors { message path } }
}
"""

PROPERTY_ASSIGN = """
mutation PropertyAssign($input: PropertyInput!) {
  propertyAssign(input: $input) {
    property { value validationErrors { message path } }
    errors { message path }
  }
}
"""

PROPERTY_UNASSIGN = """
mutation PropertyUnassign($owner: IdentifierInput!, $definition: IdentifierInput!) {
  propertyUnassign(owner: $owner, definition: $definition) { errors { message path } }
}
"""

TAG_ASSIGN = """
mutation TagAssign($input: TagAssignInput!) {
  tagAssign(input: $input) { tags { id key value } errors { message path } }
}
"""

ACCOUNT_ID = """
query AccountId { account { id } }
"""

ALL_DOCUMENTS = {
    "ComponentGet": COMPONENT_GET,
    "ComponentPropertiesPage": COMPONENT_PROPERTIES_PAGE,
    "ComponentCreate": COMPONENT_CREATE,
    "ComponentUpdate": COMPONENT_UPDATE,
    "AliasCreate": ALIAS_CREATE,
    "PropertyAssign": PROPERTY_ASSIGN,
    "PropertyUnassign": PROPERTY_UNASSIGN,
    "TagAssign": TAG_ASSIGN,
    "AccountId": ACCOUNT_ID,
}
