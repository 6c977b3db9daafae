; Swift probe sites (docs/probes.md): loops and assignments that are statements of a block
; (`statements`), and parameters. Few and plain patterns: the Swift grammar makes every pattern
; step costly to compile.
;
; The grammar has no node for a loop's braces: @body is the `{` token, and the iteration line
; goes right after it (inline, ended by `;`). A labelled loop's setup line goes before its
; label (@statement), so `break label` / `continue label` keep their target.
;
; Closures are left alone (they are not functions here): a closure may be a result builder's
; (SwiftUI), where an added statement is an error, or a single expression whose value an added
; statement would end. Their statements are skipped down to a few levels of nesting (blocks of
; if/for/while/do, and switch cases, catch blocks and else-ifs one level deeper).

; -- loops ----------------------------------------------------------------------------------

; for (its item's names: x, (a, b), let x?), while and repeat-while loops...
(statements
  [(for_statement
     item: [(pattern (simple_identifier) @var) (pattern (pattern (simple_identifier) @var)) (_)]
     "{" @body) @loop.for
   (while_statement "{" @body) @loop.while
   (repeat_while_statement "{" @body) @loop.repeat])

; ... with a label: the setup line goes before the label ...
(statements
  (statement_label) @statement
  .
  [(for_statement
     item: [(pattern (simple_identifier) @var) (pattern (pattern (simple_identifier) @var)) (_)]
     "{" @body) @loop.for
   (while_statement "{" @body) @loop.while
   (repeat_while_statement "{" @body) @loop.repeat])

; ... and not once more as a loop without its label.
(statements (statement_label) . [(for_statement) (while_statement) (repeat_while_statement)] @skip)

; -- assignments ----------------------------------------------------------------------------

; let/var with a value (x; (a, b)), several bindings included; x = ..., x += ...
(statements
  [(property_declaration
     name: [(pattern (simple_identifier) @var) (pattern (pattern (simple_identifier) @var))]
     value: (_))
   (assignment target: (directly_assignable_expression . (simple_identifier) @var .))] @assign)

; In an initialiser, `x = ...` may set a stored property of a `self` not yet initialised: reading
; it back could be an error. (Elsewhere an unqualified name may be a property too: reading a
; stored one is harmless; a computed one with a side effect on reading is not told apart.)
(init_declaration body: (function_body (statements (assignment) @skip)))
(init_declaration body: (function_body (statements (_ (statements (assignment) @skip)))))

; `async let` is read with `await`; reading a `lazy var` would run its initialiser early.
((property_declaration) @skip (#match? @skip "^(async|lazy)\\b"))

; -- closures -------------------------------------------------------------------------------

(lambda_literal (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip))
(lambda_literal (statements (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip))))
(lambda_literal (statements (_ (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip)))))
(lambda_literal (statements (_ (statements (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip))))))
(lambda_literal (statements (_ (statements (_ (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip)))))))
(lambda_literal (statements (_ (_ (statements (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip)))))))
(lambda_literal (statements (_ (_ (statements (_ (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip))))))))
(lambda_literal (statements (_ (statements (_ (statements (_ (statements [(for_statement) (while_statement) (repeat_while_statement) (statement_label) (property_declaration) (assignment)] @skip))))))))

; -- parameters -----------------------------------------------------------------------------

; Parameters whose value can be passed as `Any?`: not closures (a non-escaping one cannot be
; converted), nor types named like closures' typealiases (Handler, Callback, Completion ...).
(parameter
  name: (simple_identifier) @param
  [(optional_type) (array_type) (dictionary_type) (tuple_type) (opaque_type) (existential_type)])
((parameter
   name: (simple_identifier) @param
   (user_type) @type)
 (#not-match? @type "(Handler|Callback|Block|Closure|Action|Completion|Predicate|Transform|Work|Body|Builder|Function|Func|Fn)$"))
