; Python probe sites (docs/probes.md). Comprehensions and lambdas are expressions: left alone.

; Loops in a block: for (incl. async for) and while; the loop variables are the identifiers
; the `for` target binds (x; i, x; (a, b)).
(block
  (for_statement
    left: [(identifier) @var
           (pattern_list (identifier) @var)
           (tuple_pattern (identifier) @var)]
    body: (block) @body) @loop.for)
(block
  (for_statement
    left: [(pattern_list) (tuple_pattern) (list_pattern) (attribute) (subscript)]
    body: (block) @body) @loop.for)
(block
  (while_statement body: (block) @body) @loop.while)

; Assignments that are statements of a block: x = ..., a, b = ..., x: int = ..., x += ...
; (attributes and subscripts are left alone: reading them again could run code).
(block
  (expression_statement
    (assignment left: [(identifier) @var
                       (pattern_list (identifier) @var)
                       (tuple_pattern (identifier) @var)]
                right: (_))) @assign)
(block
  (expression_statement
    (augmented_assignment left: (identifier) @var)) @assign)

; Parameters: plain, defaulted, typed, *args and **kwargs.
(parameters (identifier) @param)
(parameters (default_parameter name: (identifier) @param))
(parameters (typed_parameter (identifier) @param))
(parameters (typed_default_parameter name: (identifier) @param))
(parameters (list_splat_pattern (identifier) @param))
(parameters (dictionary_splat_pattern (identifier) @param))
