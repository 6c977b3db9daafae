; Scopes that qualify the names of the functions inside them: namespaces (`a::b::c` written
; nested or in one go) and classes, structs and unions with a body (templates by their name).
(namespace_definition name: (namespace_identifier) @name) @scope
(namespace_definition
  name: (nested_namespace_specifier
    (namespace_identifier) @name
    [
      (namespace_identifier) @name
      (nested_namespace_specifier
        (namespace_identifier) @name
        [
          (namespace_identifier) @name
          (nested_namespace_specifier (namespace_identifier) @name (namespace_identifier) @name)
        ])
    ])) @scope
(class_specifier
  name: [(type_identifier) @name (template_type name: (type_identifier) @name)]
  body: (field_declaration_list)) @scope
(struct_specifier
  name: [(type_identifier) @name (template_type name: (type_identifier) @name)]
  body: (field_declaration_list)) @scope
(union_specifier
  name: [(type_identifier) @name (template_type name: (type_identifier) @name)]
  body: (field_declaration_list)) @scope
