; Functions with a body: free functions, methods, trait default methods, nested functions.
; `const fn` bodies may be evaluated at compile time, where a guard with Drop is not allowed.
((function_item
  (function_modifiers)? @modifiers
  name: (identifier) @name
  body: (block) @body) @function
 (#not-match? @modifiers "(^|\\s)const(\\s|$)"))

; Closures with a block body; expression-bodied closures are left alone.
(closure_expression
  body: (block) @body) @function.closure
