; Functions with block bodies; expression-bodied arrows are left alone. Several patterns can
; match one function (its bound name, then the fallback); the first match, the bound name, wins.

; Declarations: function f() {}, function* g() {}, async variants.
(function_declaration
  "async"? @async
  name: (identifier) @name
  body: (statement_block) @body) @function
(generator_function_declaration
  "async"? @async
  "*" @generator
  name: (identifier) @name
  body: (statement_block) @body) @function

; Class and object-literal methods, getters, setters, constructors, #private methods.
(method_definition
  "async"? @async
  "*"? @generator
  name: (_) @name
  body: (statement_block) @body) @function.method

; An anonymous function or a block-bodied arrow takes the name it is bound to:
; const f = ..., f = ..., obj.prop = ..., { key: ... }, class field = ...
; (a named function expression keeps its own name, as in stack traces).
(variable_declarator
  name: (identifier) @name
  value: [
    (function_expression !name "async"? @async body: (statement_block) @body)
    (generator_function !name "async"? @async "*" @generator body: (statement_block) @body)
    (arrow_function "async"? @async body: (statement_block) @body)
  ] @function)
(assignment_expression
  left: (identifier) @name
  right: [
    (function_expression !name "async"? @async body: (statement_block) @body)
    (generator_function !name "async"? @async "*" @generator body: (statement_block) @body)
    (arrow_function "async"? @async body: (statement_block) @body)
  ] @function)
(assignment_expression
  left: (member_expression
    object: (_) @qualifier
    property: (_) @name)
  right: [
    (function_expression !name "async"? @async body: (statement_block) @body)
    (generator_function !name "async"? @async "*" @generator body: (statement_block) @body)
    (arrow_function "async"? @async body: (statement_block) @body)
  ] @function)
(pair
  key: [(property_identifier) @name (string (string_fragment) @name) (number) @name]
  value: [
    (function_expression !name "async"? @async body: (statement_block) @body)
    (generator_function !name "async"? @async "*" @generator body: (statement_block) @body)
    (arrow_function "async"? @async body: (statement_block) @body)
  ] @function)
(field_definition
  property: (_) @name
  value: [
    (function_expression !name "async"? @async body: (statement_block) @body)
    (generator_function !name "async"? @async "*" @generator body: (statement_block) @body)
    (arrow_function "async"? @async body: (statement_block) @body)
  ] @function)

; Anything else: its own name if it has one (const f = function inner() {}), else <anonymous>.
(function_expression
  "async"? @async
  name: (identifier)? @name
  body: (statement_block) @body) @function
(generator_function
  "async"? @async
  "*" @generator
  name: (identifier)? @name
  body: (statement_block) @body) @function
(arrow_function
  "async"? @async
  body: (statement_block) @body) @function.arrow
