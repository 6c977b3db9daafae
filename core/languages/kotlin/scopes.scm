; Declarations that qualify the names of the functions inside them (`Outer.Inner.method`).
; Classes, interfaces and enum classes:
(class_declaration name: (identifier) @name) @scope
(object_declaration name: (identifier) @name) @scope
; A named companion object; an unnamed one adds nothing (`P.create`, as it is called).
(companion_object (identifier) @name) @scope
; An enum entry's own body.
(enum_entry (identifier) @name (class_body)) @scope
; An object expression is named after the first type it implements: `main.Runnable.run`.
(object_literal
  (delegation_specifiers . (delegation_specifier (user_type . (identifier) @name)))) @scope
