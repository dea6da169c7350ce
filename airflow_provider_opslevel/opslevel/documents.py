"""Every fixed GraphQL document the OpsLevel layer sends, and the selections batches reuse.

Tests validate each document (and batches built from the selections) against ``schema.graphql``.
Lists are paged the opslevel-go way (:mod:`.pagination`): ``$after: String!`` (``""`` for the
first page) and ``$first: Int!``.

The sync reads components and their types (``ComponentsOfType``, ``ComponentTypeGet`` ...) and
writes in batches (:data:`MUTATIONS`); catalog setup reads and writes component types, property
definitions and relationship definitions (``ComponentTypeList`` ... :data:`SETUP_WRITES`).

Why no ``propertyDefinitionCreate``: its ``PropertyDefinitionInput`` cannot name a component type
(it creates on the default one), so definitions are created through ``componentTypeCreate`` /
``componentTypeUpdate`` and their ``properties: [ComponentTypePropertyDefinitionInput!]``.
"""

from __future__ import annotations

PAGE_SIZE = 500  # OpsLevel's own page size (opslevel-go client.go)
NESTED_PAGE_SIZE = 100  # keep equal to the first: values inside COMPONENT_SELECTION
SETUP_PAGE_SIZE = 100  # component types, property and relationship definitions (catalog setup)

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

# ---------------------------------------------------------------- catalog setup (component types)

PROPERTY_DEFINITION_FIELDS = """
fragment CatalogDefinitionFields on PropertyDefinition {
  id
  aliases
  name
  description
  schema
  lockedStatus
  propertyDisplayStatus
  allowedInConfigFiles
}
"""

RELATIONSHIP_DEFINITION_FIELDS = """
fragment CatalogRelationshipDefinitionFields on RelationshipDefinitionType {
  id
  alias
  name
  description
  componentType { id aliases }
  metadata { allowedTypes allowedCategories minItems maxItems }
  managementRules {
    operator
    sourceProperty
    sourcePropertyBuiltin
    targetProperty
    targetPropertyBuiltin
    targetType
    targetCategory
  }
}
"""

COMPONENT_TYPE_LIST = """
query ComponentTypeList($after: String!, $first: Int!) {
  account {
    componentTypes(after: $after, first: $first) {
      nodes { id aliases name description isDefault }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

COMPONENT_TYPE_PROPERTIES = (
    """
query ComponentTypeProperties($id: ID!, $after: String!, $first: Int!) {
  account {
    componentType(input: {id: $id}) {
      properties(after: $after, first: $first) {
        nodes { ...CatalogDefinitionFields }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""
    + PROPERTY_DEFINITION_FIELDS
)

RELATIONSHIP_DEFINITION_LIST = (
    """
query RelationshipDefinitionList($componentType: IdentifierInput!, $after: String!, $first: Int!) {
  account {
    relationshipDefinitions(componentType: $componentType, after: $after, first: $first) {
      nodes { ...CatalogRelationshipDefinitionFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + RELATIONSHIP_DEFINITION_FIELDS
)

RELATIONSHIP_DEFINITION_GET = (
    """
query RelationshipDefinitionGet($alias: String!) {
  account {
    relationshipDefinition(input: {alias: $alias}) { ...CatalogRelationshipDefinitionFields }
  }
}
"""
    + RELATIONSHIP_DEFINITION_FIELDS
)

COMPONENT_TYPE_CREATE = """
mutation ComponentTypeCreate($input: ComponentTypeInput!) {
  componentTypeCreate(input: $input) {
    componentType { id aliases name }
    errors { message path }
  }
}
"""

COMPONENT_TYPE_UPDATE = """
mutation ComponentTypeUpdate($componentType: IdentifierInput!, $input: ComponentTypeInput!) {
  componentTypeUpdate(componentType: $componentType, input: $input) {
    componentType { id aliases name }
    errors { message path }
  }
}
"""

PROPERTY_DEFINITION_UPDATE = """
mutation PropertyDefinitionUpdate($propertyDefinition: IdentifierInput!, $input: PropertyDefinitionInput!) {
  propertyDefinitionUpdate(propertyDefinition: $propertyDefinition, input: $input) {
    definition { id aliases }
    errors { message path }
  }
}
"""

RELATIONSHIP_DEFINITION_CREATE = """
mutation RelationshipDefinitionCreate($input: RelationshipDefinitionInput!) {
  relationshipDefinitionCreate(input: $input) {
    definition { id alias }
    errors { message path }
  }
}
"""

RELATIONSHIP_DEFINITION_UPDATE = """
mutation RelationshipDefinitionUpdate($relationshipDefinition: IdentifierInput!, $input: RelationshipDefinitionInput!) {
  relationshipDefinitionUpdate(relationshipDefinition: $relationshipDefinition, input: $input) {
    definition { id alias }
    errors { message path }
  }
}
"""

ALL_DOCUMENTS = {
    "ComponentsOfType": COMPONENTS_OF_TYPE,
    "ComponentPropertiesPage": COMPONENT_PROPERTIES_PAGE,
    "ComponentTagsPage": COMPONENT_TAGS_PAGE,
    "ComponentTypeGet": COMPONENT_TYPE_GET,
    "ComponentTypePropertiesPage": COMPONENT_TYPE_PROPERTIES_PAGE,
    "AccountId": ACCOUNT_ID,
    "ComponentTypeList": COMPONENT_TYPE_LIST,
    "ComponentTypeProperties": COMPONENT_TYPE_PROPERTIES,
    "RelationshipDefinitionList": RELATIONSHIP_DEFINITION_LIST,
    "RelationshipDefinitionGet": RELATIONSHIP_DEFINITION_GET,
    "ComponentTypeCreate": COMPONENT_TYPE_CREATE,
    "ComponentTypeUpdate": COMPONENT_TYPE_UPDATE,
    "PropertyDefinitionUpdate": PROPERTY_DEFINITION_UPDATE,
    "RelationshipDefinitionCreate": RELATIONSHIP_DEFINITION_CREATE,
    "RelationshipDefinitionUpdate": RELATIONSHIP_DEFINITION_UPDATE,
}

#: Catalog setup's writes (the only mutations above): operation -> the payload's root field.
SETUP_WRITES = {
    "ComponentTypeCreate": "componentTypeCreate",
    "ComponentTypeUpdate": "componentTypeUpdate",
    "PropertyDefinitionUpdate": "propertyDefinitionUpdate",
    "RelationshipDefinitionCreate": "relationshipDefinitionCreate",
    "RelationshipDefinitionUpdate": "relationshipDefinitionUpdate",
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
