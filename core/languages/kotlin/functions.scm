; Functions with a block body, at any depth. `tailrec` functions are left alone: inside
; try/finally their self-call is no tail call.
; Extension functions are qualified by their receiver type: `String.shout`.
(function_declaration
  (modifiers)? @_mods
  [(user_type . (identifier) @qualifier)
   (nullable_type (user_type . (identifier) @qualifier))]
  .
  name: (identifier) @name
  (function_body (block) @body)
  (#not-match? @_mods "\\btailrec\\b")) @function

(function_declaration
  (modifiers)? @_mods
  name: (identifier) @name
  (function_body (block) @body)
  (#not-match? @_mods "\\btailrec\\b")) @function

; Anonymous functions; one stored in a property takes its name.
(property_declaration
  (variable_declaration (identifier) @name)
  (anonymous_function (function_body (block) @body)) @function.anonymous)

(anonymous_function (function_body (block) @body)) @function.anonymous

; Secondary constructors (`P.constructor`) and init blocks (`P.init`).
(secondary_constructor "constructor" @name (block) @body) @function.constructor
(anonymous_initializer "init" @name (block) @body) @function.init

; Property accessors with a block body: `P.size.get`, `P.size.set`.
(property_declaration
  (variable_declaration (identifier) @qualifier)
  (getter "get" @name (function_body (block) @body)) @function.accessor)
(property_declaration
  (variable_declaration (identifier) @qualifier)
  (setter "set" @name (function_body (block) @body)) @function.accessor)
