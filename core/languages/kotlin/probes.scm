; Kotlin probe sites (docs/probes.md). Only statements of a block (a function's, an init
; block's, a loop's, an if/when branch's in braces) or of a lambda are chosen: a loop that is a
; braceless `when` branch or if/else body, or a declaration inside an expression, has no place
; for a line next to it. Lambdas are no functions here, so a loop or `val` in one belongs to the
; function around it. A line after the last statement of a lambda cannot change its value: a
; declaration or an assignment there already makes it Unit, and the runtime's call is Unit too.
; `repeat(n) { }` and `forEach { }` are calls: the statements in their lambdas are seen, the
; calls are no loops.

; Loops: for (its variable, or the named parts of a destructuring `for ((k, v) in m)`), while
; and do-while; the label (`outer@ for`) is part of the loop statement, so the setup line goes
; before it. A braceless body is wrapped in braces by the core; a loop without a body
; (`for (x in xs);`) has none. The body is the last child, after the header's `)`.
[
  (block (for_statement (variable_declaration (identifier) @var) (_) (_) @body .) @loop.for)
  (lambda_literal (for_statement (variable_declaration (identifier) @var) (_) (_) @body .) @loop.for)
]
; Destructuring of two or three names: one match reports them all (a loop is one match, the
; first found: these come before the pattern without names, which takes the rest, and any
; destructuring with a `_`).
([
  (block (for_statement (multi_variable_declaration . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) .) (_) (_) @body .) @loop.for)
  (lambda_literal (for_statement (multi_variable_declaration . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) .) (_) (_) @body .) @loop.for)
  (block (for_statement (multi_variable_declaration . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) .) (_) (_) @body .) @loop.for)
  (lambda_literal (for_statement (multi_variable_declaration . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) . (variable_declaration (identifier) @var) .) (_) (_) @body .) @loop.for)
 ]
 (#not-eq? @var "_"))
[
  (block (for_statement (multi_variable_declaration) (_) (_) @body .) @loop.for)
  (lambda_literal (for_statement (multi_variable_declaration) (_) (_) @body .) @loop.for)
]
[
  (block (while_statement condition: (_) (_) @body .) @loop.while)
  (lambda_literal (while_statement condition: (_) (_) @body .) @loop.while)
]
; do-while: the body is the child right before the condition (a label comes first).
([
  (block (do_while_statement (_) @body . condition: (_)) @loop.do)
  (lambda_literal (do_while_statement (_) @body . condition: (_)) @loop.do)
 ]
 (#not-match? @body "@$"))

; Declarations with an initialiser (`val x = ...`, `var (a, b) = pair`: not `_`, not delegated
; `val x by lazy { }` whose reading would run the delegate) and assignments to a plain name,
; compound ones included (`x += 2`). Properties (`a.b = ...`), indexed elements and increments
; (`i++`) are left alone.
([
  (block (property_declaration (variable_declaration (identifier) @var) "=") @assign)
  (lambda_literal (property_declaration (variable_declaration (identifier) @var) "=") @assign)
  (block (property_declaration (multi_variable_declaration (variable_declaration (identifier) @var)) "=") @assign)
  (lambda_literal (property_declaration (multi_variable_declaration (variable_declaration (identifier) @var)) "=") @assign)
 ]
 (#not-eq? @var "_"))
[
  (block (assignment left: (identifier) @var) @assign)
  (lambda_literal (assignment left: (identifier) @var) @assign)
]

; A line after a value of type Nothing (`val x = TODO()`, `x = throw ...`, `x = return`) would
; be unreachable code: a compiler warning (an error under -Werror).
(property_declaration [(throw_expression) (return_expression)]) @skip
(assignment right: [(throw_expression) (return_expression)]) @skip
((property_declaration (call_expression . (identifier) @_callee)) @skip
 (#any-of? @_callee "TODO" "error"))

; tree-sitter-kotlin ends a `for`/`while` header at a line break: a braceless body on the next
; line reads as the statement after a loop without a body. That loop has no body to probe, and
; its real body takes no line before it (`for (a in xs) val l = ...` does not compile).
[
  (block (for_statement [(variable_declaration) (multi_variable_declaration)] . (_) .) . (_) @skip)
  (lambda_literal (for_statement [(variable_declaration) (multi_variable_declaration)] . (_) .) . (_) @skip)
  (block (while_statement condition: (_) .) . (_) @skip)
  (lambda_literal (while_statement condition: (_) .) . (_) @skip)
]

; Parameters of functions, secondary constructors, anonymous functions and setters. Not those
; of inline functions: an inline function's function-typed parameter can only be called or
; passed on to another inline function, never passed as a value.
((function_declaration (function_value_parameters (parameter (identifier) @param))) @_fn
 (#not-match? @_fn "^(@[A-Za-z0-9_.:]+(\\([^)]*\\))?\\s+|[a-z]+\\s+)*inline\\s"))
(secondary_constructor (function_value_parameters (parameter (identifier) @param)))
(anonymous_function (function_value_parameters (parameter (identifier) @param)))
(setter (identifier) @param)
