; Scopes that qualify the names of the functions inside them.
(class_declaration name: (identifier) @name) @scope
(class name: (identifier) @name) @scope
; Object literals bound to a name: const api = { get() {} } gives api.get.
(variable_declarator
  name: (identifier) @name
  value: [(object) (class !name)]) @scope
(assignment_expression
  left: [(identifier) (member_expression)] @name
  right: [(object) (class !name)]) @scope
(pair
  key: [(property_identifier) @name (string (string_fragment) @name)]
  value: (object)) @scope
