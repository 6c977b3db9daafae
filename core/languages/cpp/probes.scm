; C++ probe sites (docs/probes.md): loops and assignments that are statements of a block, and
; the parameters of definitions and lambdas. Loops and assignments after a `case` label belong
; to the case, not to a block, and are left alone, as are braceless if/else branches, `for`
; headers and expressions. A braceless body is wrapped in { } by the engine. The loop state is
; a trivial type declared without an initializer and every other line is a statement, so no
; goto or case label ever jumps over an initialization because of them.

; -- loops ----------------------------------------------------------------------------------

; for (i = 0; ...), for (int i = 0, j = 1; ...): the loop variables. Patterns with variables
; come first: a loop is taken from its first match.
(compound_statement
  (for_statement
    initializer: [(assignment_expression left: (identifier) @var)
                  (comma_expression
                    left: (assignment_expression left: (identifier) @var)
                    right: (assignment_expression left: (identifier) @var))
                  (declaration (init_declarator declarator: (identifier) @var)+)]
    body: (_) @body) @loop.for)
(compound_statement
  (labeled_statement
    (for_statement
      initializer: [(assignment_expression left: (identifier) @var)
                    (declaration (init_declarator declarator: (identifier) @var)+)]
      body: (_) @body) @loop.for) @statement)

; Range-for (with or without an init-statement): x, &x, const auto& x, [k, v], auto& [k, v].
(compound_statement
  (for_range_loop
    declarator: [(identifier) @var
                 (reference_declarator (identifier) @var)
                 (structured_binding_declarator (identifier)+ @var)
                 (reference_declarator (structured_binding_declarator (identifier)+ @var))]
    body: (_) @body) @loop.each)
(compound_statement
  (labeled_statement
    (for_range_loop
      declarator: [(identifier) @var
                   (reference_declarator (identifier) @var)
                   (structured_binding_declarator (identifier)+ @var)
                   (reference_declarator (structured_binding_declarator (identifier)+ @var))]
      body: (_) @body) @loop.each) @statement)

(compound_statement (for_statement body: (_) @body) @loop.for)
(compound_statement (for_range_loop body: (_) @body) @loop.each)
(compound_statement (while_statement body: (_) @body) @loop.while)
(compound_statement (do_statement body: (_) @body) @loop.do)

; A labelled loop: the state goes before the label.
(compound_statement (labeled_statement (for_statement body: (_) @body) @loop.for) @statement)
(compound_statement (labeled_statement (for_range_loop body: (_) @body) @loop.each) @statement)
(compound_statement (labeled_statement (while_statement body: (_) @body) @loop.while) @statement)
(compound_statement (labeled_statement (do_statement body: (_) @body) @loop.do) @statement)

; -- assignments ----------------------------------------------------------------------------

; x = ...; x += ...; a = b = ...; (members, elements and *p are left alone).
(compound_statement
  (expression_statement
    (assignment_expression
      left: (identifier) @var
      right: [(assignment_expression left: (identifier) @var) (_)])) @assign)

; Declarations with an initialiser (=, (...) or {...}): x, *p, &r, auto [a, b], auto& [a, b].
(compound_statement
  (declaration
    declarator: (init_declarator
                  declarator: [(identifier) @var
                               (pointer_declarator declarator: (identifier) @var)
                               (reference_declarator (identifier) @var)
                               (structured_binding_declarator (identifier)+ @var)
                               (reference_declarator
                                 (structured_binding_declarator (identifier)+ @var))])) @assign)

; A block with case labels directly in it (a switch body): what comes before the first case
; runs only by a goto, and no line goes where a case label could jump over it.
(switch_statement
  body: (compound_statement
          [(for_statement) (for_range_loop) (while_statement) (do_statement)
           (labeled_statement) (expression_statement) (declaration)] @skip))

; -- parameters -----------------------------------------------------------------------------

; Only a definition's or lambda's own parameter list (not the parameters of a function-pointer
; parameter or of a returned function pointer). Unnamed parameters and packs are left out.
; f(...)
(function_definition
  declarator: (function_declarator
    declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (template_function)]
    parameters: (parameter_list
        [(parameter_declaration declarator: (identifier) @param)
         (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
         (parameter_declaration
           declarator: (pointer_declarator
                         declarator: (pointer_declarator declarator: (identifier) @param)))
         (parameter_declaration declarator: (reference_declarator (identifier) @param))
         (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (identifier) @param)
         (optional_parameter_declaration
           declarator: (pointer_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (reference_declarator (identifier) @param))])))

; *f(...), &f(...)
(function_definition
  declarator: (_ (function_declarator
    declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (template_function)]
    parameters: (parameter_list
        [(parameter_declaration declarator: (identifier) @param)
         (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
         (parameter_declaration
           declarator: (pointer_declarator
                         declarator: (pointer_declarator declarator: (identifier) @param)))
         (parameter_declaration declarator: (reference_declarator (identifier) @param))
         (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (identifier) @param)
         (optional_parameter_declaration
           declarator: (pointer_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (reference_declarator (identifier) @param))]))))

; **f(...), *&f(...)
(function_definition
  declarator: (_ (_ (function_declarator
    declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (template_function)]
    parameters: (parameter_list
        [(parameter_declaration declarator: (identifier) @param)
         (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
         (parameter_declaration
           declarator: (pointer_declarator
                         declarator: (pointer_declarator declarator: (identifier) @param)))
         (parameter_declaration declarator: (reference_declarator (identifier) @param))
         (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (identifier) @param)
         (optional_parameter_declaration
           declarator: (pointer_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (reference_declarator (identifier) @param))])))))

; (*f(...))(...): returns a function pointer
(function_definition
  declarator: (function_declarator
    declarator: (parenthesized_declarator (pointer_declarator declarator: (function_declarator
      declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (template_function)]
      parameters: (parameter_list
        [(parameter_declaration declarator: (identifier) @param)
         (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
         (parameter_declaration
           declarator: (pointer_declarator
                         declarator: (pointer_declarator declarator: (identifier) @param)))
         (parameter_declaration declarator: (reference_declarator (identifier) @param))
         (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (identifier) @param)
         (optional_parameter_declaration
           declarator: (pointer_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (reference_declarator (identifier) @param))]))))))

; lambdas
(lambda_expression
  declarator: (abstract_function_declarator
    parameters: (parameter_list
        [(parameter_declaration declarator: (identifier) @param)
         (parameter_declaration declarator: (pointer_declarator declarator: (identifier) @param))
         (parameter_declaration
           declarator: (pointer_declarator
                         declarator: (pointer_declarator declarator: (identifier) @param)))
         (parameter_declaration declarator: (reference_declarator (identifier) @param))
         (parameter_declaration declarator: (array_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (identifier) @param)
         (optional_parameter_declaration
           declarator: (pointer_declarator declarator: (identifier) @param))
         (optional_parameter_declaration declarator: (reference_declarator (identifier) @param))])))
