; Scopes that qualify the names of the functions inside them.
(class_definition name: (identifier) @name) @scope
