; JavaScript and TypeScript (and TSX) probe sites (docs/probes.md), the part the grammars share:
; loops and assignments that are statements of a block ({ }). Each language's probes.scm adds
; its parameters; language.toml's [query_parts] puts the two together. Loops in `case` clauses,
; braceless if/else branches and expressions are left alone; so are expression-bodied arrows
; (they have no statements).
;
; Loop kinds: for (C-style), for_of (incl. for await), for_in, while, do. A labelled loop's
; setup line goes before its label (@statement), so `break label` / `continue label` keep
; their target. The body may be braceless: the engine wraps it in { }.

; -- loops ----------------------------------------------------------------------------------

(statement_block (for_statement body: (_) @body) @loop.for)
(statement_block (labeled_statement body: (for_statement body: (_) @body) @loop.for) @statement)
(statement_block (for_in_statement operator: "of" body: (_) @body) @loop.for_of)
(statement_block
  (labeled_statement body: (for_in_statement operator: "of" body: (_) @body) @loop.for_of)
  @statement)
(statement_block (for_in_statement operator: "in" body: (_) @body) @loop.for_in)
(statement_block
  (labeled_statement body: (for_in_statement operator: "in" body: (_) @body) @loop.for_in)
  @statement)
(statement_block (while_statement body: (_) @body) @loop.while)
(statement_block (labeled_statement body: (while_statement body: (_) @body) @loop.while) @statement)
(statement_block (do_statement body: (_) @body) @loop.do)
(statement_block (labeled_statement body: (do_statement body: (_) @body) @loop.do) @statement)

; Loop variables: what for (let i = 0, n = ...; ...) declares with a value or assigns, and
; the names a for-of / for-in binds (x; [k, v]; {a, b: c}).
(statement_block
  (for_statement
    initializer: [(lexical_declaration (variable_declarator name: (identifier) @var value: (_)))
                  (variable_declaration (variable_declarator name: (identifier) @var value: (_)))
                  (expression_statement (assignment_expression left: (identifier) @var))]
    body: (_) @body) @loop.for)
(statement_block
  (labeled_statement
    body: (for_statement
      initializer: [(lexical_declaration
                      (variable_declarator name: (identifier) @var value: (_)))
                    (variable_declaration
                      (variable_declarator name: (identifier) @var value: (_)))
                    (expression_statement (assignment_expression left: (identifier) @var))]
      body: (_) @body) @loop.for) @statement)
(statement_block
  (for_in_statement
    left: [(identifier) @var
           (array_pattern [(identifier) @var
                           (assignment_pattern left: (identifier) @var)
                           (rest_pattern (identifier) @var)])
           (object_pattern [(shorthand_property_identifier_pattern) @var
                            (pair_pattern value: (identifier) @var)
                            (object_assignment_pattern
                              left: (shorthand_property_identifier_pattern) @var)
                            (rest_pattern (identifier) @var)])]
    operator: "of"
    body: (_) @body) @loop.for_of)
(statement_block
  (labeled_statement
    body: (for_in_statement
      left: [(identifier) @var
             (array_pattern [(identifier) @var
                             (assignment_pattern left: (identifier) @var)
                             (rest_pattern (identifier) @var)])
             (object_pattern [(shorthand_property_identifier_pattern) @var
                              (pair_pattern value: (identifier) @var)
                              (object_assignment_pattern
                                left: (shorthand_property_identifier_pattern) @var)
                              (rest_pattern (identifier) @var)])]
      operator: "of"
      body: (_) @body) @loop.for_of) @statement)
(statement_block
  (for_in_statement left: (identifier) @var operator: "in" body: (_) @body) @loop.for_in)
(statement_block
  (labeled_statement
    body: (for_in_statement left: (identifier) @var operator: "in" body: (_) @body) @loop.for_in)
  @statement)

; A body that declares one of the loop's variables again (let, const, class) would read it
; before its declaration (a ReferenceError) in the iteration line: such loops are left alone.
((for_statement
   initializer: [(lexical_declaration (variable_declarator name: (identifier) @a))
                 (variable_declaration (variable_declarator name: (identifier) @a))]
   body: (statement_block
     [(lexical_declaration (variable_declarator name: (identifier) @b))
      (class_declaration name: (_) @b)])) @skip
 (#eq? @a @b))
((labeled_statement
   body: (for_statement
     initializer: [(lexical_declaration (variable_declarator name: (identifier) @a))
                   (variable_declaration (variable_declarator name: (identifier) @a))]
     body: (statement_block
       [(lexical_declaration (variable_declarator name: (identifier) @b))
        (class_declaration name: (_) @b)]))) @skip
 (#eq? @a @b))
((for_in_statement
   left: [(identifier) @a
          (array_pattern (identifier) @a)
          (object_pattern (shorthand_property_identifier_pattern) @a)
          (object_pattern (pair_pattern value: (identifier) @a))]
   body: (statement_block
     [(lexical_declaration (variable_declarator name: (identifier) @b))
      (class_declaration name: (_) @b)])) @skip
 (#eq? @a @b))
((labeled_statement
   body: (for_in_statement
     left: [(identifier) @a
            (array_pattern (identifier) @a)
            (object_pattern (shorthand_property_identifier_pattern) @a)
            (object_pattern (pair_pattern value: (identifier) @a))]
     body: (statement_block
       [(lexical_declaration (variable_declarator name: (identifier) @b))
        (class_declaration name: (_) @b)]))) @skip
 (#eq? @a @b))

; -- assignments ----------------------------------------------------------------------------

; let/const/var with an initialiser: the names it binds (x; [a, b]; {a, b: c}). A declarator
; without an initialiser (let q;) adds nothing.
(statement_block
  [(lexical_declaration (variable_declarator name: (identifier) @var value: (_)))
   (variable_declaration (variable_declarator name: (identifier) @var value: (_)))] @assign)
(statement_block
  [(lexical_declaration
     (variable_declarator
       name: (array_pattern [(identifier) @var
                             (assignment_pattern left: (identifier) @var)
                             (rest_pattern (identifier) @var)])
       value: (_)))
   (variable_declaration
     (variable_declarator
       name: (array_pattern [(identifier) @var
                             (assignment_pattern left: (identifier) @var)
                             (rest_pattern (identifier) @var)])
       value: (_)))] @assign)
(statement_block
  [(lexical_declaration
     (variable_declarator
       name: (object_pattern [(shorthand_property_identifier_pattern) @var
                              (pair_pattern value: (identifier) @var)
                              (object_assignment_pattern
                                left: (shorthand_property_identifier_pattern) @var)
                              (rest_pattern (identifier) @var)])
       value: (_)))
   (variable_declaration
     (variable_declarator
       name: (object_pattern [(shorthand_property_identifier_pattern) @var
                              (pair_pattern value: (identifier) @var)
                              (object_assignment_pattern
                                left: (shorthand_property_identifier_pattern) @var)
                              (rest_pattern (identifier) @var)])
       value: (_)))] @assign)

; x = ...; [a, b] = ...; x += ...; x++ (members and subscripts are left alone: reading them
; again could run a getter).
(statement_block
  (expression_statement
    (assignment_expression
      left: [(identifier) @var
             (array_pattern [(identifier) @var (rest_pattern (identifier) @var)])])) @assign)
(statement_block
  (expression_statement (augmented_assignment_expression left: (identifier) @var)) @assign)
(statement_block
  (expression_statement (update_expression argument: (identifier) @var)) @assign)

