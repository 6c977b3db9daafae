; Functions with a body: free functions, methods, trait default methods, nested functions.
; (`const fn` is told apart in language.toml's skip_when.)
(function_item
  name: (identifier) @name
  body: (block) @body) @function

; Closures with a block body; expression-bodied closures are left alone.
(closure_expression
  body: (block) @body) @function.closure
