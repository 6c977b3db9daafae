; Scopes that qualify the names of the functions inside them.
(class_declaration name: (type_identifier) @name) @scope
(abstract_class_declaration name: (type_identifier) @name) @scope
(class name: (type_identifier) @name) @scope
(internal_module name: (_) @name) @scope
(module name: (_) @name) @scope
; Object literals bound to a name: const api = { get() {} } gives api.get.
(variable_declarator
  name: (identifier) @name
  value: [
    (object)
    (class !name)
    (satisfies_expression (object))
    (as_expression (object))
  ]) @scope
(assignment_expression
  left: [(identifier) (member_expression)] @name
  right: [(object) (class !name)]) @scope
(pair
  key: [(property_identifier) @name (string (string_fragment) @name)]
  value: (object)) @scope
