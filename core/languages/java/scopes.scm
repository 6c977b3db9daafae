; Types that qualify the names of the functions inside them (`Outer.Inner.method`).
(class_declaration name: (identifier) @name) @scope
(interface_declaration name: (identifier) @name) @scope
(enum_declaration name: (identifier) @name) @scope
(record_declaration name: (identifier) @name) @scope
(annotation_type_declaration name: (identifier) @name) @scope
; An enum constant's own body: `Op.PLUS.apply`.
(enum_constant name: (identifier) @name (class_body)) @scope
; An anonymous class is named after the type it implements: `Main.run.Runnable.run`.
(object_creation_expression type: (type_identifier) @name (class_body)) @scope
(object_creation_expression type: (generic_type (type_identifier) @name) (class_body)) @scope
(object_creation_expression
  type: (scoped_type_identifier (type_identifier) @name .) (class_body)) @scope
(object_creation_expression
  type: (generic_type (scoped_type_identifier (type_identifier) @name .)) (class_body)) @scope
