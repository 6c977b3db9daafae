; Functions, methods and closures with a block body. Abstract and interface methods end in `;`
; and have no body; arrow functions (`fn () => ...`) have an expression body: neither matches.
(function_definition
  name: (name) @name
  body: (compound_statement) @body) @function

(method_declaration
  name: (name) @name
  body: (compound_statement) @body) @function.method

(anonymous_function
  body: (compound_statement) @body) @function.closure
