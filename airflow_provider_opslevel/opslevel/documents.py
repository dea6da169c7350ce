"""Every fixed GraphQL document the client sends, and the selections batches reuse.

Tests validate each document (and batches built from the selections) against ``schema.graphql``.
"""

from __future__ import annotations

PAGE_SIZE = 500  # OpsLevel's own page size (opslevel-go client.go)
NESTED_PAGE_SIZE = 100  # keep equal to the first: values inside COMPONENT_SELECTION

ERRORS = "errors { message path }"

PROPERTY_NODE = "definition { id aliases } value locked"

COMPONENT_SELECTION = """{
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
  properties(first: 100) { nodes { %s } pageInfo { hasNextPage endCursor } }
}""".replace("%s", PROPERTY_NODE)

COMPONENT_FIELDS = "fragment ComponentFields on Service " + COMPONENT_SELECTION + "\n"

COMPONENTS_OF_TYPE = (
    """
query ComponentsOfType($typeId: String!, $after: String!, $first: Int!) {
  account {
    services(first: $first, after: $after, filter: [{key: component_type_id, arg: $typeId, type: equals}]) {
      nodes { ...ComponentFields }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}
"""
    + COMPONENT_FIELDS
)

COMPONENT_PROPERTIES_PAGE = """
query ComponentPropertiesPage($id: ID!, $after: String!, $first: Int!) {
  account {
    service(id: $id) {
      properties(after: $after, first: $first) { nodes { %s } pageInfo { hasNextPage endCursor } }
    }
  }
}
""".replace("%s", PROPERTY_NODE)

COMPONENT_TAGS_PAGE = """
query ComponentTagsPage($id: ID!, $after: String!, $first: Int!) {
  account {
    service(id: $id) {
      tags(after: $after, first: $first) { nodes { id key value } pageInfo { hasNextPage endCursor } }
    }
  }
}
"""

DEFINITION_NODE = "id aliases name schema"

COMPONENT_TYPE_GET = """
query ComponentTypeGet($alias: String!) {
  account {
    componentType(input: {alias: $alias}) {
      id
      aliases
      name
      properties(first: 100) { nodes { %s } pageInfo { hasNextPage endCursor } }
    }
  }
}
""".replace("%s", DEFINITION_NODE)

COMPONENT_TYPE_PROPERTIES_PAGE = """
query ComponentTypePropertiesPage($id: ID!, $after: String!, $first: Int!) {
  account {
    componentType(input: {id: $id}) {
      properties(after: $after, first: $first) { nodes { %s } pageInfo { hasNextPage endCursor } }
    }
  }
}
""".replace("%s", DEFINITION_NODE)

ACCOUNT_ID = """
query AccountId { account { id } }
"""

ALL_DOCUMENTS = {
    "ComponentsOfType": COMPONENTS_OF_TYPE,
    "ComponentPropertiesPage": COMPONENT_PROPERTIES_PAGE,
    "ComponentTagsPage": COMPONENT_TAGS_PAGE,
    "ComponentTypeGet": COMPONENT_TYPE_GET,
    "ComponentTypePropertiesPage": COMPONENT_TYPE_PROPERTIES_PAGE,
    "AccountId": ACCOUNT_ID,
}

# Batched operations: root field → (argument types, selection). The batcher aliases and names them.
MUTATIONS: dict[str, tuple[dict[str, str], str]] = {
    "serviceCreate": ({"input": "ServiceCreateInput!"}, f"{{ service {{ id name aliases }} {ERRORS} }}"),
    "serviceUpdate": ({"input": "ServiceUpdateInput!"}, f"{{ service {{ id }} {ERRORS} }}"),
    "serviceDelete": ({"input": "ServiceDeleteInput!"}, f"{{ deletedServiceId {ERRORS} }}"),
    "aliasCreate": ({"input": "AliasCreateInput!"}, f"{{ aliases ownerId {ERRORS} }}"),
    "propertyAssign": (
        {"input": "PropertyInput!"},
        f"{{ property {{ value validationErrors {{ message path }} }} {ERRORS} }}",
    ),
    "propertyUnassign": ({"owner": "IdentifierInput!", "definition": "IdentifierInput!"}, f"{{ {ERRORS} }}"),
    "tagAssign": ({"input": "TagAssignInput!"}, f"{{ tags {{ id key value }} {ERRORS} }}"),
    "tagDelete": ({"input": "TagDeleteInput!"}, f"{{ {ERRORS} }}"),
}
