; PHP probe sites (docs/probes.md): loops and assignments that are statements of a block
; ({ }), and parameters. Loops in `case` clauses, braceless if/else branches and expressions are
; left alone, and so are loops in the alternative syntax (`for (...): ... endfor;`), whose body
; is no block. A braceless body (`foreach ($xs as $x) echo $x;`) is wrapped in { } by the engine.
; PHP has no labelled loops: `break 2` / `continue 2` count loops, which the probes do not add.
;
; Variables are captured by their name without `$` (the event's name): the snippets in
; language.toml write `${{value}}`.

; -- loops ----------------------------------------------------------------------------------

(compound_statement
  (for_statement
    initialize: [(assignment_expression left: (variable_name (name) @var))
                 (sequence_expression (assignment_expression left: (variable_name (name) @var)))
                 (sequence_expression
                   (sequence_expression
                     (assignment_expression left: (variable_name (name) @var))))]
    body: (_) @body) @loop.for)
(compound_statement
  (for_statement
    body: (_) @body) @loop.for)

; The loop variables follow the iterated expression (the first child): $v, &$v, $k => $v,
; [$a, $b], $k => [$a, $b].
(compound_statement
  (foreach_statement
    .
    (_)
    .
    [(variable_name (name) @var)
     (by_ref (variable_name (name) @var))
     (pair [(variable_name (name) @var)
            (by_ref (variable_name (name) @var))
            (list_literal (variable_name (name) @var))])
     (list_literal (variable_name (name) @var))]
    body: (_) @body) @loop.foreach)
(compound_statement
  (foreach_statement body: (_) @body) @loop.foreach)

(compound_statement (while_statement body: (_) @body) @loop.while)
(compound_statement (do_statement body: (_) @body) @loop.do)

; The alternative syntax: the body is a `:` block or the first of several statements.
(for_statement "endfor") @skip
(foreach_statement "endforeach") @skip
(while_statement "endwhile") @skip

; -- assignments ----------------------------------------------------------------------------

; $x = ...; $x = &$y; [$a, $b] = ...; list($a, $b) = ...; $x += ...; $x++ (properties and
; array elements are left alone: reading them again could run a magic __get or offsetGet).
(compound_statement
  (expression_statement
    [(assignment_expression
       left: [(variable_name (name) @var)
              (list_literal [(variable_name (name) @var)
                             (pair (variable_name (name) @var))])])
     (reference_assignment_expression left: (variable_name (name) @var))
     (augmented_assignment_expression left: (variable_name (name) @var))
     (update_expression argument: (variable_name (name) @var))]) @assign)

; static $x = 1; (function statics with an initialiser)
(compound_statement
  (function_static_declaration
    (static_variable_declaration name: (variable_name (name) @var) value: (_))) @assign)

; -- parameters -----------------------------------------------------------------------------

; $a, &$b, ...$rest and promoted constructor properties (public int $x). Arrow functions are
; expressions, not functions: their parameters are in no function's header.
(simple_parameter name: (variable_name (name) @param))
(variadic_parameter name: (variable_name (name) @param))
(property_promotion_parameter name: (variable_name (name) @param))
