; Types and extensions qualify their methods: `struct Cart`, `extension Shop.Cart` (dotted).
(class_declaration name: (type_identifier) @name) @scope
(class_declaration name: (user_type (type_identifier) @name)) @scope
(protocol_declaration name: (type_identifier) @name) @scope
