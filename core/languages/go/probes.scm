; Go probe sites (docs/probes.md). Only statements of a statement list (a block's, a case's)
; are chosen: `:=` in if/for/switch headers is never a statement of its own. The blank
; identifier `_` is never a variable: it cannot be read.

; Loops: `for init; cond; post {}`, `for cond {}` (while), `for {}` (loop) and `for ... range`
; (over slices, maps, strings, channels, integers and iterator functions). A labelled loop's
; setup line goes before its label. Each loop matches one pattern without variables; the
; patterns with @var add the names its header binds.
(statement_list
  [(for_statement (for_clause) body: (block) @body) @loop.for
   (labeled_statement
     (for_statement (for_clause) body: (block) @body) @loop.for) @statement])
(statement_list
  [(for_statement
     (for_clause
       initializer: (short_var_declaration left: (expression_list (identifier) @var)))
     body: (block) @body) @loop.for
   (labeled_statement
     (for_statement
       (for_clause
         initializer: (short_var_declaration left: (expression_list (identifier) @var)))
       body: (block) @body) @loop.for) @statement]
  (#not-eq? @var "_"))

(statement_list
  [(for_statement . (_expression) . body: (block) @body) @loop.while
   (labeled_statement
     (for_statement . (_expression) . body: (block) @body) @loop.while) @statement])

(statement_list
  [(for_statement . body: (block) @body) @loop.loop
   (labeled_statement (for_statement . body: (block) @body) @loop.loop) @statement])

(statement_list
  [(for_statement (range_clause) body: (block) @body) @loop.range
   (labeled_statement
     (for_statement (range_clause) body: (block) @body) @loop.range) @statement])
(statement_list
  [(for_statement
     (range_clause left: (expression_list (identifier) @var))
     body: (block) @body) @loop.range
   (labeled_statement
     (for_statement
       (range_clause left: (expression_list (identifier) @var))
       body: (block) @body) @loop.range) @statement]
  (#not-eq? @var "_"))

; The state a loop's setup line declares must not come into scope between a goto and its
; label: a loop followed in its list by a label that is not a loop's (so a goto's target) is
; left alone.
(statement_list
  [(for_statement) (labeled_statement (for_statement))] @skip
  (labeled_statement
    (label_name) . [(expression_statement) (send_statement) (inc_statement) (dec_statement)
                    (assignment_statement) (short_var_declaration) (return_statement)
                    (go_statement) (defer_statement) (if_statement)
                    (expression_switch_statement) (type_switch_statement) (select_statement)
                    (labeled_statement) (break_statement) (continue_statement)
                    (goto_statement) (block) (empty_statement) (var_declaration)
                    (const_declaration) (type_declaration) (fallthrough_statement)]))
(statement_list
  [(for_statement) (labeled_statement (for_statement))] @skip
  (labeled_statement (label_name) .))

; Assignments and declarations with a value: x := f(), a, b = b, a, x += 2, x++,
; var x = 1, var (a = 1; b = 2). Fields, indexes and dereferences are left alone.
(statement_list
  (short_var_declaration left: (expression_list (identifier) @var)) @assign
  (#not-eq? @var "_"))
(statement_list
  (assignment_statement left: (expression_list (identifier) @var)) @assign
  (#not-eq? @var "_"))
(statement_list
  [(inc_statement (identifier) @var) (dec_statement (identifier) @var)] @assign)
(statement_list
  (var_declaration (var_spec name: (identifier) @var value: (_))) @assign
  (#not-eq? @var "_"))
(statement_list
  (var_declaration (var_spec_list (var_spec name: (identifier) @var value: (_)))) @assign
  (#not-eq? @var "_"))

; Parameters of functions, methods and function literals (not receivers, not results).
([(function_declaration parameters: (parameter_list
    [(parameter_declaration name: (identifier) @param)
     (variadic_parameter_declaration name: (identifier) @param)]))
  (method_declaration parameters: (parameter_list
    [(parameter_declaration name: (identifier) @param)
     (variadic_parameter_declaration name: (identifier) @param)]))
  (func_literal parameters: (parameter_list
    [(parameter_declaration name: (identifier) @param)
     (variadic_parameter_declaration name: (identifier) @param)]))]
  (#not-eq? @param "_"))

; Calls that end the process without running deferred calls: the runtime writes what it has
; buffered on a line before them (exit_before). Only the standard packages' names are known
; (an import under another name goes unseen); log.Fatal* ends in os.Exit(1).
(statement_list
  (expression_statement
    (call_expression
      function: (selector_expression
        operand: (identifier) @_pkg
        field: (field_identifier) @_fn))) @exit
  (#match? @_pkg "^(os|syscall)$")
  (#eq? @_fn "Exit"))
(statement_list
  (expression_statement
    (call_expression
      function: (selector_expression
        operand: (identifier) @_pkg
        field: (field_identifier) @_fn))) @exit
  (#eq? @_pkg "log")
  (#match? @_fn "^Fatal(f|ln)?$"))
