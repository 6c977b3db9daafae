; Methods are qualified by the type an impl block is for (generics, references and paths
; dropped: `impl<T> fmt::Display for &Wrapper<T>` gives `Wrapper`), by their trait for default
; methods, and by inline modules (`tests.it_works`).
(impl_item type: [
  (type_identifier) @name
  (primitive_type) @name
  (scoped_type_identifier name: (type_identifier) @name)
  (generic_type type: (type_identifier) @name)
  (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  (reference_type type: [
    (type_identifier) @name
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))])
]) @scope
(trait_item name: (type_identifier) @name) @scope
(mod_item name: (identifier) @name body: (declaration_list)) @scope
