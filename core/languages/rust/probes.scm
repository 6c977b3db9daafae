; Rust probe sites (docs/probes.md). Loops are expressions: only those that are statements of
; a block are chosen (`let x = loop { ... };` is left alone). Variables are identifiers the
; pattern binds at the top or one level down: x, mut x, &x, (a, b), Some(x), Some((k, v));
; a name starting with an upper-case letter is a constant or a unit variant, never bound.

(block
  (expression_statement
    (for_expression body: (block) @body) @loop.for))
(block
  (expression_statement
    (for_expression
      pattern: [(identifier) @var
                (mut_pattern (identifier) @var)
                (reference_pattern (identifier) @var)
                (tuple_pattern
                  [(identifier) @var
                   (mut_pattern (identifier) @var)
                   (reference_pattern (identifier) @var)])]
      body: (block) @body) @loop.for)
  (#match? @var "^[a-z_]"))

(block
  (expression_statement
    (while_expression condition: (_expression) body: (block) @body) @loop.while))
(block
  (expression_statement
    (while_expression
      condition: [(let_condition) (let_chain)] body: (block) @body) @loop.while_let))
(block
  (expression_statement
    (while_expression
      condition: (let_condition
        pattern: [(identifier) @var
                  (tuple_pattern [(identifier) @var (mut_pattern (identifier) @var)])
                  (tuple_struct_pattern
                    type: (_)
                    [(identifier) @var
                     (mut_pattern (identifier) @var)
                     (tuple_pattern (identifier) @var)])])
      body: (block) @body) @loop.while_let)
  (#match? @var "^[a-z_]"))

(block
  (expression_statement (loop_expression body: (block) @body) @loop.loop))

; Assignments and `let` with a value: let x = ..., let (a, b) = ..., let Some(x) = ... else,
; x = ..., x += .... The variable line only borrows the variable, after the statement.
(block
  (let_declaration
    pattern: [(identifier) @var
              (tuple_pattern [(identifier) @var (mut_pattern (identifier) @var)])
              (tuple_struct_pattern
                type: (_) [(identifier) @var (mut_pattern (identifier) @var)])]
    value: (_)) @assign
  (#match? @var "^[a-z_]"))
(block
  (expression_statement
    [(assignment_expression left: (identifier) @var)
     (compound_assignment_expr left: (identifier) @var)]) @assign)

; Left alone, where a borrow of the variable would not compile or change the program:
; - a value whose type the rest of the function decides (Vec::new(), None, .parse(), .into(),
;   Default::default() ...): the rendering is chosen where the line is, and could demand a
;   trait of a type that is not known yet;
(block
  (let_declaration !type value: (_) @_value) @skip
  (#match? @_value "::(new|default|with_capacity|with_hasher)\\(\\)|::with_capacity\\(|(^|[^A-Za-z0-9_])None([^A-Za-z0-9_]|$)|\\.(parse|collect|into|try_into|sum|product|unwrap_or_default|default)\\(\\)|vec!\\[\\]|Default::default"))
(block
  (let_declaration type: (_) @_type value: (_) @_value) @skip
  (#match? @_type "(^|[^A-Za-z0-9_])_([^A-Za-z0-9_]|$)")
  (#match? @_value "::(new|default|with_capacity|with_hasher)\\(\\)|::with_capacity\\(|(^|[^A-Za-z0-9_])None([^A-Za-z0-9_]|$)|\\.(parse|collect|into|try_into|sum|product|unwrap_or_default|default)\\(\\)|vec!\\[\\]|Default::default"))
(block
  (expression_statement
    (assignment_expression right: (_) @_value)) @skip
  (#match? @_value "::(new|default|with_capacity|with_hasher)\\(\\)|::with_capacity\\(|(^|[^A-Za-z0-9_])None([^A-Za-z0-9_]|$)|\\.(parse|collect|into|try_into|sum|product|unwrap_or_default|default)\\(\\)|vec!\\[\\]|Default::default"))
; - a value that never arrives (the line after it would be unreachable code);
(block
  [(let_declaration value: (_) @_value)
   (expression_statement (assignment_expression right: (_) @_value))] @skip
  (#match? @_value "^(return|break|continue)([^A-Za-z0-9_]|$)|(^|[^A-Za-z0-9_])(panic|unreachable|todo|unimplemented)!|process::exit\\("))
; - a statement under an attribute (#[cfg(...)] may remove the variable);
(block
  (attribute_item) . [(let_declaration) (expression_statement)] @skip)
(block
  (attribute_item)
  . (expression_statement [(for_expression) (while_expression) (loop_expression)] @skip))
; - constant evaluation (const and static initialisers, const blocks), where no runtime
;   function can be called (a loop is skipped by its own node, a statement by its statement);
([(const_item value: (block (expression_statement (_) @skip)))
  (static_item value: (block (expression_statement (_) @skip)))
  (const_block body: (block (expression_statement (_) @skip)))])
([(const_item value: (block [(let_declaration) (expression_statement)] @skip))
  (static_item value: (block [(let_declaration) (expression_statement)] @skip))
  (const_block body: (block [(let_declaration) (expression_statement)] @skip))])
([(const_item value: (block (expression_statement (_ body: (block [(let_declaration) (expression_statement)] @skip)))))
  (static_item value: (block (expression_statement (_ body: (block [(let_declaration) (expression_statement)] @skip)))))
  (const_block body: (block (expression_statement (_ body: (block [(let_declaration) (expression_statement)] @skip)))))])
; - the body of a closure bound to a name whose parameters have no types: they are only
;   known from its later calls.
(let_declaration
  value: (closure_expression
    parameters: (closure_parameters (identifier))
    body: (block [(let_declaration) (expression_statement)] @skip)))

; Parameters: of functions (not self) and of closures that state their types or are passed
; as an argument (their types come from the callee).
(parameters (parameter pattern: [(identifier) @param (mut_pattern (identifier) @param)]))
(parameters (parameter pattern: (tuple_pattern (identifier) @param)))
(closure_parameters (parameter pattern: [(identifier) @param (mut_pattern (identifier) @param)]))
(arguments (closure_expression parameters: (closure_parameters (identifier) @param)))
