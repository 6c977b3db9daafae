; Classes, traits, enums and interfaces qualify their methods; namespaces do not.
(class_declaration name: (name) @name) @scope
(trait_declaration name: (name) @name) @scope
(enum_declaration name: (name) @name) @scope
(interface_declaration name: (name) @name) @scope
