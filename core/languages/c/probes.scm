; C probe sites (docs/probes.md): loops and assignments that are statements of a block, and
; the parameters of a definition. Loops and assignments after a `case` label belong to the
; case, not to a block, and are left alone, as are braceless if/else branches, `for` headers
; and code inside macro definitions (unparsed). A braceless body is wrapped in { } by the
; engine. Every inserted line is a declaration (see the runtime header), so no declaration
; ever follows a statement because of them: strict C89 (-pedantic -Werror) still compiles.

; -- loops ----------------------------------------------------------------------------------

; for (i = 0; ...), for (i = 0, j = n; ...), for (int i = 0, j = 1; ...): the loop variables.
; Patterns with variables come first: a loop is taken from its first match.
(compound_statement
  (for_statement
    initializer: [(assignment_expression left: (identifier) @var)
                  (comma_expression
                    left: (assignment_expression left: (identifier) @var)
                    right: [(assignment_expression left: (identifier) @var)
                            (comma_expression
                              left: (assignment_expression left: (identifier) @var))])
                  (declaration
                    declarator: (init_declarator declarator: (identifier) @var)
                    declarator: (init_declarator declarator: (identifier) @var)?)]
    body: (_) @body) @loop.for)
(compound_statement
  (labeled_statement
    (for_statement
      initializer: [(assignment_expression left: (identifier) @var)
                    (declaration declarator: (init_declarator declarator: (identifier) @var))]
      body: (_) @body) @loop.for) @statement)

(compound_statement (for_statement body: (_) @body) @loop.for)
(compound_statement (while_statement body: (_) @body) @loop.while)
(compound_statement (do_statement body: (_) @body) @loop.do)

; A labelled loop: the state goes before the label (`goto outer` still lands on the loop).
(compound_statement (labeled_statement (for_statement body: (_) @body) @loop.for) @statement)
(compound_statement (labeled_statement (while_statement body: (_) @body) @loop.while) @statement)
(compound_statement (labeled_statement (do_statement body: (_) @body) @loop.do) @statement)

; -- assignments ----------------------------------------------------------------------------

; x = ...; x += ...; a = b = ...; (members, elements and *p are left alone).
(compound_statement
  (expression_statement
    (assignment_expression
      left: (identifier) @var
      right: [(assignment_expression left: (identifier) @var) (_)])) @assign)

; Declarations with an initialiser: int x = 1, *p = q; (arrays and function pointers are left
; alone; declarations without an initialiser have nothing to report).
(compound_statement
  (declaration
    declarator: (init_declarator
                  declarator: [(identifier) @var
                               (pointer_declarator declarator: (identifier) @var)])) @assign)

; Code before the first `case` of a switch runs only by a goto: left alone.
(switch_statement
  body: (compound_statement
          [(for_statement) (while_statement) (do_statement) (labeled_statement)
           (expression_statement) (declaration)] @skip))

; -- parameters -----------------------------------------------------------------------------

; Only the definition's own parameter list (not the parameters of a function-pointer
; parameter or of a returned function pointer); unnamed and `...` parameters have no name.
; K&R definitions list bare identifiers.

; f(...)
(function_definition
  declarator: (function_declarator declarator: (identifier) parameters: (parameter_list
          [(parameter_declaration declarator: (identifier) @param)
           (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (pointer_declarator
                           declarator: (pointer_declarator declarator: (identifier) @param)))
           (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (function_declarator
                           declarator: (parenthesized_declarator
                                         (pointer_declarator declarator: (identifier) @param))))
           (identifier) @param])))

; *f(...)
(function_definition
  declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) parameters: (parameter_list
          [(parameter_declaration declarator: (identifier) @param)
           (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (pointer_declarator
                           declarator: (pointer_declarator declarator: (identifier) @param)))
           (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (function_declarator
                           declarator: (parenthesized_declarator
                                         (pointer_declarator declarator: (identifier) @param))))
           (identifier) @param]))))

; **f(...)
(function_definition
  declarator: (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) parameters: (parameter_list
          [(parameter_declaration declarator: (identifier) @param)
           (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (pointer_declarator
                           declarator: (pointer_declarator declarator: (identifier) @param)))
           (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (function_declarator
                           declarator: (parenthesized_declarator
                                         (pointer_declarator declarator: (identifier) @param))))
           (identifier) @param])))))

; (*f(...))(...)
(function_definition
  declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (function_declarator declarator: (identifier) parameters: (parameter_list
          [(parameter_declaration declarator: (identifier) @param)
           (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (pointer_declarator
                           declarator: (pointer_declarator declarator: (identifier) @param)))
           (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (function_declarator
                           declarator: (parenthesized_declarator
                                         (pointer_declarator declarator: (identifier) @param))))
           (identifier) @param]))))))

; *(*f(...))(...)
(function_definition
  declarator: (pointer_declarator declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (function_declarator declarator: (identifier) parameters: (parameter_list
          [(parameter_declaration declarator: (identifier) @param)
           (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (pointer_declarator
                           declarator: (pointer_declarator declarator: (identifier) @param)))
           (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
           (parameter_declaration
             declarator: (function_declarator
                           declarator: (parenthesized_declarator
                                         (pointer_declarator declarator: (identifier) @param))))
           (identifier) @param])))))))
