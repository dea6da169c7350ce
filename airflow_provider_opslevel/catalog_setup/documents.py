"""Every GraphQL document catalog setup sends, keyed by operation name in :data:`ALL_DOCUMENTS`.

Tests validate each against the package's ``schema.graphql``. Lists are paged the opslevel-go way:
``$after: String!`` (``""`` for the first page) and ``$first: Int!``, repeating with
``after = pageInfo.endCursor`` while ``pageInfo.hasNextPage``.

Why no ``propertyDefinitionCreate``: its ``PropertyDefinitionInput`` cannot name a component type
(it creates on the default one), so definitions are created through ``componentTypeCreate`` /
``componentTypeUpdate`` and their ``properties: [ComponentTypePropertyDefinitionInput!]``.
"""

from __future__ import annotations

PAGE_SIZE = 100

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"

DEFINITION_FIELDS = """
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

COMPONENT_TYPE_LIST = f"""
query ComponentTypeList($after: String!, $first: Int!) {{
  account {{
    componentTypes(after: $after, first: $first) {{
      nodes {{ id aliases name description isDefault }}
      {_PAGE_INFO}
    }}
  }}
}}
"""

COMPONENT_TYPE_PROPERTIES = (
    f"""
query ComponentTypeProperties($id: ID!, $after: String!, $first: Int!) {{
  account {{
    componentType(input: {{id: $id}}) {{
      properties(after: $after, first: $first) {{
        nodes {{ ...CatalogDefinitionFields }}
        {_PAGE_INFO}
      }}
    }}
  }}
}}
"""
    + DEFINITION_FIELDS
)

RELATIONSHIP_DEFINITION_LIST = (
    f"""
query RelationshipDefinitionList($componentType: IdentifierInput!, $after: String!, $first: Int!) {{
  account {{
    relationshipDefinitions(componentType: $componentType, after: $after, first: $first) {{
      nodes {{ ...CatalogRelationshipDefinitionFields }}
      {_PAGE_INFO}
    }}
  }}
}}
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

#: The operations that write (the rest only read).
MUTATIONS = frozenset(
    {
        "ComponentTypeCreate",
        "ComponentTypeUpdate",
        "PropertyDefinitionUpdate",
        "RelationshipDefinitionCreate",
        "RelationshipDefinitionUpdate",
    }
)
